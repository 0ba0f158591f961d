package bench

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/jobs"
)

const envWhatIf = "BENCH_WHATIF"

// insertNoNotify is the outbox's insertRow without the pg_notify: the
// change proposed in docs/performance.md. Keep it in step with
// platform/events/outbox.go.
const insertNoNotify = `
INSERT INTO outbox (id, kind, type, module, payload, audience, options)
VALUES ($1, 'event', $2, $3, $4, '{}', '{}')`

type nopCounter struct{}

func (nopCounter) Dispatched(string, int) {}
func (nopCounter) Failed()                {}

// polledSide is vezaSide with the proposed relay: publishers do not NOTIFY,
// the relay polls every `poll` (and drains while batches come back full).
// It runs Veza's API role and, next to it, the worker the platform would
// build (same job server, mux and subscriptions) with that relay.
type polledSide struct{ vezaSide }

func startPolled(b *testing.B, concurrency, publishers int, poll time.Duration) *polledSide {
	s := &polledSide{vezaSide{sink: &sink{}, publishers: publishers}}
	srv := apptest.Start(b, apptest.Options{
		Modules: []app.Module{eventsModule(s.sink)},
		Role:    app.RoleAPI,
	})
	rt := srv.Runtime
	subs, err := app.Subscriptions(rt.Plan(), rt.Contributions())
	if err != nil {
		b.Fatal(err)
	}
	mux := jobs.NewMux(zap.NewNop(), nil)
	mux.Fallback = subs.JobHandler
	queues := map[string]int{app.PlatformModule: 1}
	for name, w := range rt.Plan().QueueWeights {
		queues[name] = w
	}
	jsrv := jobs.NewServer(rt.Redis(), jobs.ServerConfig{Queues: queues, Concurrency: concurrency, ShutdownTimeout: 5 * time.Second}, zap.NewNop())
	if err := jsrv.Start(mux); err != nil {
		b.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rt.Redis())
	relay := events.NewRelay(events.RelayConfig{DSN: srv.Config.DatabaseURL, Poll: poll}, rt.DB(), client, subs, zap.NewNop(), nopCounter{})
	relay.Start()
	b.Cleanup(func() { relay.Stop(); jsrv.Shutdown() })
	s.db = rt.DB()
	return s
}

func (s *polledSide) run(b *testing.B, n int) timing {
	done := s.sink.arm(n)
	start := time.Now()
	insertRows(b, s.db, n, s.publishers)
	sent := time.Since(start)
	return timing{send: sent, total: s.sink.wait(b, done, n).Sub(start)}
}

// insertRows writes n outbox rows without NOTIFY, one transaction each.
func insertRows(b *testing.B, db *sqlx.DB, n, publishers int) {
	ctx := context.Background()
	fanOut(b, n, publishers, func(i int) error {
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, insertNoNotify, uuid.Must(uuid.NewV7()), evType, evModule, string(payloadJSON(i))); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// commitSide only writes the rows (no NOTIFY, no relay, nothing handled):
// the ceiling of any outbox that commits one transaction per event.
type commitSide struct {
	db         *sqlx.DB
	publishers int
}

func startCommitOnly(b *testing.B, publishers int) *commitSide {
	srv := apptest.Start(b, apptest.Options{Modules: []app.Module{eventsModule(&sink{})}, Role: app.RoleAPI})
	return &commitSide{db: srv.Runtime.DB(), publishers: publishers}
}

func (s *commitSide) run(b *testing.B, n int) timing {
	start := time.Now()
	insertRows(b, s.db, n, s.publishers)
	d := time.Since(start)
	return timing{send: d, total: d}
}

// BenchmarkEventsWhatIf (only with BENCH_WHATIF=1) measures the relay change
// proposed in docs/performance.md next to today's relay and raw asynq:
// no NOTIFY per published row, the relay polling every BENCH_WHATIF_POLL
// (default 50ms), and the rate at which the publishers alone commit outbox
// rows (commit_only: the ceiling of any relay). It alternates them like
// BenchmarkEventsRatio.
func BenchmarkEventsWhatIf(b *testing.B) {
	if os.Getenv(envWhatIf) == "" {
		b.Skip("set " + envWhatIf + "=1 to measure the proposed relay")
	}
	n, publishers, concurrency := eventSettings(b)
	rounds := envInt(b, envEventRounds, 3)
	poll := envDuration(b, "BENCH_WHATIF_POLL", 50*time.Millisecond)
	sides := []struct {
		name string
		side side
	}{
		{"raw", startRaw(b, concurrency, publishers)},
		{"veza", startVeza(b, concurrency, publishers)},
		{"veza_poll" + strconv.Itoa(int(poll.Milliseconds())) + "ms_nonotify", startPolled(b, concurrency, publishers, poll)},
		{"commit_only", startCommitOnly(b, publishers)},
	}
	sums := make([]timing, len(sides))
	for _, s := range sides {
		s.side.run(b, min(n, 100))
	}
	b.ResetTimer()
	for r := range rounds {
		line := "round " + strconv.Itoa(r+1) + ":"
		for i, s := range sides {
			t := s.side.run(b, n)
			sums[i].send += t.send
			sums[i].total += t.total
			line += " " + s.name + "=" + strconv.Itoa(int(float64(n)/t.total.Seconds())) + "/s"
		}
		b.Log(line)
	}
	b.StopTimer()
	total := float64(rounds * n)
	base := total / sums[0].total.Seconds()
	for i, s := range sides {
		rate := total / sums[i].total.Seconds()
		b.ReportMetric(rate, s.name+"_handled/s")
		b.ReportMetric(total/sums[i].send.Seconds(), s.name+"_sent/s")
		if i > 0 {
			b.ReportMetric(rate/base, "ratio_"+s.name)
		}
	}
	b.ReportMetric(0, "ns/op")
}
