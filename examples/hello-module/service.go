package hello

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/jobs"
)

// service holds the module's rules. Everything it needs is injected: the
// platform's pool, and the module's own publisher, enqueuer, logger and
// settings.
//
// Jobs go through the module's *jobs.Enqueuer, never an asynq client: it
// accepts only "hello:" task types and puts them on the hello queue, which
// the workers consume only while hello is enabled, so the module can neither
// run another module's jobs nor fill a queue nobody reads.
type service struct {
	pool     *sqlx.DB
	store    *store
	pub      *events.Publisher
	jobs     *jobs.Enqueuer
	log      *zap.Logger
	settings *Settings
}

func newService(pool *sqlx.DB, st *store, pub *events.Publisher, q *jobs.Enqueuer, log *zap.Logger, s *Settings) *service {
	return &service{pool: pool, store: st, pub: pub, jobs: q, log: log, settings: s}
}

// Greet stores a greeting for name, publishes hello.greeted and enqueues
// hello:tally in the same transaction: all three happen, or none does. The
// job is written to the outbox with EnqueueTx, so a greeting is counted even
// if Redis is down when it is made (the relay queues the job once Redis
// answers), and a greeting that rolls back is never counted.
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
		if err != nil {
			return err
		}
		return s.jobs.EnqueueTx(ctx, tx, TallyJob, tallyVersion, tallyPayload{Name: g.Name})
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
