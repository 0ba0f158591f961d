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

// EndpointView is an endpoint as its owner sees it. Its secret is shown
// only by the answers that make one (EndpointWithSecret).
type EndpointView struct {
	ID             uuid.UUID  `json:"id"`
	URL            string     `json:"url"`
	Description    string     `json:"description"`
	Events         []string   `json:"events"`
	Scope          string     `json:"scope"`
	Enabled        bool       `json:"enabled"`
	DisabledReason *string    `json:"disabled_reason"`
	DisabledAt     *time.Time `json:"disabled_at"`
	FailingSince   *time.Time `json:"failing_since"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// EndpointWithSecret is what creating an endpoint and rotating its secret
// answer: the endpoint and its signing secret, shown this once.
type EndpointWithSecret struct {
	EndpointView
	Secret string `json:"secret" doc:"whsec_ followed by the base64 of 32 random bytes; shown only in this answer"`
	// PreviousSecretExpiresAt is when the secret before a rotation stops
	// signing; null after a creation.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
}

func view(e *Endpoint) EndpointView {
	return EndpointView{ID: e.ID, URL: e.URL, Description: e.Description, Events: []string(e.Events), Scope: e.Scope,
		Enabled: e.Enabled, DisabledReason: e.DisabledReason, DisabledAt: e.DisabledAt, FailingSince: e.FailingSince,
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
}

func withSecret(e *Endpoint) EndpointWithSecret {
	return EndpointWithSecret{EndpointView: view(e), Secret: e.Secret, PreviousSecretExpiresAt: e.PreviousSecretExpiresAt}
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
	auth := app.Authenticated()
	r.Get("/webhooks/events", h.events, app.Summary("the event types of the enabled modules"),
		app.Response(200, "the catalogue, by type", []app.EventType{}))
	r.Post("/webhooks", h.create, auth, app.Summary("create an endpoint; the answer holds its secret, shown once"),
		app.RequestBody(EndpointInput{}), app.RequestRequires("url", "events"),
		app.Response(201, "the endpoint with its secret", EndpointWithSecret{}),
		app.Response(409, "too_many_endpoints: the owner has max_endpoints already", nil))
	r.Get("/webhooks", h.list, auth, app.Summary("the caller's endpoints, newest first"), app.Paged(),
		app.Response(200, "a page of endpoints", httpx.PageData[EndpointView]{}))
	r.Get("/webhooks/:id", h.get, auth, app.Summary("one endpoint"), app.Response(200, "the endpoint", EndpointView{}))
	r.Put("/webhooks/:id", h.update, auth, app.Summary("change an endpoint (url, events, description, enabled); absent fields stay"),
		app.RequestBody(EndpointInput{}), app.Response(200, "the endpoint", EndpointView{}))
	r.Delete("/webhooks/:id", h.delete, auth, app.Summary("delete an endpoint and its deliveries"),
		app.Response(204, "deleted", nil))
	r.Post("/webhooks/:id/ping", h.ping, auth, app.Summary("send a webhook.ping delivery"),
		app.Response(202, "the queued delivery", DeliveryView{}))
	r.Post("/webhooks/:id/rotate-secret", h.rotate, auth,
		app.Summary("new secret; the previous one keeps signing beside it for rotation_overlap"),
		app.Response(200, "the endpoint with its new secret", EndpointWithSecret{}))
	r.Get("/webhooks/:id/deliveries", h.deliveries, auth, app.Summary("deliveries with their attempts, newest first"), app.Paged(),
		app.Response(200, "a page of deliveries", httpx.PageData[DeliveryView]{}))
	r.Post("/webhooks/:id/deliveries/:delivery_id/redeliver", h.redeliver, auth,
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
	return httpx.Created(c, withSecret(e))
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
		out[i] = view(&list[i])
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
	return httpx.OK(c, view(e))
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
	return httpx.OK(c, view(e))
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
	return httpx.OK(c, withSecret(e))
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
