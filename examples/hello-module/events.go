package hello

import (
	"context"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/events"
)

// EventGreeted is published, with a GreetedPayload, for every greeting made.
const EventGreeted = "hello.greeted"

// GreetedPayload is the payload of hello.greeted.
type GreetedPayload struct {
	GreetingID uuid.UUID `json:"greeting_id"`
	Name       string    `json:"name"`
	Message    string    `json:"message"`
}

// handleGreeted is the module's subscription to its own event: it records the
// delivery once per event id, however many times the event is delivered
// (delivery is at least once).
func (s *service) handleGreeted(ctx context.Context, ev events.Event) error {
	var p GreetedPayload
	if err := ev.Decode(&p); err != nil {
		return err // it wraps asynq.SkipRetry: no retry can make the payload readable
	}
	fresh, err := s.store.recordDelivery(ctx, ev.ID, p.GreetingID)
	if err != nil {
		return err
	}
	if !fresh {
		s.log.Debug("event delivered again; already recorded", zap.Stringer("event_id", ev.ID))
	}
	return nil
}
