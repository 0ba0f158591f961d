package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/platform/outbox"
)

// ErrDuplicate is returned by Enqueue when a task with the same TaskID is
// already queued or running: the work is already asked for.
var ErrDuplicate = asynq.ErrTaskIDConflict

// Enqueuer is one module's handle for queueing its own jobs; the platform
// gives each module its own. It refuses a task type outside the module's
// "<module>:" prefix and puts every task on the module's queue, so a module
// cannot fill another's queue or run another's jobs, and queue names are
// written nowhere but here.
type Enqueuer struct {
	module string
	client Client
}

// NewEnqueuer returns the enqueuer of module. client may be nil for an
// enqueuer that only writes through the outbox (EnqueueTx).
func NewEnqueuer(module string, client Client) *Enqueuer {
	return &Enqueuer{module: module, client: client}
}

// Module is the module whose jobs this enqueuer queues.
func (e *Enqueuer) Module() string { return e.module }

// Enqueue queues a job now, straight to Redis: for work that may be lost
// with Redis (a play count, a redelivery a user asked for). Work promised by
// a database write belongs in EnqueueTx. A TaskID already queued or running
// returns ErrDuplicate.
func (e *Enqueuer) Enqueue(ctx context.Context, taskType string, version int, data any, opts ...Option) error {
	if err := CheckType(e.module, taskType); err != nil {
		return err
	}
	if e.client == nil {
		return fmt.Errorf("enqueue %s: this process has no queue client", taskType)
	}
	body, err := Encode(version, data)
	if err != nil {
		return err
	}
	_, err = e.client.EnqueueContext(ctx, asynq.NewTask(taskType, body), collect(opts).AsynqFor(taskType, "")...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return ErrDuplicate
	}
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", taskType, err)
	}
	return nil
}

// EnqueueTx records a job in tx; the relay queues it once tx commits (with
// the outbox row's id as its TaskID unless one is given). A write that needs
// background work stays correct when Redis is down, and a rolled-back write
// queues nothing.
func (e *Enqueuer) EnqueueTx(ctx context.Context, tx sqlx.ExtContext, taskType string, version int, data any, opts ...Option) error {
	if err := CheckType(e.module, taskType); err != nil {
		return err
	}
	body, err := Encode(version, data)
	if err != nil {
		return err
	}
	o, err := json.Marshal(collect(opts))
	if err != nil {
		return fmt.Errorf("enqueue %s: encode options: %w", taskType, err)
	}
	_, err = outbox.Insert(ctx, tx, outbox.Row{Kind: outbox.KindJob, Type: taskType, Module: e.module, Payload: body, Options: o})
	return err
}

// Options are what a job keeps from its Option values; they travel with a
// job written to the outbox, hence the JSON.
type Options struct {
	// TaskID deduplicates the job: a second task with the same id is
	// refused while the first is queued or running.
	TaskID   string        `json:"task_id,omitempty"`
	MaxRetry *int          `json:"max_retry,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty"`
	// ProcessAt delays the job until then.
	ProcessAt time.Time `json:"process_at,omitzero"`
}

// Option adjusts a job being queued.
type Option func(*Options)

// TaskID gives the job an id that refuses duplicates.
func TaskID(id string) Option { return func(o *Options) { o.TaskID = id } }

// MaxRetry bounds the job's retries (asynq's default is 25).
func MaxRetry(n int) Option { return func(o *Options) { o.MaxRetry = &n } }

// Timeout bounds one run of the job.
func Timeout(d time.Duration) Option { return func(o *Options) { o.Timeout = d } }

// ProcessAt delays the job until t.
func ProcessAt(t time.Time) Option { return func(o *Options) { o.ProcessAt = t } }

// ProcessIn delays the job by d.
func ProcessIn(d time.Duration) Option { return ProcessAt(time.Now().Add(d)) }

func collect(opts []Option) Options {
	var o Options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// AsynqFor turns o into asynq's options for a task of taskType: the queue
// of the type's module, and o.TaskID, or defaultID when o has none (the
// outbox row's id for a job written with EnqueueTx).
func (o Options) AsynqFor(taskType, defaultID string) []asynq.Option {
	out := []asynq.Option{asynq.Queue(ModuleOf(taskType))}
	taskID := o.TaskID
	if taskID == "" {
		taskID = defaultID
	}
	if taskID != "" {
		out = append(out, asynq.TaskID(taskID))
	}
	if o.MaxRetry != nil {
		out = append(out, asynq.MaxRetry(*o.MaxRetry))
	}
	if o.Timeout > 0 {
		out = append(out, asynq.Timeout(o.Timeout))
	}
	if !o.ProcessAt.IsZero() {
		out = append(out, asynq.ProcessAt(o.ProcessAt))
	}
	return out
}
