// Package outbox writes the rows that carry events and jobs out of a
// transaction: a module's write and the effects it promises commit together
// or not at all, and the relay (package events) moves committed rows into
// asynq. Modules do not use this package directly: they publish through
// their *events.Publisher and enqueue through their *jobs.Enqueuer, which
// fill in the module and refuse what it did not declare.
package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The kinds of rows.
const (
	KindEvent = "event"
	KindJob   = "job"
)

// Row is one entry to write.
type Row struct {
	Kind   string
	Type   string
	Module string
	// Payload and Options are JSON.
	Payload  []byte
	Audience []uuid.UUID
	Options  []byte
}

// insertRow takes JSON as text: with binary_parameters (see platform/db) a
// []byte would be sent in jsonb's binary format, which it is not. It sends no
// NOTIFY: PostgreSQL serialises the commits of every transaction that
// notified (one lock for the whole server, held through the WAL flush), which
// halved write throughput under concurrency; the relay polls instead (ADR 2).
const insertRow = `
	INSERT INTO outbox (id, kind, type, module, payload, audience, options)
	VALUES ($1, $2, $3, $4, $5, $6::uuid[], $7)`

// Insert writes r in tx and returns the row's id, which is also the default
// task id of a job and the id of an event.
func Insert(ctx context.Context, tx sqlx.ExtContext, r Row) (uuid.UUID, error) {
	id := uuid.Must(uuid.NewV7())
	audience := make([]string, len(r.Audience))
	for i, a := range r.Audience {
		audience[i] = a.String()
	}
	options := "{}"
	if len(r.Options) > 0 {
		options = string(r.Options)
	}
	if _, err := tx.ExecContext(ctx, insertRow, id, r.Kind, r.Type, r.Module, string(r.Payload), pq.Array(audience), options); err != nil {
		return uuid.Nil, fmt.Errorf("outbox: write %s %s of module %s: %w", r.Kind, r.Type, r.Module, err)
	}
	return id, nil
}

// Prune deletes dispatched rows older than retention; the platform schedules
// it as the job "platform:outbox_prune".
func Prune(ctx context.Context, pool *sqlx.DB, retention time.Duration) (int64, error) {
	res, err := pool.ExecContext(ctx,
		`DELETE FROM outbox WHERE dispatched_at IS NOT NULL AND dispatched_at < now() - $1 * interval '1 second'`,
		retention.Seconds())
	if err != nil {
		return 0, fmt.Errorf("prune outbox: %w", err)
	}
	return res.RowsAffected()
}

// Backlog returns how many rows wait to be relayed and how old the oldest
// is (0 when none), for the platform's metrics.
func Backlog(ctx context.Context, pool *sqlx.DB) (int64, time.Duration, error) {
	var row struct {
		N   int64   `db:"n"`
		Age float64 `db:"age"`
	}
	err := pool.GetContext(ctx, &row, `SELECT count(*) AS n,
		coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age
		FROM outbox WHERE dispatched_at IS NULL`)
	if err != nil {
		return 0, 0, fmt.Errorf("outbox backlog: %w", err)
	}
	return row.N, time.Duration(row.Age * float64(time.Second)), nil
}
