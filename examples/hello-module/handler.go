package hello

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/veza/veza/platform/httpx"
)

// MaxNameLength is the longest name POST /hello accepts, in characters.
const MaxNameLength = 100

// handler is the module's HTTP layer: decode, validate, call the service,
// answer.
type handler struct {
	svc *service
	pop *popular
}

func newHandler(svc *service, pop *popular) *handler { return &handler{svc: svc, pop: pop} }

// greetRequest is the body of POST /hello.
type greetRequest struct {
	Name string `json:"name" validate:"required" doc:"who to greet, 1 to 100 characters"`
}

// greet handles POST /hello.
func (h *handler) greet(c *fiber.Ctx) error {
	var in greetRequest
	if err := httpx.Bind(c, &in); err != nil {
		return err
	}
	name := strings.TrimSpace(in.Name)
	var v httpx.Checker
	v.Check(name != "", "name", "is required")
	v.Check(utf8.RuneCountInString(name) <= MaxNameLength, "name", "must be at most 100 characters")
	if err := v.Err(); err != nil {
		return err
	}
	g, err := h.svc.Greet(c.UserContext(), name)
	if err != nil {
		return err
	}
	return httpx.Created(c, g)
}

// get handles GET /hello/:id.
func (h *handler) get(c *fiber.Ctx) error {
	id, err := uuid.Parse(c.Params("id"))
	if err != nil {
		return httpx.BadRequest("invalid_id", "id must be a UUID")
	}
	g, err := h.svc.Greeting(c.UserContext(), id)
	if errors.Is(err, errNotFound) {
		return httpx.NotFound("greeting not found")
	}
	if err != nil {
		return err
	}
	return httpx.OK(c, g)
}

// popular handles GET /hello/popular from memory.
func (h *handler) popular(c *fiber.Ctx) error {
	return httpx.OK(c, h.pop.list())
}
