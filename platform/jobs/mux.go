package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"
)

// Observer records handled tasks (metrics).
type Observer interface {
	ObserveJob(module, taskType string, err error, elapsed time.Duration)
}

// Mux dispatches tasks by their exact type. asynq's own ServeMux matches the
// longest registered prefix, so "tracks:process" would also take
// "tracks:process_batch" (hibiken/asynq#266); exact matching cannot.
type Mux struct {
	handlers map[string]Handler
	delays   map[string]RetryDelay
	// Fallback handles types with no exact handler (event deliveries to a
	// wildcard subscriber); nil means none.
	Fallback func(taskType string) (Handler, bool)
	log      *zap.Logger
	obs      Observer
}

// NewMux returns an empty dispatcher.
func NewMux(log *zap.Logger, obs Observer) *Mux {
	return &Mux{handlers: map[string]Handler{}, delays: map[string]RetryDelay{}, log: log, obs: obs}
}

// Handle registers h for taskType; a second registration is an error.
func (m *Mux) Handle(taskType string, h Handler) error {
	if _, dup := m.handlers[taskType]; dup {
		return fmt.Errorf("job type %q has two handlers", taskType)
	}
	m.handlers[taskType] = h
	return nil
}

// RetryDelay decides the wait before retry n (1-based) of a task that
// failed with err.
type RetryDelay func(n int, err error) time.Duration

// SetRetryDelay gives taskType a retry schedule of its own.
func (m *Mux) SetRetryDelay(taskType string, d RetryDelay) { m.delays[taskType] = d }

// RetryDelayFunc is the server-wide asynq retry delay: the task type's own
// schedule when it has one, asynq's exponential backoff otherwise.
func (m *Mux) RetryDelayFunc(n int, err error, t *asynq.Task) time.Duration {
	if d, ok := m.delays[t.Type()]; ok {
		return d(n, err)
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

// ProcessTask implements asynq.Handler.
func (m *Mux) ProcessTask(ctx context.Context, t *asynq.Task) error {
	h, ok := m.handlers[t.Type()]
	if !ok && m.Fallback != nil {
		h, ok = m.Fallback(t.Type())
	}
	if !ok {
		// Only the enabled modules' queues are consumed, so this is a task of
		// a job that no longer exists: retrying cannot help.
		return fmt.Errorf("no handler for task type %q in this release: %w", t.Type(), asynq.SkipRetry)
	}
	start := time.Now()
	err := safeRun(ctx, h, t)
	if m.obs != nil {
		m.obs.ObserveJob(ModuleOf(t.Type()), t.Type(), err, time.Since(start))
	}
	if err != nil {
		id, _ := asynq.GetTaskID(ctx)
		retry, _ := asynq.GetRetryCount(ctx)
		m.log.Warn("job failed", zap.String("module", ModuleOf(t.Type())), zap.String("type", t.Type()),
			zap.String("task_id", id), zap.Int("retry", retry), zap.Error(err))
	}
	return err
}

// safeRun keeps a panicking handler from taking the worker down; the task is
// retried like any failure.
func safeRun(ctx context.Context, h Handler, t *asynq.Task) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in %s handler: %v", t.Type(), p)
		}
	}()
	return h(ctx, t)
}
