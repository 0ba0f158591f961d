package bench

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/platform/events"
)

func sampleWaits(ctx context.Context, dsn string) (func() string) {
	db := sqlx.MustConnect("postgres", dsn)
	counts := map[string]int{}
	var mu sync.Mutex
	done := make(chan struct{})
	samples := 0
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			var rows []struct {
				T  *string `db:"wait_event_type"`
				E  *string `db:"wait_event"`
				Q  string  `db:"q"`
			}
			_ = db.Select(&rows, `SELECT wait_event_type, wait_event, left(query, 25) AS q FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND datname = current_database()`)
			mu.Lock()
			samples++
			for _, r := range rows {
				k := "CPU"
				if r.T != nil {
					k = *r.T + ":" + *r.E
				}
				counts[k+" | "+r.Q]++
			}
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return func() string {
		<-done
		db.Close()
		type kv struct{ k string; v int }
		var l []kv
		for k, v := range counts { l = append(l, kv{k, v}) }
		sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v })
		s := fmt.Sprintf("samples=%d\n", samples)
		for i, e := range l { if i < 14 { s += fmt.Sprintf("  %5d %s\n", e.v, e.k) } }
		return s
	}
}

func TestDiagRelay(t *testing.T) {
	for _, role := range []app.Role{app.RoleAPI, app.RoleAPI | app.RoleWorker} {
		for _, notify := range []bool{true, false} {
			s := &sink{}
			srv := apptest.Start(t, apptest.Options{Modules: []app.Module{eventsModule(s)}, Role: role})
			db := srv.Runtime.DB()
			ctx := context.Background()
			n := 3000
			done := s.arm(n)
			sctx, stop := context.WithCancel(ctx)
			report := sampleWaits(sctx, srv.Config.DatabaseURL)
			start := time.Now()
			fanOutT(t, n, 4, func(i int) error {
				tx, err := db.BeginTxx(ctx, nil)
				if err != nil { return err }
				defer tx.Rollback()
				if notify {
					_, err = (events.Outbox{}).Publish(ctx, tx, evModule, evType, map[string]int{"seq": i})
				} else {
					_, err = tx.ExecContext(ctx, `INSERT INTO outbox (id, kind, type, module, payload) VALUES ($1,'event',$2,$3,$4)`, uuid.Must(uuid.NewV7()), evType, evModule, `{"seq":1}`)
				}
				if err != nil { return err }
				return tx.Commit()
			})
			sent := time.Since(start)
			stop()
			w := report()
			var total time.Duration
			if role.Has(app.RoleWorker) {
				select {
				case end := <-done:
					total = end.Sub(start)
				case <-time.After(60 * time.Second):
					t.Fatalf("handled %d", s.n.Load())
				}
			}
			var rounds int
			_ = db.Get(&rounds, `SELECT count(DISTINCT dispatched_at) FROM outbox`)
			t.Logf("worker=%v notify=%v: published %.0f/s, handled %.0f/s, relay rounds %d (%.1f rows/round)\n%s", role.Has(app.RoleWorker), notify,
				float64(n)/sent.Seconds(), float64(n)/total.Seconds(), rounds, float64(n)/float64(max(rounds,1)), w)
		}
	}
}

func fanOutT(t *testing.T, n, workers int, send func(i int) error) {
	errs := make(chan error, workers)
	next := make(chan int)
	go func() { for i := 0; i < n; i++ { next <- i }; close(next) }()
	for range workers {
		go func() {
			var err error
			for i := range next {
				if err == nil { err = send(i) }
			}
			errs <- err
		}()
	}
	for range workers {
		if err := <-errs; err != nil { t.Fatal(err) }
	}
}
