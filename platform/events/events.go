// Package events carries cross-module effects. A module publishes an event by
// writing an outbox row in the same transaction as its own change; a relay in
// the worker turns each row into one asynq task per subscribing module. The
// task id is "<event id>:<subscriber>", so a row relayed twice (a crash
// between enqueue and marking it) is refused by asynq the second time, and a
// Redis outage only delays delivery: nothing is lost, and writes never wait
// for Redis. Delivery is at least once; handlers deduplicate on Event.ID.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/veza/veza/platform/jobs"
)

// Event is what a subscriber receives.
type Event struct {
	// ID is stable across redeliveries: deduplicate on it.
	ID   uuid.UUID `json:"id"`
	Type string    `json:"type"`
	// Module is the publisher.
	Module  string          `json:"module"`
	Payload json.RawMessage `json:"payload"`
	// Audience lists the users the event concerns (the track's owner, the
	// followed user...), so that subscribers can route it without reading
	// the publisher's tables.
	Audience  []uuid.UUID `json:"audience"`
	CreatedAt time.Time   `json:"created_at"`
}

// Decode unmarshals the payload into dst. A payload that does not fit is a
// permanent failure: the error wraps asynq.SkipRetry, so a handler can return
// it as is.
func (e Event) Decode(dst any) error {
	if err := json.Unmarshal(e.Payload, dst); err != nil {
		return fmt.Errorf("decode %s event %s: %v: %w", e.Type, e.ID, err, asynq.SkipRetry)
	}
	return nil
}

// Handler handles one delivered event. Like every job it must be idempotent.
type Handler func(ctx context.Context, ev Event) error

// Wildcard subscribes to every public event of the enabled modules.
const Wildcard = "*"

// Subscriptions is the routing table: which module receives which event, and
// with which handler. It is built once at start-up and then only read.
type Subscriptions struct {
	exact    map[string][]string // event type -> subscriber modules
	wildcard []string
	public   map[string]bool
	handlers map[string]Handler // "<module>\x00<event type or *>"
}

// NewSubscriptions returns an empty table; public lists the event types the
// enabled modules declare, which wildcard subscribers receive.
func NewSubscriptions(public []string) *Subscriptions {
	s := &Subscriptions{exact: map[string][]string{}, public: map[string]bool{}, handlers: map[string]Handler{}}
	for _, t := range public {
		s.public[t] = true
	}
	return s
}

// Add routes eventType (or Wildcard) to module's handler.
func (s *Subscriptions) Add(module, eventType string, h Handler) error {
	key := module + "\x00" + eventType
	if _, dup := s.handlers[key]; dup {
		return fmt.Errorf("module %s subscribes to %q twice", module, eventType)
	}
	if eventType == "" || strings.ContainsAny(eventType, " \t:") {
		return fmt.Errorf("module %s subscribes to %q: an event type is a non-empty name without spaces or colons", module, eventType)
	}
	s.handlers[key] = h
	if eventType == Wildcard {
		s.wildcard = append(s.wildcard, module)
		sort.Strings(s.wildcard)
	} else {
		s.exact[eventType] = append(s.exact[eventType], module)
		sort.Strings(s.exact[eventType])
	}
	return nil
}

// Subscribers lists the modules that receive eventType, each once.
func (s *Subscriptions) Subscribers(eventType string) []string {
	out := append([]string(nil), s.exact[eventType]...)
	if s.public[eventType] {
		for _, m := range s.wildcard {
			if _, ok := s.handlers[m+"\x00"+eventType]; !ok {
				out = append(out, m)
			}
		}
	}
	sort.Strings(out)
	return out
}

// JobHandler resolves an event-delivery task type ("<module>:event:<type>")
// to a job handler; it serves as the job mux's fallback.
func (s *Subscriptions) JobHandler(taskType string) (jobs.Handler, bool) {
	module, rest, ok := strings.Cut(taskType, ":")
	if !ok {
		return nil, false
	}
	eventType, ok := strings.CutPrefix(rest, jobs.EventPrefix)
	if !ok {
		return nil, false
	}
	h, ok := s.handlers[module+"\x00"+eventType]
	if !ok {
		h, ok = s.handlers[module+"\x00"+Wildcard]
	}
	if !ok {
		return nil, false
	}
	return func(ctx context.Context, t *asynq.Task) error {
		var ev Event
		if _, err := jobs.Decode(t, &ev); err != nil {
			return err
		}
		return h(ctx, ev)
	}, true
}
