package webhooks

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/page"
)

type handler struct{ svc *Service }

// EndpointView is an endpoint as its owner sees it; Secret is set only when
// the endpoint is created or its secret rotated.
type EndpointView struct {
	ID                      uuid.UUID  `json:"id"`
	URL                     string     `json:"url"`
	Description             string     `json:"description"`
	Events                  []string   `json:"events"`
	Scope                   string     `json:"scope"`
	Enabled                 bool       `json:"enabled"`
	DisabledReason          *string    `json:"disabled_reason"`
	DisabledAt              *time.Time `json:"disabled_at"`
	FailingSince            *time.Time `json:"failing_since"`
	Secret                  string     `json:"secret,omitempty"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

func view(e *Endpoint, withSecret bool) EndpointView {
	v := EndpointView{ID: e.ID, URL: e.URL, Description: e.Description, Events: []string(e.Events), Scope: e.Scope,
		Enabled: e.Enabled, DisabledReason: e.DisabledReason, DisabledAt: e.DisabledAt, FailingSince: e.FailingSince,
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
	if withSecret {
		v.Secret = e.Secret
		v.PreviousSecretExpiresAt = e.PreviousSecretExpiresAt
	}
	return v
}

// DeliveryView is one delivery with its attempts.
type DeliveryView struct {
	ID             uuid.UUID  `json:"id"`
	EventID        uuid.UUID  `json:"event_id"`
	EventType      string     `json:"event_type"`
	Status         string     `json:"status"`
	Attempts       []Attempt  `json:"attempts"`
	LastStatusCode *int       `json:"last_status_code"`
	LastError      *string    `json:"last_error"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

func deliveryView(d Delivery, attempts []Attempt) DeliveryView {
	if attempts == nil {
		attempts = []Attempt{}
	}
	return DeliveryView{ID: d.ID, EventID: d.EventID, EventType: d.EventType, Status: d.Status, Attempts: attempts,
		LastStatusCode: d.LastStatusCode, LastError: d.LastError, NextAttemptAt: d.NextAttemptAt, CreatedAt: d.CreatedAt.UTC()}
}

func (h *handler) routes(r *app.Registrar) {
	r.Get("/webhooks/events", h.events, app.Summary("the event types of the enabled modules"))
	r.Post("/webhooks", h.create, app.Authenticated(), app.Summary("create an endpoint; the answer holds its secret, shown once"),
		app.RequestBody(EndpointInput{}), app.Response(201, "the endpoint with its secret", EndpointView{}))
	r.Get("/webhooks", h.list, app.Authenticated(), app.Summary("the caller's endpoints"))
	r.Get("/webhooks/:id", h.get, app.Authenticated(), app.Summary("one endpoint"), app.Response(200, "the endpoint", EndpointView{}))
	r.Put("/webhooks/:id", h.update, app.Authenticated(), app.Summary("change an endpoint (url, events, description, enabled)"),
		app.RequestBody(EndpointInput{}), app.Response(200, "the endpoint", EndpointView{}))
	r.Delete("/webhooks/:id", h.delete, app.Authenticated(), app.Summary("delete an endpoint and its deliveries"))
	r.Post("/webhooks/:id/ping", h.ping, app.Authenticated(), app.Summary("send a webhook.ping delivery"),
		app.Response(202, "the queued delivery", DeliveryView{}))
	r.Post("/webhooks/:id/rotate-secret", h.rotate, app.Authenticated(),
		app.Summary("new secret; the previous one keeps signing beside it for rotation_overlap"),
		app.Response(200, "the endpoint with its new secret", EndpointView{}))
	r.Get("/webhooks/:id/deliveries", h.deliveries, app.Authenticated(), app.Summary("deliveries with their attempts"))
	r.Post("/webhooks/:id/deliveries/:delivery_id/redeliver", h.redeliver, app.Authenticated(),
		app.Summary("send a delivery again, with the same webhook-id"), app.Response(202, "the queued delivery", DeliveryView{}))
}

func (h *handler) events(c *fiber.Ctx) error { return httpx.OK(c, h.svc.Catalog()) }

func (h *handler) create(c *fiber.Ctx) error {
	var in EndpointInput
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	e, err := h.svc.Create(c.UserContext(), authn.FromCtx(c), in)
	if err != nil {
		return err
	}
	return httpx.Created(c, view(e, true))
}

func (h *handler) list(c *fiber.Ctx) error {
	req, err := page.Read[page.TimeID](c)
	if err != nil {
		return err
	}
	list, next, err := h.svc.List(c.UserContext(), authn.FromCtx(c), req)
	if err != nil {
		return err
	}
	out := make([]EndpointView, len(list))
	for i := range list {
		out[i] = view(&list[i], false)
	}
	return httpx.Page(c, out, next)
}

func endpointID(c *fiber.Ctx) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return uuid.Nil, httpx.NotFound("webhook not found")
	}
	return id, nil
}

func (h *handler) get(c *fiber.Ctx) error {
	id, err := endpointID(c)
	if err != nil {
		return err
	}
	e, err := h.svc.Get(c.UserContext(), authn.FromCtx(c), id)
	if err != nil {
		return err
	}
	return httpx.OK(c, view(e, false))
}

func (h *handler) update(c *fiber.Ctx) error {
	id, err := endpointID(c)
	if err != nil {
		return err
	}
	var in EndpointInput
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	e, err := h.svc.Update(c.UserContext(), authn.FromCtx(c), id, in)
	if err != nil {
		return err
	}
	return httpx.OK(c, view(e, false))
}

func (h *handler) delete(c *fiber.Ctx) error {
	id, err := endpointID(c)
	if err != nil {
		return err
	}
	if err := h.svc.Delete(c.UserContext(), authn.FromCtx(c), id); err != nil {
		return err
	}
	return httpx.NoContent(c)
}

func (h *handler) ping(c *fiber.Ctx) error {
	id, err := endpointID(c)
	if err != nil {
		return err
	}
	d, err := h.svc.Ping(c.UserContext(), authn.FromCtx(c), id)
	if err != nil {
		return err
	}
	return httpx.Accepted(c, deliveryView(*d, nil))
}

func (h *handler) rotate(c *fiber.Ctx) error {
	id, err := endpointID(c)
	if err != nil {
		return err
	}
	e, err := h.svc.RotateSecret(c.UserContext(), authn.FromCtx(c), id)
	if err != nil {
		return err
	}
	return httpx.OK(c, view(e, true))
}

func (h *handler) deliveries(c *fiber.Ctx) error {
	id, err := endpointID(c)
	if err != nil {
		return err
	}
	req, err := page.Read[page.TimeID](c)
	if err != nil {
		return err
	}
	list, attempts, next, err := h.svc.Deliveries(c.UserContext(), authn.FromCtx(c), id, req)
	if err != nil {
		return err
	}
	out := make([]DeliveryView, len(list))
	for i, d := range list {
		out[i] = deliveryView(d, attempts[d.ID])
	}
	return httpx.Page(c, out, next)
}

func (h *handler) redeliver(c *fiber.Ctx) error {
	id, err := endpointID(c)
	if err != nil {
		return err
	}
	did, err := uuid.Parse(c.Params("delivery_id"))
	if err != nil {
		return httpx.NotFound("delivery not found")
	}
	d, err := h.svc.Redeliver(c.UserContext(), authn.FromCtx(c), id, did)
	if err != nil {
		return err
	}
	return httpx.Accepted(c, deliveryView(*d, nil))
}
