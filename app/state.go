package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/veza/veza/platform/metrics"
	"github.com/veza/veza/platform/outbox"
)

// watchState registers the scrape-time gauges: the pool, the enabled
// modules' queues (and the platform's), the outbox backlog.
func (r *Runtime) watchState(m *metrics.Metrics) {
	insp := asynq.NewInspectorFromRedisClient(r.rdb)
	queues := append([]string{PlatformModule}, r.plan.Names()...)
	m.WatchState(metrics.StateSources{
		DB: r.pool.DB,
		Queues: func(ctx context.Context) (map[string]map[string]int, error) {
			return queueSizes(ctx, insp, queues)
		},
		Outbox: func(ctx context.Context) (int64, time.Duration, error) {
			return outbox.Backlog(ctx, r.pool)
		},
	})
}

// queueSizes reads each queue's counts. asynq's inspector takes no
// context, so the reads run aside and the scrape stops waiting at ctx's end.
func queueSizes(ctx context.Context, insp *asynq.Inspector, queues []string) (map[string]map[string]int, error) {
	type result struct {
		sizes map[string]map[string]int
		err   error
	}
	done := make(chan result, 1)
	go func() {
		known, err := insp.Queues()
		if err != nil {
			done <- result{err: fmt.Errorf("list queues: %w", err)}
			return
		}
		out := map[string]map[string]int{}
		var firstErr error
		for _, q := range queues {
			info := &asynq.QueueInfo{} // a queue never used yet is empty
			if slices.Contains(known, q) {
				if info, err = insp.GetQueueInfo(q); err != nil {
					firstErr = cmp.Or(firstErr, fmt.Errorf("queue %s: %w", q, err))
					continue
				}
			}
			out[q] = map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
				"retry": info.Retry, "archived": info.Archived}
		}
		done <- result{out, firstErr}
	}()
	select {
	case r := <-done:
		return r.sizes, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
