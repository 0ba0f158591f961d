package hello

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/events"
)

// service holds the module's rules. Everything it needs is injected: the
// platform's pool, and the module's own publisher, logger and settings.
type service struct {
	pool     *sqlx.DB
	store    *store
	pub      *events.Publisher
	log      *zap.Logger
	settings *Settings
}

func newService(pool *sqlx.DB, st *store, pub *events.Publisher, log *zap.Logger, s *Settings) *service {
	return &service{pool: pool, store: st, pub: pub, log: log, settings: s}
}

// Greet stores a greeting for name and publishes hello.greeted in the same
// transaction: both commit, or neither does.
func (s *service) Greet(ctx context.Context, name string) (Greeting, error) {
	g := Greeting{
		ID:      uuid.Must(uuid.NewV7()),
		Name:    name,
		Message: fmt.Sprintf("%s, %s!", s.settings.Greeting, name),
	}
	err := db.WithTx(ctx, s.pool, func(tx *sqlx.Tx) error {
		var err error
		if g, err = s.store.insertGreeting(ctx, tx, g); err != nil {
			return err
		}
		_, err = s.pub.Publish(ctx, tx, EventGreeted, GreetedPayload{
			GreetingID: g.ID, Name: g.Name, Message: g.Message,
		})
		return err
	})
	if err != nil {
		return Greeting{}, err
	}
	return g, nil
}

// Greeting returns the greeting id, or errNotFound.
func (s *service) Greeting(ctx context.Context, id uuid.UUID) (Greeting, error) {
	return s.store.greeting(ctx, id)
}
