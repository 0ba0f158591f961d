package events

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/veza/veza/platform/jobs"
)

// JobOptions are the asynq options a job enqueued through the outbox keeps.
type JobOptions struct {
	// TaskID deduplicates the job; default: the outbox row's id.
	TaskID   string        `json:"task_id,omitempty"`
	MaxRetry *int          `json:"max_retry,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty"`
	// ProcessAt delays the job until then.
	ProcessAt time.Time `json:"process_at,omitzero"`
}

// Outbox writes outbox rows. Publish and EnqueueTx take the caller's
// transaction, so the row commits (or not) with the caller's own change.
type Outbox struct{}

// insertRow takes JSON as text: with binary_parameters (see platform/db) a
// []byte would be sent in jsonb's binary format, which it is not. It sends no
// NOTIFY: PostgreSQL serialises the commits of every transaction that
// notified (one lock for the whole server, held through the WAL flush), which
// halved write throughput under concurrency; the relay polls instead (ADR 2).
const insertRow = `
	INSERT INTO outbox (id, kind, type, module, payload, audience, options)
	VALUES ($1, $2, $3, $4, $5, $6::uuid[], $7)`

// Publish records event eventType from module with payload (marshalled to
// JSON) about audience.
func (Outbox) Publish(ctx context.Context, tx sqlx.ExtContext, module, eventType string, payload any, audience ...uuid.UUID) (uuid.UUID, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return uuid.Nil, fmt.Errorf("publish %s: encode payload: %w", eventType, err)
	}
	id := uuid.Must(uuid.NewV7())
	ids := make([]string, len(audience))
	for i, a := range audience {
		ids[i] = a.String()
	}
	if _, err := tx.ExecContext(ctx, insertRow, id, "event", eventType, module, string(body), pq.Array(ids), "{}"); err != nil {
		return uuid.Nil, fmt.Errorf("publish %s: %w", eventType, err)
	}
	return id, nil
}

// EnqueueTx records a job to be enqueued once the transaction commits: a
// write that needs background work stays correct when Redis is down.
func (Outbox) EnqueueTx(ctx context.Context, tx sqlx.ExtContext, module, taskType string, version int, data any, opts JobOptions) (uuid.UUID, error) {
	if err := jobs.CheckType(module, taskType); err != nil {
		return uuid.Nil, err
	}
	body, err := jobs.Encode(version, data)
	if err != nil {
		return uuid.Nil, err
	}
	o, err := json.Marshal(opts)
	if err != nil {
		return uuid.Nil, fmt.Errorf("enqueue %s: encode options: %w", taskType, err)
	}
	id := uuid.Must(uuid.NewV7())
	if _, err := tx.ExecContext(ctx, insertRow, id, "job", taskType, module, string(body), pq.Array([]string{}), string(o)); err != nil {
		return uuid.Nil, fmt.Errorf("enqueue %s through the outbox: %w", taskType, err)
	}
	return id, nil
}

// Publisher is one module's handle on the outbox: it fills in the module.
type Publisher struct {
	module string
	outbox Outbox
}

// NewPublisher returns the publisher of module.
func NewPublisher(module string) *Publisher { return &Publisher{module: module} }

// Publish records an event in tx; see Outbox.Publish.
func (p *Publisher) Publish(ctx context.Context, tx sqlx.ExtContext, eventType string, payload any, audience ...uuid.UUID) (uuid.UUID, error) {
	return p.outbox.Publish(ctx, tx, p.module, eventType, payload, audience...)
}

// EnqueueTx records one of the module's own jobs in tx; see Outbox.EnqueueTx.
func (p *Publisher) EnqueueTx(ctx context.Context, tx sqlx.ExtContext, taskType string, version int, data any, opts JobOptions) (uuid.UUID, error) {
	return p.outbox.EnqueueTx(ctx, tx, p.module, taskType, version, data, opts)
}
