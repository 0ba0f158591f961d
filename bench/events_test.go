package bench

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"go.uber.org/fx"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/jobs"
	"github.com/veza/veza/platform/testkit"
)

const (
	evModule = "benchev"
	evType   = "bench.pinged"
	rawQueue = "bench"
	rawTask  = "bench:ping"
)

// sink counts handled tasks and records when the count reaches its target.
type sink struct {
	n      atomic.Int64
	target atomic.Int64
	done   atomic.Pointer[chan time.Time]
}

// arm resets the count for a run of target tasks.
func (s *sink) arm(target int) <-chan time.Time {
	ch := make(chan time.Time, 1)
	s.done.Store(&ch)
	s.n.Store(0)
	s.target.Store(int64(target))
	return ch
}

func (s *sink) hit() {
	if s.n.Add(1) == s.target.Load() {
		select {
		case *s.done.Load() <- time.Now():
		default:
		}
	}
}

// wait returns when the run is complete, failing after a generous timeout.
func (s *sink) wait(b *testing.B, done <-chan time.Time, n int) time.Time {
	b.Helper()
	select {
	case end := <-done:
		return end
	case <-time.After(time.Minute + time.Duration(n)*10*time.Millisecond):
		b.Fatalf("only %d of %d tasks handled", s.n.Load(), n)
		return time.Time{}
	}
}

// eventsModule declares an event and subscribes to it, counting deliveries.
func eventsModule(s *sink) app.Module {
	return app.Module{
		Name:        evModule,
		Description: "Benchmark fixture: publishes and counts one event type.",
		Events:      []app.EventType{{Type: evType, Description: "a benchmark event", Example: map[string]any{"seq": 1}}},
		Options: fx.Invoke(func(r *app.Registrar) {
			r.Subscribe(evType, func(context.Context, events.Event) error { s.hit(); return nil })
		}),
	}
}

// side is one way of getting n tasks handled: run returns once the last one
// was handled.
type side interface {
	run(b *testing.B, n int) timing
}

// timing is one run: from the first send to the last send returning, and to
// the last task handled.
type timing struct{ send, total time.Duration }

// fanOut calls send(i) for i in [0, n) from `workers` goroutines.
func fanOut(b *testing.B, n, workers int, send func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := send(i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}

// rawSide enqueues tasks with asynq's client and handles them with asynq's
// server on a private Redis: the baseline.
type rawSide struct {
	client     *asynq.Client
	sink       sink
	publishers int
}

func startRaw(b *testing.B, concurrency, publishers int) *rawSide {
	r := testkit.NewRedis(b)
	opt := asynq.RedisClientOpt{Addr: r.Addr()}
	s := &rawSide{client: asynq.NewClient(opt), publishers: publishers}
	srv := asynq.NewServer(opt, asynq.Config{
		Concurrency: concurrency,
		Queues:      map[string]int{rawQueue: 1},
		LogLevel:    asynq.FatalLevel,
	})
	mux := asynq.HandlerFunc(func(context.Context, *asynq.Task) error { s.sink.hit(); return nil })
	if err := srv.Start(mux); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Shutdown(); s.client.Close() })
	return s
}

func (s *rawSide) run(b *testing.B, n int) timing {
	done := s.sink.arm(n)
	ctx := context.Background()
	start := time.Now()
	fanOut(b, n, s.publishers, func(i int) error {
		// The same body as the relay builds for an event, made here as a
		// producer would.
		body, err := jobs.Encode(1, events.Event{ID: uuid.Must(uuid.NewV7()), Type: evType, Module: evModule,
			Payload: payloadJSON(i), Audience: []uuid.UUID{}, CreatedAt: time.Now().UTC()})
		if err != nil {
			return err
		}
		_, err = s.client.EnqueueContext(ctx, asynq.NewTask(rawTask, body), asynq.Queue(rawQueue))
		return err
	})
	sent := time.Since(start)
	return timing{send: sent, total: s.sink.wait(b, done, n).Sub(start)}
}

func payloadJSON(i int) []byte { return []byte(`{"seq":` + strconv.Itoa(i) + `}`) }

// vezaSide publishes events through the outbox, one transaction per event,
// into a Veza process running the API and worker roles (the relay and the
// job server run in the worker).
type vezaSide struct {
	db         *sqlx.DB
	dsn        string
	rounds     int // relay rounds so far (distinct dispatched_at), see relayRounds
	sink       *sink
	publishers int
}

func startVeza(b *testing.B, concurrency, publishers int) *vezaSide {
	s := &vezaSide{sink: &sink{}, publishers: publishers}
	srv := apptest.Start(b, apptest.Options{
		Modules: []app.Module{eventsModule(s.sink)},
		Env:     map[string]string{"WORKER_CONCURRENCY": strconv.Itoa(concurrency)},
	})
	s.db, s.dsn = srv.Runtime.DB(), srv.Config.DatabaseURL
	return s
}

func (s *vezaSide) run(b *testing.B, n int) timing {
	done := s.sink.arm(n)
	ctx := context.Background()
	start := time.Now()
	fanOut(b, n, s.publishers, func(i int) error {
		tx, err := s.db.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := (events.Outbox{}).Publish(ctx, tx, evModule, evType, map[string]int{"seq": i}); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
	sent := time.Since(start)
	return timing{send: sent, total: s.sink.wait(b, done, n).Sub(start)}
}

// relayRounds returns how many relay rounds (transactions) dispatched rows
// since the last call: each round marks its rows with its own now().
func (s *vezaSide) relayRounds(b *testing.B) int {
	var total int
	if err := s.db.Get(&total, `SELECT count(DISTINCT dispatched_at) FROM outbox`); err != nil {
		b.Fatal(err)
	}
	d := total - s.rounds
	s.rounds = total
	return d
}

// eventSettings are the knobs shared by both event benchmarks.
func eventSettings(b *testing.B) (events, publishers, concurrency int) {
	return envInt(b, envEvents, 3000), envInt(b, envPublishers, 4), envInt(b, envConcurrency, 10)
}

// benchSide runs b.N rounds of n tasks and reports tasks per second, from
// the first send to the last handled, and the rate of the sends alone.
func benchSide(b *testing.B, s side, n int, unit string) {
	s.run(b, min(n, 100)) // warm up: connections, queues, prepared paths
	b.ResetTimer()
	var sum timing
	for range b.N {
		t := s.run(b, n)
		sum.send += t.send
		sum.total += t.total
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*n)/sum.total.Seconds(), unit)
	b.ReportMetric(float64(b.N*n)/sum.send.Seconds(), "sent/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkEvents reports tasks/s from raw asynq enqueue to handler and
// events/s from outbox publish to subscriber, BENCH_EVENTS per op.
func BenchmarkEvents(b *testing.B) {
	n, publishers, concurrency := eventSettings(b)
	raw := startRaw(b, concurrency, publishers)
	veza := startVeza(b, concurrency, publishers)
	b.Run("raw", func(b *testing.B) { benchSide(b, raw, n, "tasks/s") })
	b.Run("veza", func(b *testing.B) { benchSide(b, veza, n, "events/s") })
}

// BenchmarkEventsRatio alternates raw and veza rounds of BENCH_EVENTS each,
// BENCH_EVENT_ROUNDS times, and reports both rates and ratio_events (veza/raw).
// -benchtime does not apply.
func BenchmarkEventsRatio(b *testing.B) {
	n, publishers, concurrency := eventSettings(b)
	rounds := envInt(b, envEventRounds, 3)
	raw := startRaw(b, concurrency, publishers)
	veza := startVeza(b, concurrency, publishers)
	raw.run(b, min(n, 100))
	veza.run(b, min(n, 100))
	veza.relayRounds(b)
	waits := newPGWaits(b, veza.dsn)
	var rawSum, vezaSum timing
	b.ResetTimer()
	for r := range rounds {
		runtime.GC()
		tr := raw.run(b, n)
		runtime.GC()
		var tv timing
		waits.during(func() { tv = veza.run(b, n) })
		rawSum.send += tr.send
		rawSum.total += tr.total
		vezaSum.send += tv.send
		vezaSum.total += tv.total
		relayed := veza.relayRounds(b)
		b.Logf("round %d: raw=%.0f tasks/s (enqueued at %.0f/s) veza=%.0f events/s (published at %.0f/s, %d relay rounds of %.1f rows)", r+1,
			float64(n)/tr.total.Seconds(), float64(n)/tr.send.Seconds(),
			float64(n)/tv.total.Seconds(), float64(n)/tv.send.Seconds(), relayed, float64(n)/float64(max(relayed, 1)))
	}
	b.StopTimer()
	waits.report(b, "the veza rounds")
	total := float64(rounds * n)
	rawRate, vezaRate := total/rawSum.total.Seconds(), total/vezaSum.total.Seconds()
	b.ReportMetric(rawRate, "raw_tasks/s")
	b.ReportMetric(vezaRate, "veza_events/s")
	b.ReportMetric(total/rawSum.send.Seconds(), "raw_enqueued/s")
	b.ReportMetric(total/vezaSum.send.Seconds(), "veza_published/s")
	b.ReportMetric(vezaRate/rawRate, "ratio_events")
	b.ReportMetric(0, "ns/op")
}
