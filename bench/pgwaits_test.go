package bench

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

const envPGWaits = "BENCH_PG_WAITS"

// pgWaits is a sampling profile of PostgreSQL: what the active backends of
// one database wait on (or "CPU"), by statement, every 5ms. Go's profiler
// shows the benchmark process idle while it waits for PostgreSQL; this
// shows why.
type pgWaits struct {
	db      *sqlx.DB
	mu      sync.Mutex
	counts  map[string]int
	samples int
}

// newPGWaits returns nil unless BENCH_PG_WAITS is set.
func newPGWaits(b *testing.B, dsn string) *pgWaits {
	if os.Getenv(envPGWaits) == "" {
		return nil
	}
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { db.Close() })
	return &pgWaits{db: db, counts: map[string]int{}}
}

// during samples while fn runs.
func (w *pgWaits) during(fn func()) {
	if w == nil {
		fn()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			var rows []struct {
				Wait string `db:"wait"`
				Stmt string `db:"stmt"`
			}
			err := w.db.SelectContext(ctx, &rows, `
				SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait,
				       left(regexp_replace(btrim(query, E' \n\t'), '\s+', ' ', 'g'), 28) AS stmt
				FROM pg_stat_activity
				WHERE state = 'active' AND pid <> pg_backend_pid() AND datname = current_database()`)
			if err == nil {
				w.mu.Lock()
				w.samples++
				for _, r := range rows {
					w.counts[r.Wait+" | "+r.Stmt]++
				}
				w.mu.Unlock()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	fn()
	cancel()
	<-done
}

// report logs the most frequent waits.
func (w *pgWaits) report(b *testing.B, what string) {
	if w == nil {
		return
	}
	type kv struct {
		k string
		n int
	}
	var l []kv
	for k, n := range w.counts {
		l = append(l, kv{k, n})
	}
	sort.Slice(l, func(i, j int) bool { return l[i].n > l[j].n })
	var sb strings.Builder
	fmt.Fprintf(&sb, "PostgreSQL waits during %s (%d samples; backends seen waiting, by statement):", what, w.samples)
	for i, e := range l {
		if i == 12 {
			break
		}
		fmt.Fprintf(&sb, "\n%7d  %s", e.n, e.k)
	}
	b.Log(sb.String())
}
