package db_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/testkit"
)

// Statements prepares a text once for the whole pool, runs it on any
// connection, concurrently, and answers like sqlx.
func TestStatementsPrepareOncePerText(t *testing.T) {
	pool, err := db.Open(&config.Config{DatabaseURL: testkit.NewDatabase(t), DatabaseMaxOpenConns: 4, DatabaseMaxIdleConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	if _, err := pool.Exec(`CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
		INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 100) AS i`); err != nil {
		t.Fatal(err)
	}
	st := db.NewStatements(pool)
	const byID = `SELECT name FROM items WHERE id = $1`
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				id := 1 + (g*10+i)%100
				var name string
				if err := st.Get(ctx, &name, byID, id); err != nil || name == "" {
					t.Errorf("get %d: %q, %v", id, name, err)
					return
				}
			}
		})
	}
	wg.Wait()
	var names []string
	if err := st.Select(ctx, &names, `SELECT name FROM items WHERE id <= $1 ORDER BY id`, 3); err != nil {
		t.Fatal(err)
	}
	if len(names) != 3 || names[0] != "item 1" {
		t.Fatalf("select: %q", names)
	}
	var name string
	if err := st.Get(ctx, &name, byID, 1000); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("no row: %v, want sql.ErrNoRows", err)
	}
	// Each connection prepared each text at most once.
	conns := preparedOnEachConn(t, pool)
	for _, n := range conns {
		if n > 2 {
			t.Fatalf("a connection holds %d prepared statements, want at most 2 (one per text)", n)
		}
	}
	if err := st.Get(ctx, &name, `SELECT nothing FROM nowhere`); err == nil {
		t.Fatal("a statement that does not prepare ran")
	}
}

// preparedOnEachConn counts the prepared statements of every idle
// connection of pool.
func preparedOnEachConn(t *testing.T, pool *sqlx.DB) []int {
	t.Helper()
	ctx := context.Background()
	var out []int
	var held []*sqlx.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range pool.Stats().Idle {
		c, err := pool.Connx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		var n int
		if err := c.GetContext(ctx, &n, `SELECT count(*) FROM pg_prepared_statements`); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}
