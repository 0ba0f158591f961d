package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"go.uber.org/zap"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/jobs"
	"github.com/veza/veza/platform/page"
)

// PingEvent is sent by POST /webhooks/:id/ping, whatever the subscription.
const PingEvent = "webhook.ping"

// Service holds the rules of endpoints.
type Service struct {
	store    *store
	settings *Settings
	env      config.Env
	catalog  []app.EventType
	known    map[string]bool
	queue    *jobs.Enqueuer
	log      *zap.Logger
	now      func() time.Time
}

func newService(st *store, s *Settings, cfg *config.Config, plan *app.Plan, queue *jobs.Enqueuer, log *zap.Logger) *Service {
	svc := &Service{store: st, settings: s, env: cfg.Env, queue: queue, log: log, now: time.Now, known: map[string]bool{}}
	for _, m := range plan.Enabled {
		for _, e := range m.Events {
			if e.Internal {
				continue // for by-name subscribers only, never sent out
			}
			svc.catalog = append(svc.catalog, e)
			svc.known[e.Type] = true
		}
	}
	sort.Slice(svc.catalog, func(i, j int) bool { return svc.catalog[i].Type < svc.catalog[j].Type })
	return svc
}

// Catalog lists the public events of the enabled modules.
func (s *Service) Catalog() []app.EventType { return s.catalog }

// EndpointInput is what creating or updating an endpoint takes; absent
// fields of an update stay as they are.
type EndpointInput struct {
	URL         *string   `json:"url" doc:"https in staging and production; a public address"`
	Events      *[]string `json:"events" doc:"event types from GET /webhooks/events; at least one"`
	Description *string   `json:"description"`
	Scope       *string   `json:"scope,omitempty" doc:"user (the default: events about the owner's things) or global (admins: every event)"`
	Enabled     *bool     `json:"enabled,omitempty" doc:"false pauses deliveries; true re-enables a disabled endpoint"`
}

func (s *Service) checkURL(raw string, v *httpx.Checker) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || len(raw) > 2000 || (u.Scheme != "https" && u.Scheme != "http") {
		v.Add("url", "must be an absolute http(s) URL of at most 2000 characters, without credentials")
		return
	}
	if u.Scheme == "http" && !s.env.IsLocal() {
		v.Add("url", "must use https")
		return
	}
	if s.settings.AllowPrivateTargets {
		return
	}
	if problem := checkHost(u.Hostname()); problem != "" {
		v.Add("url", problem)
	}
}

func (s *Service) checkEvents(events []string, v *httpx.Checker) []string {
	if len(events) == 0 || len(events) > 100 {
		v.Add("events", "list 1 to 100 event types (GET /webhooks/events lists them)")
		return nil
	}
	out := make([]string, 0, len(events))
	for _, e := range events {
		if !s.known[e] {
			v.Add("events", fmt.Sprintf("%q is not an event of this deployment's modules", e))
			continue
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	sort.Strings(out)
	return out
}

// Create makes an endpoint and returns it with its secret (shown once).
func (s *Service) Create(ctx context.Context, p *authn.Principal, in EndpointInput) (*Endpoint, error) {
	var v httpx.Checker
	if in.URL == nil {
		v.Add("url", "is required")
	} else {
		s.checkURL(*in.URL, &v)
	}
	var events []string
	if in.Events == nil {
		v.Add("events", "is required")
	} else {
		events = s.checkEvents(*in.Events, &v)
	}
	desc := ""
	if in.Description != nil {
		desc = *in.Description
		v.Check(len([]rune(desc)) <= 500, "description", "at most 500 characters")
	}
	scope := "user"
	if in.Scope != nil {
		scope = *in.Scope
		v.Check(scope == "user" || scope == "global", "scope", `must be "user" or "global"`)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if scope == "global" && !p.IsAdmin() {
		return nil, httpx.Forbidden("forbidden", "only admins may create global endpoints")
	}
	n, err := s.store.countEndpoints(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if n >= s.settings.MaxEndpoints {
		return nil, httpx.Conflict("too_many_endpoints", fmt.Sprintf("an account has at most %d endpoints", s.settings.MaxEndpoints))
	}
	e := &Endpoint{ID: uuid.Must(uuid.NewV7()), OwnerID: p.UserID, URL: *in.URL, Description: desc,
		Events: pq.StringArray(events), Scope: scope, Secret: newSecret()}
	if err := s.store.insertEndpoint(ctx, e); err != nil {
		return nil, err
	}
	return e, nil
}

// owned loads an endpoint of the caller; anyone else's is not found.
func (s *Service) owned(ctx context.Context, p *authn.Principal, id uuid.UUID) (*Endpoint, error) {
	e, err := s.store.endpoint(ctx, s.store.db, id)
	if errors.Is(err, errNotFound) || (err == nil && e.OwnerID != p.UserID) {
		return nil, httpx.NotFound("webhook not found")
	}
	return e, err
}

// Get returns one of the caller's endpoints.
func (s *Service) Get(ctx context.Context, p *authn.Principal, id uuid.UUID) (*Endpoint, error) {
	return s.owned(ctx, p, id)
}

// List returns a page of the caller's endpoints and the next cursor.
func (s *Service) List(ctx context.Context, p *authn.Principal, req page.Request[page.TimeID]) ([]Endpoint, string, error) {
	fetch := func(ctx context.Context, after *page.TimeID, n int) ([]Endpoint, error) {
		return s.store.endpointsPage(ctx, p.UserID, after, n)
	}
	return page.Fetch(ctx, req, fetch, func(e *Endpoint) page.TimeID { return page.TimeID{At: e.CreatedAt, ID: e.ID} })
}

// Update changes an endpoint; re-enabling it clears its failure record.
func (s *Service) Update(ctx context.Context, p *authn.Principal, id uuid.UUID, in EndpointInput) (*Endpoint, error) {
	e, err := s.owned(ctx, p, id)
	if err != nil {
		return nil, err
	}
	var v httpx.Checker
	if in.URL != nil {
		s.checkURL(*in.URL, &v)
		e.URL = *in.URL
	}
	if in.Events != nil {
		e.Events = pq.StringArray(s.checkEvents(*in.Events, &v))
	}
	if in.Description != nil {
		v.Check(len([]rune(*in.Description)) <= 500, "description", "at most 500 characters")
		e.Description = *in.Description
	}
	if in.Scope != nil && *in.Scope != e.Scope {
		v.Add("scope", "cannot be changed; create another endpoint")
	}
	if in.Enabled != nil {
		e.Enabled = *in.Enabled
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.store.updateEndpoint(ctx, e); err != nil {
		return nil, err
	}
	return e, nil
}

// Delete removes an endpoint and its deliveries.
func (s *Service) Delete(ctx context.Context, p *authn.Principal, id uuid.UUID) error {
	if _, err := s.owned(ctx, p, id); err != nil {
		return err
	}
	return s.store.deleteEndpoint(ctx, id)
}

// RotateSecret makes a new secret; the old one keeps signing, beside it,
// for RotationOverlap.
func (s *Service) RotateSecret(ctx context.Context, p *authn.Principal, id uuid.UUID) (*Endpoint, error) {
	if _, err := s.owned(ctx, p, id); err != nil {
		return nil, err
	}
	return s.store.rotateSecret(ctx, id, newSecret(), s.now().Add(s.settings.RotationOverlap))
}

// Deliveries returns a page of an endpoint's deliveries with their attempts.
func (s *Service) Deliveries(ctx context.Context, p *authn.Principal, id uuid.UUID, req page.Request[page.TimeID]) ([]Delivery, map[uuid.UUID][]Attempt, string, error) {
	if _, err := s.owned(ctx, p, id); err != nil {
		return nil, nil, "", err
	}
	fetch := func(ctx context.Context, after *page.TimeID, n int) ([]Delivery, error) {
		return s.store.deliveriesPage(ctx, id, after, n)
	}
	list, next, err := page.Fetch(ctx, req, fetch, func(d *Delivery) page.TimeID { return page.TimeID{At: d.CreatedAt, ID: d.ID} })
	if err != nil {
		return nil, nil, "", err
	}
	ids := make([]uuid.UUID, len(list))
	for i, d := range list {
		ids[i] = d.ID
	}
	attempts, err := s.store.attempts(ctx, ids)
	if err != nil {
		return nil, nil, "", err
	}
	return list, attempts, next, nil
}

// Redeliver sends a delivery again now, with the same webhook-id.
func (s *Service) Redeliver(ctx context.Context, p *authn.Principal, id, deliveryID uuid.UUID) (*Delivery, error) {
	if _, err := s.owned(ctx, p, id); err != nil {
		return nil, err
	}
	d, err := s.store.delivery(ctx, deliveryID)
	if errors.Is(err, errNotFound) || (err == nil && d.EndpointID != id) {
		return nil, httpx.NotFound("delivery not found")
	}
	if err != nil {
		return nil, err
	}
	if err := s.store.resetDelivery(ctx, d.ID); err != nil {
		return nil, err
	}
	if err := s.enqueue(ctx, d, "redeliver-"+uuid.NewString()); err != nil {
		return nil, err
	}
	return s.store.delivery(ctx, d.ID)
}

// Ping queues a webhook.ping delivery to the endpoint.
func (s *Service) Ping(ctx context.Context, p *authn.Principal, id uuid.UUID) (*Delivery, error) {
	e, err := s.owned(ctx, p, id)
	if err != nil {
		return nil, err
	}
	evID := uuid.Must(uuid.NewV7())
	body, err := eventBody(evID, PingEvent, s.now(), []byte(`{"webhook_id":"`+e.ID.String()+`"}`))
	if err != nil {
		return nil, err
	}
	d := &Delivery{ID: uuid.Must(uuid.NewV7()), EndpointID: e.ID, EventID: evID, EventType: PingEvent, Body: string(body)}
	if err := s.store.insertDelivery(ctx, d); err != nil {
		return nil, err
	}
	if err := s.enqueue(ctx, d, ""); err != nil {
		return nil, err
	}
	return s.store.delivery(ctx, d.ID)
}

// deliverTask is the payload of webhooks:deliver: everything a first
// attempt needs, so the fan-out writes nothing to the database and the
// delivery row is written with the attempt.
type deliverTask struct {
	DeliveryID uuid.UUID `json:"delivery_id"`
	EndpointID uuid.UUID `json:"endpoint_id"`
	EventID    uuid.UUID `json:"event_id"`
	EventType  string    `json:"event_type"`
	Body       string    `json:"body"`
}

// enqueue queues one delivery. Deliveries retry on asynq's schedule (set
// from retry_schedule), so one task carries a delivery through all its
// attempts; a redelivery is a new task with its own id.
func (s *Service) enqueue(ctx context.Context, d *Delivery, suffix string) error {
	id := d.ID.String()
	if suffix != "" {
		id += ":" + suffix
	}
	err := s.queue.Enqueue(ctx, DeliverJob, 1, deliverTask{DeliveryID: d.ID, EndpointID: d.EndpointID, EventID: d.EventID,
		EventType: d.EventType, Body: d.Body},
		jobs.TaskID(id), jobs.MaxRetry(len(s.settings.RetrySchedule)), jobs.Timeout(s.settings.Timeout+30*time.Second))
	if err != nil && !errors.Is(err, jobs.ErrDuplicate) {
		return httpx.Unavailable("queue_unavailable", "the delivery queue is unreachable; try again", err)
	}
	return nil
}
