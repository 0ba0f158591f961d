package jobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"
)

// Schedule enqueues TaskType on a cron spec ("*/5 * * * *", "@hourly",
// "@every 30s").
type Schedule struct {
	Spec     string
	TaskType string
	Payload  []byte
}

// ParseSpec checks a schedule's spec. An "@every" schedule fires on a grid
// of its period counted from a fixed origin, not from the moment a process
// started: workers started at different times then agree on its slots, and
// a slot is enqueued once (cron's own "@every" counts from each start, so
// every worker would fire at its own times and each run would be queued).
func ParseSpec(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	if every, ok := s.(cron.ConstantDelaySchedule); ok {
		return gridSchedule(every.Delay), nil
	}
	return s, nil
}

// gridSchedule fires at every multiple of its period since the zero time.
type gridSchedule time.Duration

// Next returns the first multiple of the period after t.
func (g gridSchedule) Next(t time.Time) time.Time {
	return t.Truncate(time.Duration(g)).Add(time.Duration(g))
}

// Client is the part of asynq's client that enqueues: the scheduler, the
// relay and module enqueuers need only this.
type Client interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Scheduler enqueues periodic tasks. Several processes may run one: each
// firing gets the task id "<type>@<unix time of the slot>", so the second
// process to enqueue a slot is refused as a duplicate. Completed tasks are
// retained long enough for that refusal to hold.
type Scheduler struct {
	client  Client
	log     *zap.Logger
	entries []entry
	onFire  func(taskType string)

	stop chan struct{}
	done sync.WaitGroup
	once sync.Once
}

type entry struct {
	Schedule
	sched cron.Schedule
}

// NewScheduler validates the schedules and returns a stopped scheduler.
// onFire, if not nil, is told of each task it enqueues (metrics).
func NewScheduler(client Client, log *zap.Logger, schedules []Schedule, onFire func(string)) (*Scheduler, error) {
	s := &Scheduler{client: client, log: log, onFire: onFire, stop: make(chan struct{})}
	for _, sc := range schedules {
		parsed, err := ParseSpec(sc.Spec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.TaskType, err)
		}
		s.entries = append(s.entries, entry{Schedule: sc, sched: parsed})
	}
	return s, nil
}

// Start runs one goroutine per schedule.
func (s *Scheduler) Start() {
	for _, e := range s.entries {
		s.done.Add(1)
		go s.run(e)
	}
}

// Stop ends the goroutines and waits for them.
func (s *Scheduler) Stop() {
	s.once.Do(func() { close(s.stop) })
	s.done.Wait()
}

func (s *Scheduler) run(e entry) {
	defer s.done.Done()
	next := e.sched.Next(time.Now())
	for {
		timer := time.NewTimer(time.Until(next))
		select {
		case <-s.stop:
			timer.Stop()
			return
		case <-timer.C:
		}
		after := e.sched.Next(next)
		s.fire(e, next, after.Sub(next))
		next = after
		if now := time.Now(); next.Before(now) {
			next = e.sched.Next(now) // we fell behind (suspended host); skip missed slots
		}
	}
}

// Fire enqueues the slot of e that starts at slot; period sizes the retention.
func (s *Scheduler) fire(e entry, slot time.Time, period time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	retention := max(period, time.Minute)
	id := e.TaskType + "@" + strconv.FormatInt(slot.Unix(), 10)
	_, err := s.client.EnqueueContext(ctx, asynq.NewTask(e.TaskType, e.Payload),
		asynq.Queue(ModuleOf(e.TaskType)), asynq.TaskID(id), asynq.Retention(retention))
	switch {
	case err == nil:
		if s.onFire != nil {
			s.onFire(e.TaskType)
		}
	case errors.Is(err, asynq.ErrTaskIDConflict), errors.Is(err, asynq.ErrDuplicateTask):
		// Another scheduler enqueued this slot already.
	default:
		s.log.Warn("periodic task not enqueued", zap.String("type", e.TaskType), zap.Time("slot", slot), zap.Error(err))
	}
}
