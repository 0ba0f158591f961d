// Package db opens the process's one PostgreSQL pool and runs transactions.
package db

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the PostgreSQL driver

	"github.com/veza/veza/platform/config"
)

// Open returns a pool for DATABASE_URL. It does not connect: the first query
// does, so commands that only inspect the configuration work without a server.
func Open(cfg *config.Config) (*sqlx.DB, error) {
	dsn, err := tune(cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	pool, err := sqlx.Open("postgres", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	pool.SetMaxOpenConns(cfg.DatabaseMaxOpenConns)
	pool.SetMaxIdleConns(min(cfg.DatabaseMaxIdleConns, cfg.DatabaseMaxOpenConns))
	pool.SetConnMaxLifetime(cfg.DatabaseConnMaxLifetime)
	pool.SetConnMaxIdleTime(cfg.DatabaseConnMaxLifetime / 2)
	return pool, nil
}

// tune adds connection parameters the platform relies on unless the operator
// chose otherwise: binary_parameters saves a round trip per parameterised
// query with lib/pq, and a connect timeout keeps a dead server from hanging
// start-up.
func tune(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("DATABASE_URL must be a postgres:// URL")
	}
	q := u.Query()
	if q.Get("binary_parameters") == "" {
		q.Set("binary_parameters", "yes")
	}
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", "5")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Redact hides the password of a database URL for logs and messages.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable DATABASE_URL)"
	}
	return u.Redacted()
}

// WithTx runs fn inside a transaction, committing when it returns nil and
// rolling back otherwise (also when it panics, before the panic goes on).
func WithTx(ctx context.Context, pool *sqlx.DB, fn func(tx *sqlx.Tx) error) (err error) {
	tx, err := pool.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}
