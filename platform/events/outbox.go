package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/platform/outbox"
)

// Publisher is one module's handle on the outbox; the platform gives each
// module its own. It fills in the module, and refuses an event type the
// module did not declare in its Module.Events: what a module publishes is
// part of its contract (the webhook catalogue lists it, subscribers rely on
// it), so it cannot grow by accident.
type Publisher struct {
	module   string
	declared map[string]bool
}

// NewPublisher returns the publisher of module, which may publish the
// event types in declared.
func NewPublisher(module string, declared ...string) *Publisher {
	p := &Publisher{module: module, declared: map[string]bool{}}
	for _, t := range declared {
		p.declared[t] = true
	}
	return p
}

// Module is the module whose events this publisher writes.
func (p *Publisher) Module() string { return p.module }

// Publish records event eventType with payload (marshalled to JSON) about
// audience, in tx: the event is delivered if and only if tx commits. It
// returns the event's id.
func (p *Publisher) Publish(ctx context.Context, tx sqlx.ExtContext, eventType string, payload any, audience ...uuid.UUID) (uuid.UUID, error) {
	if !p.declared[eventType] {
		return uuid.Nil, fmt.Errorf("module %s publishes %q, which it does not declare; fix: add it to the module's Events", p.module, eventType)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return uuid.Nil, fmt.Errorf("publish %s: encode payload: %w", eventType, err)
	}
	return outbox.Insert(ctx, tx, outbox.Row{Kind: outbox.KindEvent, Type: eventType, Module: p.module, Payload: body, Audience: audience})
}
