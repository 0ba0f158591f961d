package admin

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/veza/veza/app"
)

// asynqQueuesKey is the Redis set asynq lists queues from (its
// base.AllQueues): a queue appears there when its first task is enqueued.
// The dashboard adds the enabled modules' queues to it, so that an admin
// sees every module's queue, empty ones included. The job dashboard's test
// fails if a new asynq renames it.
const asynqQueuesKey = "asynq:queues"

// QueueView is the state of one module's queue.
type QueueView struct {
	Name           string `json:"name"`
	Pending        int    `json:"pending"`
	Active         int    `json:"active"`
	Scheduled      int    `json:"scheduled"`
	Retry          int    `json:"retry" doc:"failed at least once, waiting for their next attempt"`
	Archived       int    `json:"archived" doc:"failed for good: out of retries, or refused as final"`
	Completed      int    `json:"completed"`
	ProcessedToday int    `json:"processed_today" doc:"tasks processed today (UTC), failures included"`
	FailedToday    int    `json:"failed_today"`
	FailedTotal    int    `json:"failed_total"`
	Paused         bool   `json:"paused"`
	LatencyMS      int64  `json:"latency_ms" doc:"how long the oldest pending task has waited"`
}

// FailedJob is a task that failed: waiting for a retry, or archived.
type FailedJob struct {
	ID            string     `json:"id"`
	Type          string     `json:"type"`
	State         string     `json:"state" doc:"retry or archived"`
	Error         string     `json:"error"`
	FailedAt      *time.Time `json:"failed_at"`
	Retried       int        `json:"retried"`
	MaxRetry      int        `json:"max_retry"`
	NextAttemptAt *time.Time `json:"next_attempt_at" doc:"for a task waiting for a retry"`
}

// queueState is what the inspector tells of one queue.
type queueState struct {
	view   QueueView
	failed []FailedJob
}

// queues reads the enabled modules' queues through asynq's inspector, on
// the process's Redis client.
type queues struct {
	insp     *asynq.Inspector
	rdb      redis.UniversalClient
	plan     *app.Plan
	settings *Settings
}

func newQueues(rdb redis.UniversalClient, plan *app.Plan, s *Settings) *queues {
	return &queues{insp: asynq.NewInspectorFromRedisClient(rdb), rdb: rdb, plan: plan, settings: s}
}

// names lists the queues of this deployment: the platform's and each
// enabled module's.
func (q *queues) names() []string {
	return append([]string{app.PlatformModule}, q.plan.Names()...)
}

// list makes every queue of this deployment known to asynq's listing
// (and so to the dashboard), whether or not a task was ever enqueued.
func (q *queues) list(ctx context.Context) error {
	names := q.names()
	members := make([]any, len(names))
	for i, n := range names {
		members[i] = n
	}
	if err := q.rdb.SAdd(ctx, asynqQueuesKey, members...).Err(); err != nil {
		return fmt.Errorf("list the queues for the dashboard: %w", err)
	}
	return nil
}

// states reads the queues named, each with its newest failed jobs. The
// inspector takes no context, so it runs aside and the caller stops
// waiting when ctx ends.
func (q *queues) states(ctx context.Context, names []string) (map[string]queueState, error) {
	type result struct {
		out map[string]queueState
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := q.read(names)
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		return r.out, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("read the queues: %w", ctx.Err())
	}
}

func (q *queues) read(names []string) (map[string]queueState, error) {
	known, err := q.insp.Queues()
	if err != nil {
		return nil, fmt.Errorf("list the queues: %w", err)
	}
	out := make(map[string]queueState, len(names))
	for _, name := range names {
		st := queueState{view: QueueView{Name: name}, failed: []FailedJob{}}
		if slices.Contains(known, name) { // a queue never used is empty
			if st, err = q.readOne(name); err != nil {
				return nil, err
			}
		}
		out[name] = st
	}
	return out, nil
}

func (q *queues) readOne(name string) (queueState, error) {
	info, err := q.insp.GetQueueInfo(name)
	if err != nil {
		return queueState{}, fmt.Errorf("queue %s: %w", name, err)
	}
	st := queueState{view: QueueView{Name: name, Pending: info.Pending, Active: info.Active, Scheduled: info.Scheduled,
		Retry: info.Retry, Archived: info.Archived, Completed: info.Completed, ProcessedToday: info.Processed,
		FailedToday: info.Failed, FailedTotal: info.FailedTotal, Paused: info.Paused, LatencyMS: info.Latency.Milliseconds()}}
	n := q.settings.FailedJobs
	archived, err := newest(func(o ...asynq.ListOption) ([]*asynq.TaskInfo, error) { return q.insp.ListArchivedTasks(name, o...) }, info.Archived, n)
	if err != nil {
		return queueState{}, fmt.Errorf("archived tasks of %s: %w", name, err)
	}
	retry, err := newest(func(o ...asynq.ListOption) ([]*asynq.TaskInfo, error) { return q.insp.ListRetryTasks(name, o...) }, info.Retry, n)
	if err != nil {
		return queueState{}, fmt.Errorf("retry tasks of %s: %w", name, err)
	}
	st.failed = failedJobs(append(archived, retry...), n)
	return st, nil
}

// newest returns the last n tasks of a sorted set of total tasks (asynq
// lists them oldest first): at most the last two pages of n.
func newest(list func(...asynq.ListOption) ([]*asynq.TaskInfo, error), total, n int) ([]*asynq.TaskInfo, error) {
	if total == 0 || n == 0 {
		return nil, nil
	}
	last := (total + n - 1) / n
	var out []*asynq.TaskInfo
	for p := max(1, last-1); p <= last; p++ {
		page, err := list(asynq.PageSize(n), asynq.Page(p))
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
	}
	return out, nil
}

// failedJobs views the n tasks that failed last.
func failedJobs(tasks []*asynq.TaskInfo, n int) []FailedJob {
	slices.SortFunc(tasks, func(a, b *asynq.TaskInfo) int {
		return cmp.Compare(b.LastFailedAt.UnixNano(), a.LastFailedAt.UnixNano())
	})
	out := []FailedJob{}
	for _, t := range tasks[:min(n, len(tasks))] {
		j := FailedJob{ID: t.ID, Type: t.Type, State: t.State.String(), Error: t.LastErr, Retried: t.Retried, MaxRetry: t.MaxRetry,
			FailedAt: timeOrNil(t.LastFailedAt)}
		if t.State == asynq.TaskStateRetry {
			j.NextAttemptAt = timeOrNil(t.NextProcessAt)
		}
		out = append(out, j)
	}
	return out
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
