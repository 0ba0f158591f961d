// Package webhooks is the outgoing webhooks module: users register HTTPS
// endpoints for the public events of the enabled modules; each event about
// their own things is POSTed to them signed per the Standard Webhooks
// scheme, retried on a schedule, and recorded attempt by attempt.
package webhooks

import (
	"embed"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/events"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Module returns the webhooks module.
func Module() app.Module {
	return app.Module{
		Name:        "webhooks",
		Description: "signed outgoing webhooks for the enabled modules' public events, with retries and delivery records",
		Requires:    []string{"auth"},
		Settings:    defaultSettings,
		Migrations:  migrations,
		Events: []app.EventType{{
			Type:        EndpointDisabledEvent,
			Description: "a webhook endpoint was disabled (410 Gone, or failing for disable_after)",
			Example: map[string]any{"webhook_id": uuid.MustParse("0192f0c1-7a3b-7cde-8f00-1234567890ab"),
				"url": "https://example.com/hooks", "reason": "the receiver answered 410 Gone",
				"disabled_at": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		}},
		Provides: []any{newStore, newService, newDeliverer},
		Register: register,
	}
}

func register(r *app.Registrar, svc *Service, d *deliverer) {
	(&handler{svc: svc}).routes(r)
	r.Job(DeliverJob, d.handle, app.WithRetryDelay(retryDelay))
	r.Subscribe(events.Wildcard, d.onEvent)
}
