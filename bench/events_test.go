package bench

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

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
		Register: func(r *app.Registrar) {
			r.Subscribe(evType, func(context.Context, events.Event) error { s.hit(); return nil })
		},
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
	// db, when set, makes each send write a row and commit before it
	// enqueues: what a module would do without the outbox.
	db *sqlx.DB
}

func startRaw(b *testing.B, concurrency, publishers int) *rawSide {
	r := testkit.NewRedis(b)
	opt := asynq.RedisClientOpt{Addr: r.Addr()}
	s := &rawSide{client: asynq.NewClient(opt), publishers: publishers}
	srv := asynq.NewServer(opt, asynq.Config{
		Concurrency: concurrency,
		Queues:      map[string]int{rawQueue: 1},
		LogLevel:    asynq.FatalLevel,
		// The same idle poll as Veza's worker (WORKER_POLL_INTERVAL):
		// asynq's default second would throttle a side whose queue runs dry.
		TaskCheckInterval: 100 * time.Millisecond,
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
		if s.db != nil {
			if err := writeRow(ctx, s.db, i, nil); err != nil {
				return err
			}
		}
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

// writeRow is a module's own write: one row in a transaction, plus whatever
// also belongs in it.
func writeRow(ctx context.Context, db *sqlx.DB, i int, also func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO bench_writes (seq) VALUES ($1)`, i); err != nil {
		_ = tx.Rollback()
		return err
	}
	if also != nil {
		if err := also(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

const writesTable = `CREATE TABLE IF NOT EXISTS bench_writes (id bigserial PRIMARY KEY, seq integer NOT NULL, at timestamptz NOT NULL DEFAULT now())`

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
	// write adds a row of the module's own to each publishing transaction.
	write bool
}

func startVeza(b *testing.B, concurrency, publishers int) *vezaSide {
	s := &vezaSide{sink: &sink{}, publishers: publishers}
	srv := apptest.Start(b, apptest.Options{
		Modules: []app.Module{eventsModule(s.sink)},
		Env:     vezaEnv(concurrency),
	})
	s.db, s.dsn = srv.Runtime.DB(), srv.Config.DatabaseURL
	if _, err := s.db.Exec(writesTable); err != nil {
		b.Fatal(err)
	}
	return s
}

func vezaEnv(concurrency int) map[string]string {
	env := map[string]string{"WORKER_CONCURRENCY": strconv.Itoa(concurrency)}
	if v := os.Getenv("BENCH_OUTBOX_RETENTION"); v != "" {
		env["OUTBOX_RETENTION"] = v // 0: the relay deletes rows instead of marking them
	}
	return env
}

// commitSide only commits one small row per event: the ceiling of any
// outbox that writes each event in a transaction of its own.
type commitSide struct {
	db         *sqlx.DB
	publishers int
}

func startCommit(b *testing.B, publishers int) *commitSide {
	naive := startNaive(b, 1, publishers)
	return &commitSide{db: naive.db, publishers: publishers}
}

func (s *commitSide) run(b *testing.B, n int) timing {
	ctx := context.Background()
	start := time.Now()
	fanOut(b, n, s.publishers, func(i int) error { return writeRow(ctx, s.db, i, nil) })
	d := time.Since(start)
	return timing{send: d, total: d}
}

// startNaive is the raw side writing to a database of its own before each
// enqueue.
func startNaive(b *testing.B, concurrency, publishers int) *rawSide {
	s := startRaw(b, concurrency, publishers)
	// The same connection settings as Veza's pool (platform/db): one round
	// trip per parameterised statement.
	db, err := sqlx.Open("postgres", testkit.NewDatabase(b)+"&binary_parameters=yes")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Exec(writesTable); err != nil {
		b.Fatal(err)
	}
	s.db = db
	return s
}

func (s *vezaSide) run(b *testing.B, n int) timing {
	done := s.sink.arm(n)
	ctx := context.Background()
	start := time.Now()
	fanOut(b, n, s.publishers, func(i int) error {
		if s.write {
			return writeRow(ctx, s.db, i, func(tx *sqlx.Tx) error {
				_, err := events.NewPublisher(evModule, evType).Publish(ctx, tx, evType, map[string]int{"seq": i})
				return err
			})
		}
		tx, err := s.db.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := events.NewPublisher(evModule, evType).Publish(ctx, tx, evType, map[string]int{"seq": i}); err != nil {
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

// BenchmarkEventsRatio alternates rounds of BENCH_EVENTS each, BENCH_EVENT_ROUNDS
// times, of four sides, and reports their rates and two ratios:
//
//   - ratio_events: outbox publish -> subscriber, against raw asynq enqueue ->
//     handler (the target, 0.8);
//   - ratio_with_write: a write plus an outbox publish in one transaction,
//     against the same write committed and then enqueued with asynq directly
//     (what the outbox costs over doing without it).
//
// -benchtime does not apply.
func BenchmarkEventsRatio(b *testing.B) {
	n, publishers, concurrency := eventSettings(b)
	rounds := envInt(b, envEventRounds, 3)
	raw := startRaw(b, concurrency, publishers)
	naive := startNaive(b, concurrency, publishers)
	commits := startCommit(b, publishers)
	veza := startVeza(b, concurrency, publishers)
	vezaWrite := startVeza(b, concurrency, publishers)
	vezaWrite.write = true
	for _, s := range []side{raw, naive, commits, veza, vezaWrite} {
		s.run(b, min(n, 100))
	}
	veza.relayRounds(b)
	waits := newPGWaits(b, veza.dsn)
	var rawSum, naiveSum, commitSum, vezaSum, writeSum timing
	add := func(sum *timing, t timing) { sum.send += t.send; sum.total += t.total }
	rate := func(t timing) float64 { return float64(n) / t.total.Seconds() }
	b.ResetTimer()
	for r := range rounds {
		runtime.GC()
		tr := raw.run(b, n)
		runtime.GC()
		tn := naive.run(b, n)
		runtime.GC()
		tc := commits.run(b, n)
		runtime.GC()
		var tv timing
		waits.during(func() { tv = veza.run(b, n) })
		runtime.GC()
		tw := vezaWrite.run(b, n)
		add(&rawSum, tr)
		add(&naiveSum, tn)
		add(&commitSum, tc)
		add(&vezaSum, tv)
		add(&writeSum, tw)
		relayed := veza.relayRounds(b)
		b.Logf("round %d: raw=%.0f tasks/s veza=%.0f events/s (published at %.0f/s, %d relay rounds) commits=%.0f/s; write+enqueue=%.0f/s write+publish=%.0f/s",
			r+1, rate(tr), rate(tv), float64(n)/tv.send.Seconds(), relayed, rate(tc), rate(tn), rate(tw))
	}
	b.StopTimer()
	waits.report(b, "the veza rounds")
	total := float64(rounds * n)
	perSec := func(t timing) float64 { return total / t.total.Seconds() }
	b.ReportMetric(perSec(rawSum), "raw_tasks/s")
	b.ReportMetric(perSec(vezaSum), "veza_events/s")
	b.ReportMetric(total/vezaSum.send.Seconds(), "veza_published/s")
	b.ReportMetric(perSec(commitSum), "commits/s")
	b.ReportMetric(perSec(naiveSum), "write+enqueue/s")
	b.ReportMetric(perSec(writeSum), "write+publish/s")
	b.ReportMetric(perSec(vezaSum)/perSec(rawSum), "ratio_events")
	b.ReportMetric(perSec(vezaSum)/perSec(commitSum), "ratio_to_commits")
	b.ReportMetric(perSec(writeSum)/perSec(naiveSum), "ratio_with_write")
	b.ReportMetric(0, "ns/op")
}
