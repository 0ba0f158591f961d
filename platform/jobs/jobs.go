// Package jobs runs background work on asynq: the client that enqueues, the
// server that consumes exactly the enabled modules' queues, an exact-match
// dispatcher and a scheduler that is safe to run in several processes.
//
// Conventions: a task type is "<module>:<job>", its queue is "<module>", and
// its payload is JSON carrying a version ("v") so handlers can read tasks
// enqueued by an older release.
package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hibiken/asynq"
)

// Handler handles one task. It must be idempotent: asynq delivers at least
// once. Return asynq.SkipRetry (wrapped) for a task that can never succeed.
type Handler func(ctx context.Context, t *asynq.Task) error

// ModuleOf returns the module prefix of a task type ("tracks:process" ->
// "tracks"), or "" when there is none.
func ModuleOf(taskType string) string {
	m, _, ok := strings.Cut(taskType, ":")
	if !ok {
		return ""
	}
	return m
}

// CheckType verifies that taskType belongs to module and is well formed.
func CheckType(module, taskType string) error {
	rest, ok := strings.CutPrefix(taskType, module+":")
	if !ok || rest == "" {
		return fmt.Errorf("job type %q of module %s must be %q followed by a name", taskType, module, module+":")
	}
	if strings.HasPrefix(rest, EventPrefix) {
		return fmt.Errorf("job type %q of module %s uses the reserved prefix %q (event deliveries)", taskType, module, module+":"+EventPrefix)
	}
	for _, r := range rest {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' || r == ':') {
			return fmt.Errorf("job type %q of module %s: use lower-case letters, digits and _ . - : only", taskType, module)
		}
	}
	return nil
}

// EventPrefix follows "<module>:" in the task types that deliver events to a
// subscribing module: "<module>:event:<event type>".
const EventPrefix = "event:"

// EventTaskType is the task type delivering eventType to subscriber.
func EventTaskType(subscriber, eventType string) string {
	return subscriber + ":" + EventPrefix + eventType
}

// payload is the versioned JSON shape of every platform-made task payload.
type payload struct {
	V    int             `json:"v"`
	Data json.RawMessage `json:"data"`
}

// Encode marshals data as a versioned payload.
func Encode(version int, data any) ([]byte, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode task payload: %w", err)
	}
	return json.Marshal(payload{V: version, Data: raw})
}

// Decode reads a payload made by Encode into dst and returns its version. A
// payload that does not parse is a permanent failure (no retry can fix it).
//
// An empty payload (a scheduled task without one) decodes as version 0 and
// leaves dst untouched.
func Decode(t *asynq.Task, dst any) (int, error) {
	if len(t.Payload()) == 0 {
		return 0, nil
	}
	var p payload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return 0, fmt.Errorf("decode %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	if dst != nil && len(p.Data) > 0 {
		if err := json.Unmarshal(p.Data, dst); err != nil {
			return p.V, fmt.Errorf("decode %s payload v%d: %v: %w", t.Type(), p.V, err, asynq.SkipRetry)
		}
	}
	return p.V, nil
}

// NewTask builds a task of taskType with a versioned payload.
func NewTask(taskType string, version int, data any, opts ...asynq.Option) (*asynq.Task, error) {
	b, err := Encode(version, data)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(taskType, b, opts...), nil
}
