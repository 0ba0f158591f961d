// Package testkit gives tests real services: a fresh PostgreSQL database and a
// private Redis server per test package (or per test), started by the test
// itself so that nothing is skipped for want of a service.
//
// The PostgreSQL server is the one at TEST_DATABASE_URL, else DATABASE_URL,
// else postgres://postgres@127.0.0.1:5432 (what `make test` starts when
// nothing answers). Redis is a redis-server child process on a free loopback
// port, because asynq has no key prefix: sharing one Redis between packages
// that run in parallel would let one package's workers take another's tasks.
package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the PostgreSQL driver
)

// TB is the part of testing.TB the kit needs; *testing.T and *testing.B fit.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
	Logf(format string, args ...any)
}

// ServerURL is the PostgreSQL server tests create their databases on.
func ServerURL() string {
	for _, k := range []string{"TEST_DATABASE_URL", "DATABASE_URL"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// withDatabase returns raw with its path replaced by name.
func withDatabase(raw, name string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse database url: %w", err)
	}
	u.Path = "/" + name
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// CreateDatabase makes an empty database with a random name and returns its
// URL and a function that drops it.
func CreateDatabase(ctx context.Context, prefix string) (string, func(), error) {
	admin, err := withDatabase(ServerURL(), "postgres")
	if err != nil {
		return "", nil, err
	}
	db, err := sqlx.ConnectContext(ctx, "postgres", admin)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL at %s (run `make services` or set TEST_DATABASE_URL): %w", redact(admin), err)
	}
	defer db.Close()
	name := fmt.Sprintf("veza_t_%s_%s", sanitize(prefix), randomHex(4))
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	dsn, err := withDatabase(ServerURL(), name)
	if err != nil {
		return "", nil, err
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := sqlx.ConnectContext(ctx, "postgres", admin)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return dsn, drop, nil
}

// NewDatabase creates a fresh database for one test and drops it afterwards.
func NewDatabase(t TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, drop, err := CreateDatabase(ctx, "test")
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(drop)
	return dsn
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
		if b.Len() >= 20 {
			break
		}
	}
	return b.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "the configured server"
	}
	return u.Redacted()
}
