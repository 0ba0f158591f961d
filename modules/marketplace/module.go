// Package marketplace is the marketplace module: creators sell licences to
// their own tracks (basic, premium, exclusive; an exclusive licence sells
// once), buyers order them with an Idempotency-Key, pay through a provider
// (a test checkout, or Hyperswitch), get licences and signed download
// URLs, and may ask for a refund within a window. Sellers' earnings are
// kept in a double-entry ledger. See docs/adr/0015-payments-idempotency-ledger.md.
package marketplace

import (
	"embed"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/tracks/tracksapi"
)

// Name is the module's name.
const Name = "marketplace"

//go:embed migrations/*.sql
var migrations embed.FS

// Module returns the marketplace module.
func Module() app.Module {
	return app.Module{
		Name:        Name,
		Description: "licences to tracks for sale: products, idempotent orders, payments (test, Hyperswitch), licences, signed downloads, refunds, sellers' ledger",
		Requires:    []string{"auth", "tracks"},
		Settings:    defaultSettings,
		Migrations:  migrations,
		Events:      eventTypes(),
		Provides:    []any{newStore, newTestProvider, newProviders, newService},
		Register:    register,
	}
}

func register(r *app.Registrar, svc *Service, tp *testProvider, s *Settings) {
	(&handler{svc: svc}).routes(r, s)
	r.Job(ReconcileJob, svc.reconcile)
	r.Schedule("@every "+s.ReconcileEvery.String(), ReconcileJob, nil)
	r.Job(TidyJob, svc.tidy)
	r.Schedule("@hourly", TidyJob, nil)
	r.Job(TestWebhookJob, tp.deliver)
	r.Subscribe(tracksapi.EventTrackDeleted, svc.onTrackDeleted)
}
