package webhooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/veza/veza/platform/page"
)

var errNotFound = errors.New("not found")

// Endpoint is a row of webhook_endpoints.
type Endpoint struct {
	ID                      uuid.UUID      `db:"id"`
	OwnerID                 uuid.UUID      `db:"owner_id"`
	URL                     string         `db:"url"`
	Description             string         `db:"description"`
	Events                  pq.StringArray `db:"events"`
	Scope                   string         `db:"scope"`
	Secret                  string         `db:"secret"`
	PreviousSecret          *string        `db:"previous_secret"`
	PreviousSecretExpiresAt *time.Time     `db:"previous_secret_expires_at"`
	Enabled                 bool           `db:"enabled"`
	DisabledReason          *string        `db:"disabled_reason"`
	DisabledAt              *time.Time     `db:"disabled_at"`
	FailingSince            *time.Time     `db:"failing_since"`
	CreatedAt               time.Time      `db:"created_at"`
	UpdatedAt               time.Time      `db:"updated_at"`
}

// liveSecrets are the secrets that sign a delivery at now.
func (e *Endpoint) liveSecrets(now time.Time) []string {
	out := []string{e.Secret}
	if e.PreviousSecret != nil && e.PreviousSecretExpiresAt != nil && now.Before(*e.PreviousSecretExpiresAt) {
		out = append(out, *e.PreviousSecret)
	}
	return out
}

// Delivery is a row of webhook_deliveries.
type Delivery struct {
	ID             uuid.UUID  `db:"id"`
	EndpointID     uuid.UUID  `db:"endpoint_id"`
	EventID        uuid.UUID  `db:"event_id"`
	EventType      string     `db:"event_type"`
	Body           string     `db:"body"`
	Status         string     `db:"status"`
	Attempts       int        `db:"attempts"`
	LastStatusCode *int       `db:"last_status_code"`
	LastError      *string    `db:"last_error"`
	NextAttemptAt  *time.Time `db:"next_attempt_at"`
	CreatedAt      time.Time  `db:"created_at"`
	UpdatedAt      time.Time  `db:"updated_at"`
}

// Attempt is a row of webhook_attempts.
type Attempt struct {
	DeliveryID  uuid.UUID  `db:"delivery_id" json:"-"`
	Attempt     int        `db:"attempt" json:"attempt"`
	At          time.Time  `db:"at" json:"at"`
	StatusCode  *int       `db:"status_code" json:"status_code"`
	LatencyMS   int        `db:"latency_ms" json:"latency_ms"`
	Error       *string    `db:"error" json:"error"`
	NextRetryAt *time.Time `db:"next_retry_at" json:"next_retry_at"`
}

type store struct{ db *sqlx.DB }

func newStore(db *sqlx.DB) *store { return &store{db: db} }

const endpointColumns = `id, owner_id, url, description, events, scope, secret, previous_secret,
	previous_secret_expires_at, enabled, disabled_reason, disabled_at, failing_since, created_at, updated_at`

func (s *store) insertEndpoint(ctx context.Context, e *Endpoint) error {
	err := s.db.GetContext(ctx, e, `
		INSERT INTO webhook_endpoints (id, owner_id, url, description, events, scope, secret)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+endpointColumns,
		e.ID, e.OwnerID, e.URL, e.Description, e.Events, e.Scope, e.Secret)
	if err != nil {
		return fmt.Errorf("insert endpoint: %w", err)
	}
	return nil
}

func (s *store) countEndpoints(ctx context.Context, owner uuid.UUID) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM webhook_endpoints WHERE owner_id = $1`, owner)
	return n, err
}

func (s *store) endpoint(ctx context.Context, q sqlx.QueryerContext, id uuid.UUID) (*Endpoint, error) {
	var e Endpoint
	err := sqlx.GetContext(ctx, q, &e, `SELECT `+endpointColumns+` FROM webhook_endpoints WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load endpoint %s: %w", id, err)
	}
	return &e, nil
}

// endpointsPage lists an owner's endpoints, newest first, after a cursor.
func (s *store) endpointsPage(ctx context.Context, owner uuid.UUID, after *page.TimeID, limit int) ([]Endpoint, error) {
	var out []Endpoint
	var err error
	if after == nil {
		err = s.db.SelectContext(ctx, &out, `SELECT `+endpointColumns+` FROM webhook_endpoints
			WHERE owner_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`, owner, limit)
	} else {
		err = s.db.SelectContext(ctx, &out, `SELECT `+endpointColumns+` FROM webhook_endpoints
			WHERE owner_id = $1 AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4`,
			owner, after.At, after.ID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	return out, nil
}

func (s *store) updateEndpoint(ctx context.Context, e *Endpoint) error {
	err := s.db.GetContext(ctx, e, `
		UPDATE webhook_endpoints SET url = $2, description = $3, events = $4, enabled = $5,
			disabled_reason = CASE WHEN $5 THEN NULL ELSE disabled_reason END,
			disabled_at = CASE WHEN $5 THEN NULL ELSE disabled_at END,
			failing_since = CASE WHEN $5 AND NOT enabled THEN NULL ELSE failing_since END,
			updated_at = now()
		WHERE id = $1 RETURNING `+endpointColumns, e.ID, e.URL, e.Description, e.Events, e.Enabled)
	if err != nil {
		return fmt.Errorf("update endpoint %s: %w", e.ID, err)
	}
	return nil
}

func (s *store) deleteEndpoint(ctx context.Context, id uuid.UUID) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM webhook_endpoints WHERE id = $1`, id)
	return err
}

func (s *store) rotateSecret(ctx context.Context, id uuid.UUID, secret string, overlapUntil time.Time) (*Endpoint, error) {
	var e Endpoint
	err := s.db.GetContext(ctx, &e, `
		UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = $3, secret = $2, updated_at = now()
		WHERE id = $1 RETURNING `+endpointColumns, id, secret, overlapUntil)
	if err != nil {
		return nil, fmt.Errorf("rotate secret of %s: %w", id, err)
	}
	return &e, nil
}

// subscribers finds the enabled endpoints an event goes to: those listing
// its type and either global or owned by someone in its audience.
func (s *store) subscribers(ctx context.Context, q sqlx.QueryerContext, eventType string, audience []string) ([]Endpoint, error) {
	var out []Endpoint
	err := sqlx.SelectContext(ctx, q, &out, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE enabled AND events @> ARRAY[$1]::text[] AND (scope = 'global' OR owner_id = ANY($2::uuid[]))`,
		eventType, pq.Array(audience))
	if err != nil {
		return nil, fmt.Errorf("find endpoints for %s: %w", eventType, err)
	}
	return out, nil
}

// insertDelivery records a delivery before its first attempt (pings, whose
// event is made on the spot).
func (s *store) insertDelivery(ctx context.Context, d *Delivery) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, body)
		VALUES ($1, $2, $3, $4, $5)`, d.ID, d.EndpointID, d.EventID, d.EventType, d.Body)
	if err != nil {
		return fmt.Errorf("insert delivery: %w", err)
	}
	return nil
}

func (s *store) delivery(ctx context.Context, id uuid.UUID) (*Delivery, error) {
	var d Delivery
	err := s.db.GetContext(ctx, &d, `SELECT id, endpoint_id, event_id, event_type, body, status, attempts,
		last_status_code, last_error, next_attempt_at, created_at, updated_at FROM webhook_deliveries WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load delivery %s: %w", id, err)
	}
	return &d, nil
}

// outcome is the result of one attempt.
type outcome struct {
	status    string // retrying, succeeded, failed
	code      *int
	latency   time.Duration
	err       *string
	nextRetry *time.Time
}

// deliveryState is where a delivery stands before an attempt; zero when
// its row does not exist yet (first attempt).
type deliveryState struct {
	Status   string `db:"status"`
	Attempts int    `db:"attempts"`
}

// endpointAndDelivery loads an endpoint and its delivery's state in one
// round trip.
func (s *store) endpointAndDelivery(ctx context.Context, endpoint, delivery uuid.UUID) (*Endpoint, deliveryState, error) {
	var row struct {
		Endpoint
		Status   *string `db:"d_status"`
		Attempts *int    `db:"d_attempts"`
	}
	err := s.db.GetContext(ctx, &row, `SELECT e.id, e.owner_id, e.url, e.description, e.events, e.scope, e.secret, e.previous_secret,
			e.previous_secret_expires_at, e.enabled, e.disabled_reason, e.disabled_at, e.failing_since, e.created_at, e.updated_at,
			d.status AS d_status, d.attempts AS d_attempts
		FROM webhook_endpoints e LEFT JOIN webhook_deliveries d ON d.id = $2 AND d.endpoint_id = e.id
		WHERE e.id = $1`, endpoint, delivery)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, deliveryState{}, errNotFound
	}
	if err != nil {
		return nil, deliveryState{}, fmt.Errorf("load endpoint %s: %w", endpoint, err)
	}
	var st deliveryState
	if row.Status != nil {
		st.Status, st.Attempts = *row.Status, *row.Attempts
	}
	return &row.Endpoint, st, nil
}

// recordAttempt writes the delivery (created at its first attempt), the
// attempt, and the endpoint's continuous-failure mark, in one statement; it
// returns the endpoint's failing_since. The endpoint row is written only
// when failing_since changes: every delivery to an endpoint would otherwise
// queue on that one row's lock.
func (s *store) recordAttempt(ctx context.Context, d *Delivery, attempt int, o outcome) (*time.Time, error) {
	var failingSince *time.Time
	err := s.db.GetContext(ctx, &failingSince, `
		WITH u AS (
			INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts,
				last_status_code, last_error, next_attempt_at)
			VALUES ($1, $8, $9, $10, $11, $7, $2, $3, $5, $6)
			ON CONFLICT (id) DO UPDATE SET status = $7, attempts = greatest(webhook_deliveries.attempts, $2),
				last_status_code = $3, last_error = $5, next_attempt_at = $6, updated_at = now()
			RETURNING id
		), a AS (
			INSERT INTO webhook_attempts (delivery_id, attempt, status_code, latency_ms, error, next_retry_at)
			SELECT id, $2, $3, $4, $5, $6 FROM u
		), f AS (
			UPDATE webhook_endpoints SET failing_since = CASE WHEN $7 = 'succeeded' THEN NULL ELSE now() END
			WHERE id = $8 AND CASE WHEN $7 = 'succeeded' THEN failing_since IS NOT NULL ELSE failing_since IS NULL END
			RETURNING failing_since
		)
		SELECT CASE WHEN $7 = 'succeeded' THEN NULL
			ELSE coalesce((SELECT failing_since FROM f), (SELECT failing_since FROM webhook_endpoints WHERE id = $8)) END`,
		d.ID, attempt, o.code, int(o.latency/time.Millisecond), o.err, o.nextRetry, o.status, d.EndpointID,
		d.EventID, d.EventType, d.Body)
	if err != nil {
		return nil, fmt.Errorf("record attempt %d of %s: %w", attempt, d.ID, err)
	}
	return failingSince, nil
}

// disable turns an endpoint off with a reason; it reports whether it was on.
func (s *store) disable(ctx context.Context, tx sqlx.ExtContext, id uuid.UUID, reason string) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, disabled_at = now(), updated_at = now()
		WHERE id = $1 AND enabled`, id, reason)
	if err != nil {
		return false, fmt.Errorf("disable endpoint %s: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// resetDelivery prepares a delivery for a redelivery.
func (s *store) resetDelivery(ctx context.Context, id uuid.UUID) error {
	_, err := s.db.ExecContext(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), updated_at = now() WHERE id = $1`, id)
	return err
}

func (s *store) deliveriesPage(ctx context.Context, endpoint uuid.UUID, after *page.TimeID, limit int) ([]Delivery, error) {
	var out []Delivery
	cols := `id, endpoint_id, event_id, event_type, body, status, attempts, last_status_code, last_error, next_attempt_at, created_at, updated_at`
	var err error
	if after == nil {
		err = s.db.SelectContext(ctx, &out, `SELECT `+cols+` FROM webhook_deliveries WHERE endpoint_id = $1
			ORDER BY created_at DESC, id DESC LIMIT $2`, endpoint, limit)
	} else {
		err = s.db.SelectContext(ctx, &out, `SELECT `+cols+` FROM webhook_deliveries WHERE endpoint_id = $1
			AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4`, endpoint, after.At, after.ID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return out, nil
}

func (s *store) attempts(ctx context.Context, deliveries []uuid.UUID) (map[uuid.UUID][]Attempt, error) {
	ids := make([]string, len(deliveries))
	for i, d := range deliveries {
		ids[i] = d.String()
	}
	var rows []Attempt
	err := s.db.SelectContext(ctx, &rows, `SELECT delivery_id, attempt, at, status_code, latency_ms, error, next_retry_at
		FROM webhook_attempts WHERE delivery_id = ANY($1::uuid[]) ORDER BY delivery_id, id`, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("list attempts: %w", err)
	}
	out := map[uuid.UUID][]Attempt{}
	for _, a := range rows {
		out[a.DeliveryID] = append(out[a.DeliveryID], a)
	}
	return out, nil
}
