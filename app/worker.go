package app

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/jobs"
	"github.com/veza/veza/platform/metrics"
	"github.com/veza/veza/platform/outbox"
	"github.com/veza/veza/platform/storage"
)

// OutboxPruneJob deletes dispatched outbox rows older than OUTBOX_RETENTION.
const OutboxPruneJob = PlatformModule + ":outbox_prune"

// relayCounter feeds the relay's counts to the metrics.
type relayCounter struct{ m *metrics.Metrics }

func (c relayCounter) Dispatched(kind string, n int) {
	c.m.OutboxDispatched.WithLabelValues(kind).Add(float64(n))
}
func (c relayCounter) Failed() { c.m.OutboxErrors.Inc() }

// platformLoops are the platform's own background loops: the outbox relay,
// in worker processes, and the sweep of abandoned staging files, in every
// process whose file store stages writes on this machine.
func (r *Runtime) platformLoops(m *metrics.Metrics, subs *events.Subscriptions) []Background {
	relay := events.NewRelay(events.RelayConfig{Poll: r.cfg.RelayPollInterval, Keep: r.cfg.OutboxRetention > 0},
		r.pool, r.client, subs, r.log, relayCounter{m})
	loops := []Background{{Module: PlatformModule, Name: "relay", Run: relay.Run, Roles: RoleWorker}}
	if sw, ok := r.files.(storage.Sweeper); ok {
		sweep := sweepLoop(sw, r.cfg.StorageTmpSweepInterval, r.cfg.StorageTmpMaxAge, r.log.Named("storage"))
		loops = append(loops, Background{Module: PlatformModule, Name: "storage-sweep", Run: sweep})
	}
	return loops
}

// sweepLoop removes abandoned staging files now and every interval. It is a
// loop of each process rather than a scheduled job: the files are on this
// machine's disk, where a job would run on whichever worker took it. A sweep
// that fails is logged and tried again at the next tick: it only leaves
// garbage behind, which is no reason to report the process unready.
func sweepLoop(sw storage.Sweeper, interval, olderThan time.Duration, log *zap.Logger) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			n, err := sw.Sweep(ctx, olderThan)
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil:
				log.Warn("abandoned staging files left in place", zap.Error(err))
			case n > 0:
				log.Info("removed abandoned staging files", zap.Int("files", n))
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	}
}

// wireWorker sets up the job server over exactly the enabled modules' queues
// (plus the platform's) and the scheduler.
func (r *Runtime) wireWorker(d wireDeps, subs *events.Subscriptions) error {
	contrib := r.reg.contributions()
	log := r.log.Named("worker")
	mux := jobs.NewMux(log, d.Metrics)
	if err := mux.Handle(OutboxPruneJob, func(ctx context.Context, _ *asynq.Task) error {
		n, err := outbox.Prune(ctx, r.pool, r.cfg.OutboxRetention)
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
	sched, err := jobs.NewScheduler(r.client, log.Named("scheduler"), schedules, func(t string) {
		d.Metrics.ScheduledTasks.WithLabelValues(t).Inc()
	})
	if err != nil {
		return err
	}
	d.LC.Append(fx.Hook{
		OnStart: func(context.Context) error {
			if err := srv.Start(mux); err != nil {
				return err
			}
			sched.Start()
			return nil
		},
		OnStop: func(context.Context) error {
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
