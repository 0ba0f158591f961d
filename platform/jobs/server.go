package jobs

import (
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// ServerConfig sizes the worker.
type ServerConfig struct {
	// Queues maps each consumed queue (one per enabled module) to its weight.
	Queues map[string]int
	// Concurrency is the number of tasks handled at once.
	Concurrency int
	// PollInterval is how often an idle worker looks for tasks again. asynq's
	// default, one second, adds up to a second of latency to every task
	// that arrives while the queues are empty.
	PollInterval time.Duration
	// RetryDelay decides retry waits (Mux.RetryDelayFunc); nil: asynq's.
	RetryDelay func(n int, err error, t *asynq.Task) time.Duration
	// ShutdownTimeout is how long running tasks get to finish on stop before
	// they are pushed back to Redis for another worker.
	ShutdownTimeout time.Duration
}

// NewServer returns an asynq server over the shared Redis client that consumes
// only cfg.Queues: a worker must never dequeue a disabled module's tasks
// (it would fail them, hibiken/asynq#628).
func NewServer(rdb redis.UniversalClient, cfg ServerConfig, log *zap.Logger) *asynq.Server {
	return asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Queues:            cfg.Queues,
		Concurrency:       cfg.Concurrency,
		TaskCheckInterval: cfg.PollInterval,
		// Scheduled tasks and retries move to their queue when this check
		// runs; asynq's 5 s would make a "retry in 1s" a retry in up to 6 s.
		DelayedTaskCheckInterval: time.Second,
		RetryDelayFunc:           cfg.RetryDelay,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		Logger:                   zapLogger{log.Named("asynq").Sugar()},
		LogLevel:                 asynq.WarnLevel,
		// A Redis outage is reported by /readyz; the health check only logs.
		HealthCheckFunc: func(err error) {
			if err != nil {
				log.Warn("job queue unreachable", zap.Error(err))
			}
		},
	})
}

// zapLogger adapts zap to asynq's logger. asynq's Fatal would exit the
// process; the platform logs it as an error and lets fx stop cleanly instead.
type zapLogger struct{ s *zap.SugaredLogger }

func (l zapLogger) Debug(args ...any) { l.s.Debug(args...) }
func (l zapLogger) Info(args ...any)  { l.s.Info(args...) }
func (l zapLogger) Warn(args ...any)  { l.s.Warn(args...) }
func (l zapLogger) Error(args ...any) { l.s.Error(args...) }
func (l zapLogger) Fatal(args ...any) { l.s.Error(args...) }
