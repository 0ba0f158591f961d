package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/jobs"
)

// RelayConfig tunes the relay.
type RelayConfig struct {
	// Batch is how many rows one round claims.
	Batch int
	// Poll is how long the relay sleeps when the outbox has nothing ready.
	// While rows keep coming it does not sleep at all.
	Poll time.Duration
	// Parallel enqueues at once within a round.
	Parallel int
	// Keep marks dispatched rows instead of deleting them, for inspection
	// (OUTBOX_RETENTION > 0); the hourly prune deletes them later.
	Keep bool
}

// Counter is the relay's view of its metrics.
type Counter interface {
	Dispatched(kind string, n int)
	Failed()
}

// Relay moves outbox rows into asynq. Several relays may run at once: rows
// are claimed with FOR UPDATE SKIP LOCKED.
type Relay struct {
	cfg    RelayConfig
	db     *sqlx.DB
	client jobs.Client
	subs   *Subscriptions
	log    *zap.Logger
	count  Counter
}

// NewRelay returns a relay; Run runs it.
func NewRelay(cfg RelayConfig, pool *sqlx.DB, client jobs.Client, subs *Subscriptions, log *zap.Logger, count Counter) *Relay {
	if cfg.Batch <= 0 {
		cfg.Batch = 200
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 100 * time.Millisecond
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 16
	}
	return &Relay{cfg: cfg, db: pool, client: client, subs: subs, log: log.Named("relay"), count: count}
}

// Run relays until ctx ends, letting a round in progress finish. A failed
// round (Redis or PostgreSQL down) is counted and retried after the poll
// interval; it never ends the loop.
func (r *Relay) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		r.drain(ctx)
		timer.Reset(r.cfg.Poll)
	}
}

// drain runs rounds until the outbox has nothing ready or a round fails.
// Rounds run on their own context so that a stop does not cut one in half.
func (r *Relay) drain(stop context.Context) {
	for stop.Err() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		n, err := r.RunOnce(ctx)
		cancel()
		if err != nil {
			r.count.Failed()
			r.log.Warn("outbox relay round failed; will retry", zap.Error(err))
			return
		}
		if n < r.cfg.Batch {
			return
		}
	}
}

type row struct {
	ID        uuid.UUID       `db:"id"`
	Kind      string          `db:"kind"`
	Type      string          `db:"type"`
	Module    string          `db:"module"`
	Payload   []byte          `db:"payload"`
	Audience  pq.StringArray  `db:"audience"`
	Options   json.RawMessage `db:"options"`
	CreatedAt time.Time       `db:"created_at"`
}

// RunOnce claims one batch of ready rows, enqueues them and marks the ones
// that made it; it returns how many rows it claimed. A row that fails (Redis
// down) stays pending and is retried after a backoff.
func (r *Relay) RunOnce(ctx context.Context) (int, error) {
	tx, err := r.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("relay: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	var rows []row
	err = tx.SelectContext(ctx, &rows, `
		SELECT id, kind, type, module, payload, audience::text[] AS audience, options, created_at
		FROM outbox
		WHERE dispatched_at IS NULL AND available_at <= now()
		ORDER BY available_at, id
		LIMIT $1
		FOR UPDATE SKIP LOCKED`, r.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("relay: claim rows: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	errs := r.enqueueAll(ctx, rows)
	var done []uuid.UUID
	var firstErr error
	kinds := map[string]int{}
	for i, rw := range rows {
		if errs[i] == nil {
			done = append(done, rw.ID)
			kinds[rw.Kind]++
			continue
		}
		if firstErr == nil {
			firstErr = errs[i]
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE outbox SET attempts = attempts + 1, last_error = $2,
				available_at = now() + least(interval '1 second' * power(2, least(attempts, 4)), interval '10 seconds')
			WHERE id = $1`, rw.ID, errs[i].Error()); err != nil {
			return 0, fmt.Errorf("relay: record failure: %w", err)
		}
	}
	if len(done) > 0 {
		mark := `UPDATE outbox SET dispatched_at = now() WHERE id = ANY($1::uuid[])`
		if !r.cfg.Keep {
			mark = `DELETE FROM outbox WHERE id = ANY($1::uuid[])`
		}
		if _, err := tx.ExecContext(ctx, mark, pq.Array(uuidStrings(done))); err != nil {
			return 0, fmt.Errorf("relay: mark dispatched: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("relay: commit: %w", err)
	}
	for k, n := range kinds {
		r.count.Dispatched(k, n)
	}
	if firstErr != nil {
		return len(rows), fmt.Errorf("relay: %d of %d rows not enqueued: %w", len(rows)-len(done), len(rows), firstErr)
	}
	return len(rows), nil
}

// enqueueAll enqueues rows with bounded parallelism; errs[i] is row i's fate.
// The first failure cancels the rest: it almost always means Redis is down,
// and waiting for each remaining row to time out would only hold the claim.
func (r *Relay) enqueueAll(ctx context.Context, rows []row) []error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	errs := make([]error, len(rows))
	sem := make(chan struct{}, r.cfg.Parallel)
	var wg sync.WaitGroup
	for i := range rows {
		sem <- struct{}{}
		if ctx.Err() != nil {
			<-sem
			errs[i] = context.Cause(ctx)
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			if errs[i] = r.enqueue(ctx, rows[i]); errs[i] != nil {
				cancel(errs[i])
			}
		}(i)
	}
	wg.Wait()
	return errs
}

func (r *Relay) enqueue(ctx context.Context, rw row) error {
	if rw.Kind == "job" {
		return r.enqueueJob(ctx, rw)
	}
	ev := Event{ID: rw.ID, Type: rw.Type, Module: rw.Module, Payload: rw.Payload, CreatedAt: rw.CreatedAt.UTC()}
	ev.Audience = make([]uuid.UUID, 0, len(rw.Audience))
	for _, a := range rw.Audience {
		if id, err := uuid.Parse(a); err == nil {
			ev.Audience = append(ev.Audience, id)
		}
	}
	body, err := jobs.Encode(1, ev)
	if err != nil {
		return err
	}
	for _, sub := range r.subs.Subscribers(rw.Type) {
		opts := []asynq.Option{asynq.Queue(sub), asynq.TaskID(rw.ID.String() + ":" + sub)}
		_, err := r.client.EnqueueContext(ctx, asynq.NewTask(jobs.EventTaskType(sub, rw.Type), body), opts...)
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return fmt.Errorf("enqueue %s for %s: %w", rw.Type, sub, err)
		}
	}
	return nil
}

func (r *Relay) enqueueJob(ctx context.Context, rw row) error {
	var o jobs.Options
	if len(rw.Options) > 0 {
		if err := json.Unmarshal(rw.Options, &o); err != nil {
			return fmt.Errorf("job %s: options: %w", rw.ID, err)
		}
	}
	_, err := r.client.EnqueueContext(ctx, asynq.NewTask(rw.Type, rw.Payload), o.AsynqFor(rw.Type, rw.ID.String())...)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue job %s: %w", rw.Type, err)
	}
	return nil
}

func uuidStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}
