package hello

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
)

// Greeting is one stored greeting, as the API returns it.
type Greeting struct {
	ID        uuid.UUID `db:"id" json:"id"`
	Name      string    `db:"name" json:"name"`
	Message   string    `db:"message" json:"message"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// errNotFound is returned when no row matches.
var errNotFound = errors.New("hello: not found")

// store holds the module's SQL, one method per statement.
type store struct {
	db *sqlx.DB
}

func newStore(db *sqlx.DB) *store { return &store{db: db} }

// insertGreeting stores g in q (the caller's transaction) and returns it
// with its creation time.
func (s *store) insertGreeting(ctx context.Context, q sqlx.QueryerContext, g Greeting) (Greeting, error) {
	err := sqlx.GetContext(ctx, q, &g.CreatedAt,
		`INSERT INTO hello_greetings (id, name, message) VALUES ($1, $2, $3) RETURNING created_at`,
		g.ID, g.Name, g.Message)
	if err != nil {
		return Greeting{}, fmt.Errorf("insert greeting: %w", err)
	}
	g.CreatedAt = g.CreatedAt.UTC()
	return g, nil
}

// greeting returns the greeting id, or errNotFound.
func (s *store) greeting(ctx context.Context, id uuid.UUID) (Greeting, error) {
	var g Greeting
	err := s.db.GetContext(ctx, &g,
		`SELECT id, name, message, created_at FROM hello_greetings WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Greeting{}, errNotFound
	}
	if err != nil {
		return Greeting{}, fmt.Errorf("get greeting %s: %w", id, err)
	}
	g.CreatedAt = g.CreatedAt.UTC()
	return g, nil
}

// recordDelivery notes that event eventID about greetingID arrived; it
// reports false when the event had been recorded already.
func (s *store) recordDelivery(ctx context.Context, eventID, greetingID uuid.UUID) (bool, error) {
	res, err := s.db.ExecContext(ctx,
		`INSERT INTO hello_deliveries (event_id, greeting_id) VALUES ($1, $2)
		 ON CONFLICT (event_id) DO NOTHING`, eventID, greetingID)
	if err != nil {
		return false, fmt.Errorf("record delivery of event %s: %w", eventID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record delivery of event %s: %w", eventID, err)
	}
	return n == 1, nil
}

// deleteDeliveriesOlderThan removes deliveries received more than age ago
// (by the database's clock, which also stamped them) and returns how many it
// removed.
func (s *store) deleteDeliveriesOlderThan(ctx context.Context, age time.Duration) (int64, error) {
	res, err := s.db.ExecContext(ctx,
		`DELETE FROM hello_deliveries WHERE received_at < now() - make_interval(secs => $1)`, age.Seconds())
	if err != nil {
		return 0, fmt.Errorf("delete old deliveries: %w", err)
	}
	return res.RowsAffected()
}

// tally recounts name's greetings into hello_tally. GREATEST keeps a job
// that counted before a concurrent one committed from lowering the total:
// greetings are never deleted, so the larger count is the right one.
func (s *store) tally(ctx context.Context, name string) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO hello_tally (name, greetings)
		SELECT $1, count(*) FROM hello_greetings WHERE name = $1 HAVING count(*) > 0
		ON CONFLICT (name) DO UPDATE
		SET greetings = GREATEST(hello_tally.greetings, EXCLUDED.greetings), updated_at = now()`, name)
	if err != nil {
		return fmt.Errorf("tally greetings of %q: %w", name, err)
	}
	return nil
}

// mostGreeted returns the n names greeted most often, most first (ties by
// name).
func (s *store) mostGreeted(ctx context.Context, n int) ([]Popular, error) {
	out := []Popular{}
	err := s.db.SelectContext(ctx, &out,
		`SELECT name, greetings FROM hello_tally ORDER BY greetings DESC, name LIMIT $1`, n)
	if err != nil {
		return nil, fmt.Errorf("read the most greeted names: %w", err)
	}
	return out, nil
}
