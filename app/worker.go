package app

import (
	"context"

	"github.com/hibiken/asynq"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/jobs"
	"github.com/veza/veza/platform/metrics"
)

// OutboxPruneJob deletes dispatched outbox rows older than OUTBOX_RETENTION.
const OutboxPruneJob = PlatformModule + ":outbox_prune"

type workerDeps struct {
	fx.In
	LC      fx.Lifecycle
	Client  *asynq.Client
	Metrics *metrics.Metrics
}

// relayCounter feeds the relay's counts to the metrics.
type relayCounter struct{ m *metrics.Metrics }

func (c relayCounter) Dispatched(kind string, n int) {
	c.m.OutboxDispatched.WithLabelValues(kind).Add(float64(n))
}
func (c relayCounter) Failed() { c.m.OutboxErrors.Inc() }

// wireWorker sets up the job server over exactly the enabled modules' queues
// (plus the platform's), the scheduler and the outbox relay.
func (r *Runtime) wireWorker(d workerDeps) error {
	contrib := r.reg.contributions()
	log := r.log.Named("worker")
	mux := jobs.NewMux(log, d.Metrics)
	if err := mux.Handle(OutboxPruneJob, func(ctx context.Context, _ *asynq.Task) error {
		n, err := events.Prune(ctx, r.pool, r.cfg.OutboxRetention)
		if err == nil && n > 0 {
			log.Info("pruned outbox", zap.Int64("rows", n))
		}
		return err
	}); err != nil {
		return err
	}
	for _, j := range contrib.Jobs {
		if err := mux.Handle(j.Type, j.Handler); err != nil {
			return err
		}
		if j.RetryDelay != nil {
			mux.SetRetryDelay(j.Type, j.RetryDelay)
		}
	}
	subs, err := Subscriptions(r.plan, contrib)
	if err != nil {
		return err
	}
	mux.Fallback = subs.JobHandler

	queues := map[string]int{PlatformModule: 1}
	for name, w := range r.plan.QueueWeights {
		queues[name] = w
	}
	srv := jobs.NewServer(r.rdb, jobs.ServerConfig{
		Queues:          queues,
		Concurrency:     r.cfg.WorkerConcurrency,
		PollInterval:    r.cfg.WorkerPollInterval,
		RetryDelay:      mux.RetryDelayFunc,
		ShutdownTimeout: shareOf(r.cfg.ShutdownTimeout),
	}, log)
	schedules := []jobs.Schedule{{Spec: "@hourly", TaskType: OutboxPruneJob}}
	for _, s := range contrib.Schedules {
		schedules = append(schedules, s.Schedule)
	}
	sched, err := jobs.NewScheduler(d.Client, log.Named("scheduler"), schedules, func(t string) {
		d.Metrics.ScheduledTasks.WithLabelValues(t).Inc()
	})
	if err != nil {
		return err
	}
	relay := events.NewRelay(events.RelayConfig{Poll: r.cfg.RelayPollInterval, Keep: r.cfg.OutboxRetention > 0},
		r.pool, d.Client, subs, log, relayCounter{d.Metrics})

	d.LC.Append(fx.Hook{
		OnStart: func(context.Context) error {
			if err := srv.Start(mux); err != nil {
				return err
			}
			sched.Start()
			relay.Start()
			return nil
		},
		OnStop: func(context.Context) error {
			relay.Stop()
			sched.Stop()
			srv.Shutdown()
			return nil
		},
	})
	return nil
}

// Subscriptions builds the event routing table of a plan's contributions.
func Subscriptions(p *Plan, c Contributions) (*events.Subscriptions, error) {
	subs := events.NewSubscriptions(publicEventTypes(p))
	for _, s := range c.Subscriptions {
		if err := subs.Add(s.Module, s.EventType, s.Handler); err != nil {
			return nil, err
		}
	}
	return subs, nil
}
