package admin

import (
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/authn"
)

// pprofTimeout is the deadline of a profiling request: a CPU profile or a
// trace runs for ?seconds= (30 by default).
const pprofTimeout = 2 * time.Minute

func (h *handler) pprofRoutes(r *app.Registrar, admin app.RouteOption) {
	profile := app.PathParam("wildcard", "the profile: allocs, block, cmdline, goroutine, heap, mutex, profile (CPU), symbol, threadcreate, trace", nil)
	r.Get("/admin/debug/pprof/", h.pprof, admin, app.Summary("the profiles of this process (net/http/pprof's index)"),
		app.OperationID("pprofIndex"),
		app.BinaryResponse(200, "the index page, linking every profile", "text/html"))
	r.Get("/admin/debug/pprof/*", h.pprof, admin, app.Summary("one profile of this process, as net/http/pprof serves it (go tool pprof reads it)"),
		app.Description("Each request is audited (admin.profiled). profile and trace run for ?seconds= (30 by default, within 2 minutes)."),
		profile,
		app.QueryParam("debug", "1 or 2: text instead of the binary format", false, map[string]any{"type": "integer", "minimum": 0, "maximum": 2}),
		app.QueryParam("seconds", "how long profile and trace run, and the delta of other profiles", false, map[string]any{"type": "integer", "minimum": 1, "maximum": 110}),
		app.QueryParam("gc", "1: run a garbage collection before the heap profile", false, map[string]any{"type": "integer"}),
		app.HandlerTimeout(pprofTimeout),
		app.BinaryResponse(200, "the profile: binary (application/octet-stream), or text with ?debug=", "application/octet-stream", "text/plain"),
		app.Response(404, "no profile has this name", nil))
	r.Post("/admin/debug/pprof/symbol", h.pprof, admin, app.Summary("look program counters up (go tool pprof's symbol requests)"),
		app.OperationID("pprofSymbol"),
		app.RequestContentType("text/plain", map[string]any{"type": "string", "description": "program counters in hex, separated by +"}),
		app.BinaryResponse(200, "the symbols", "text/plain"))
}

// pprof serves net/http/pprof through Fiber's adaptor. The profiles'
// names come from the route, not from the handler's own URL matching,
// which expects /debug/pprof/ at the root.
func (h *handler) pprof(c *fiber.Ctx) error {
	name := strings.TrimPrefix(strings.TrimPrefix(c.Path(), "/api/v1/admin/debug/pprof"), "/")
	var serve http.Handler
	switch name {
	case "":
		serve = http.HandlerFunc(pprof.Index)
	case "cmdline":
		serve = http.HandlerFunc(pprof.Cmdline)
	case "profile":
		serve = http.HandlerFunc(pprof.Profile)
	case "symbol":
		serve = http.HandlerFunc(pprof.Symbol)
	case "trace":
		serve = http.HandlerFunc(pprof.Trace)
	default:
		serve = pprof.Handler(name) // unknown names answer 404
	}
	e := audit.Entry{ActorID: &authn.FromCtx(c).UserID, Action: ActionProfiled, Module: Name, Success: true,
		TargetType: "profile", TargetID: strings.Clone(name)}.With(audit.FromRequest(c))
	if err := audit.Write(c.UserContext(), h.pool, e); err != nil {
		return err
	}
	return adaptor.HTTPHandler(serve)(c)
}
