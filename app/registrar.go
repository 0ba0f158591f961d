package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/health"
	"github.com/veza/veza/platform/jobs"
	"github.com/veza/veza/platform/openapi"
)

// APIPrefix is where module routes are mounted unless they ask for the root.
const APIPrefix = "/api/v1"

// Route is one HTTP route a module contributes.
type Route struct {
	Module  string
	Method  string
	Path    string // full path, prefix included
	Handler fiber.Handler
	// Auth requires a valid bearer token; Roles, when set, one of them.
	Auth  bool
	Roles []string
	// OptionalAuth identifies the caller when a token is sent.
	OptionalAuth bool
	// BodyLimit overrides BODY_LIMIT for this route; Stream leaves the body
	// unread for the handler to stream (uploads), still refusing a declared
	// Content-Length above BodyLimit.
	BodyLimit int64
	Stream    bool
	// Stall ends a streamed body that delivers nothing for that long with
	// 408 upload_stalled; 0: only the server's read timeout.
	Stall time.Duration
	// Timeout replaces HANDLER_TIMEOUT for this route (uploads).
	Timeout    time.Duration
	Middleware []fiber.Handler
	// Secret names path parameters that are credentials (a share token):
	// the access log and error logs show them as [redacted].
	Secret []string
	Doc    openapi.Operation
	// NoRateLimit exempts the route from the per-address rate limit.
	NoRateLimit bool
	// apiKey marks a route that checks the internal API key itself.
	apiKey bool
}

// RouteOption adjusts a route at registration.
type RouteOption func(*Route)

// Summary documents the route in one line.
func Summary(s string) RouteOption { return func(r *Route) { r.Doc.Summary = s } }

// Description documents the route at length.
func Description(s string) RouteOption { return func(r *Route) { r.Doc.Description = s } }

// Authenticated requires a bearer token.
func Authenticated() RouteOption { return func(r *Route) { r.Auth = true } }

// OptionalAuthentication identifies callers that send a token and admits
// anonymous ones.
func OptionalAuthentication() RouteOption { return func(r *Route) { r.OptionalAuth = true } }

// RequireRoles requires a bearer token with one of roles (admin passes all).
func RequireRoles(roles ...string) RouteOption {
	return func(r *Route) { r.Auth, r.Roles = true, append(r.Roles, roles...) }
}

// BodyLimit sets the largest body the route accepts, in bytes.
func BodyLimit(n int64) RouteOption { return func(r *Route) { r.BodyLimit = n } }

// StreamBody leaves the body to the handler, which reads it as it arrives
// with httpx.Body, refusing a declared Content-Length above max.
func StreamBody(max int64) RouteOption {
	return func(r *Route) { r.Stream, r.BodyLimit = true, max }
}

// StallTimeout ends a streamed body (StreamBody) that delivers nothing for
// d with 408 upload_stalled, from the moment the request's headers are read:
// a client that stops sending without closing its connection would
// otherwise hold the handler (and whatever it reserved, such as an upload
// slot) for the whole handler timeout. The handler reads the body with
// httpx.Body, which also turns a connection closed before the announced
// Content-Length into io.ErrUnexpectedEOF.
func StallTimeout(d time.Duration) RouteOption { return func(r *Route) { r.Stall = d } }

// HandlerTimeout gives the route its own deadline instead of
// HANDLER_TIMEOUT: long uploads and downloads need more.
func HandlerTimeout(d time.Duration) RouteOption { return func(r *Route) { r.Timeout = d } }

// SecretParam marks path parameters that are credentials (share tokens,
// signed ids): logs show [redacted] in their place. Metrics label requests
// by route pattern and never see values.
func SecretParam(names ...string) RouteOption {
	return func(r *Route) { r.Secret = append(r.Secret, names...) }
}

// NoRateLimit exempts the route from the per-address rate limit
// (RATE_LIMIT_LIMIT): for callbacks authenticated by their own signature,
// sent in bursts from a few addresses (a payment provider's webhooks). The
// route must bound its own work.
func NoRateLimit() RouteOption { return func(r *Route) { r.NoRateLimit = true } }

// InternalKey documents that the route authenticates the caller with the
// X-Internal-API-Key header (checked by the handler: Veza's own services).
func InternalKey() RouteOption { return func(r *Route) { r.apiKey = true } }

// OperationID names the operation "<module>.<name>" in the OpenAPI
// document. By default the name is the handler method's ("list" for
// h.list); closures need this option.
func OperationID(name string) RouteOption {
	return func(r *Route) { r.Doc.ID = r.Module + "." + name }
}

// PathParam documents a path parameter: its schema (a Go value or a JSON
// schema map) and description. Undocumented ones are strings, with format
// uuid when named id or *_id.
func PathParam(name, description string, schema any) RouteOption {
	return func(r *Route) {
		if r.Doc.PathParams == nil {
			r.Doc.PathParams = map[string]openapi.Param{}
		}
		r.Doc.PathParams[name] = openapi.Param{Name: name, Description: description, Schema: schema}
	}
}

// RequestRequires marks request body fields the handler requires that
// its type does not mark with `validate:"required"` (an input type shared
// by create and update, say).
func RequestRequires(fields ...string) RouteOption {
	return func(r *Route) { r.Doc.RequestRequired = append(r.Doc.RequestRequired, fields...) }
}

// Use adds middleware in front of the handler.
func Use(mw ...fiber.Handler) RouteOption {
	return func(r *Route) { r.Middleware = append(r.Middleware, mw...) }
}

// RequestBody documents the JSON body (a Go value or a JSON schema map).
func RequestBody(v any) RouteOption { return func(r *Route) { r.Doc.Request = v } }

// RequestContentType documents a non-JSON body (e.g. multipart/form-data).
func RequestContentType(ct string, schema any) RouteOption {
	return func(r *Route) { r.Doc.Request, r.Doc.RequestContentType = schema, ct }
}

// Response documents one answer.
func Response(status int, description string, v any) RouteOption {
	return func(r *Route) {
		if r.Doc.Responses == nil {
			r.Doc.Responses = map[int]openapi.Response{}
		}
		r.Doc.Responses[status] = openapi.Response{Description: description, Schema: v}
	}
}

// Query documents a query parameter.
func Query(name, description string, required bool) RouteOption {
	return func(r *Route) {
		r.Doc.Query = append(r.Doc.Query, openapi.Param{Name: name, Description: description, Required: required})
	}
}

// QueryParam documents a query parameter with its schema (a Go value or a
// JSON schema map: {"type": "integer", "minimum": 1}).
func QueryParam(name, description string, required bool, schema any) RouteOption {
	return func(r *Route) {
		r.Doc.Query = append(r.Doc.Query, openapi.Param{Name: name, Description: description, Required: required, Schema: schema})
	}
}

// QueryEnum documents a query parameter that takes one of values.
func QueryEnum(name, description string, values ...string) RouteOption {
	enum := make([]any, len(values))
	for i, v := range values {
		enum[i] = v
	}
	return QueryParam(name, description, false, map[string]any{"type": "string", "enum": enum})
}

// QueryUUID documents a query parameter holding an id.
func QueryUUID(name, description string) RouteOption {
	return QueryParam(name, description, false, map[string]any{"type": "string", "format": "uuid"})
}

// Paged documents a keyset-paged list's ?limit= and ?cursor= (package
// page reads them).
func Paged() RouteOption {
	return func(r *Route) {
		QueryParam("limit", "items per page", false,
			map[string]any{"type": "integer", "minimum": 1, "maximum": 100, "default": 20})(r)
		QueryParam("cursor", "next_cursor of the previous page; absent for the first page", false,
			map[string]any{"type": "string"})(r)
	}
}

// BinaryResponse documents an answer whose body is not JSON, in each of
// mediaTypes ("audio/*", "application/octet-stream").
func BinaryResponse(status int, description string, mediaTypes ...string) RouteOption {
	return func(r *Route) {
		if r.Doc.Responses == nil {
			r.Doc.Responses = map[int]openapi.Response{}
		}
		r.Doc.Responses[status] = openapi.Response{Description: description, ContentType: strings.Join(mediaTypes, ",")}
	}
}

// Header documents a request header.
func Header(name, description string, required bool) RouteOption {
	return func(r *Route) {
		r.Doc.Headers = append(r.Doc.Headers, openapi.Param{Name: name, Description: description, Required: required})
	}
}

// AtRoot mounts the route at its path as given instead of under /api/v1
// (dashboards, callbacks with fixed URLs).
func AtRoot() RouteOption { return func(r *Route) { r.Path = strings.TrimPrefix(r.Path, APIPrefix) } }

// Job is a task handler a module contributes.
type Job struct {
	Module  string
	Type    string
	Handler jobs.Handler
	// RetryDelay, when set, decides how long asynq waits before retry n
	// (1-based) of a failed task of this type; asynq's backoff otherwise.
	RetryDelay jobs.RetryDelay
}

// JobOption adjusts a job at registration.
type JobOption func(*Job)

// WithRetryDelay sets the job's retry schedule.
func WithRetryDelay(d jobs.RetryDelay) JobOption { return func(j *Job) { j.RetryDelay = d } }

// Schedule is a periodic task a module contributes.
type Schedule struct {
	Module string
	jobs.Schedule
}

// Subscription is an event handler a module contributes.
type Subscription struct {
	Module    string
	EventType string
	Handler   events.Handler
}

// Command is a CLI command a module contributes ("veza user create ...").
type Command struct {
	Module string
	// Name is one or two words ("user create").
	Name    string
	Summary string
	Run     CommandFunc
}

// CommandFunc runs a module command with the arguments after its name. It
// writes its result to out; an error is printed as "veza: <error>" and the
// process exits 1 (2 when the error wraps ErrUsage).
type CommandFunc func(ctx context.Context, args []string, out io.Writer) error

// ErrUsage marks command errors caused by wrong arguments.
var ErrUsage = errors.New("usage")

// Contributions is everything the enabled modules registered.
type Contributions struct {
	Commands      []Command
	Routes        []Route
	Jobs          []Job
	Schedules     []Schedule
	Subscriptions []Subscription
	Backgrounds   []Background
	Checks        []health.Check
	Components    []map[string]any
}

// registry collects the modules' contributions while fx builds the graph, and
// is frozen before anything starts.
type registry struct {
	mu     sync.Mutex
	frozen bool
	c      Contributions
	errs   []string
}

func (g *registry) add(fn func(c *Contributions) error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.frozen {
		g.errs = append(g.errs, "a contribution was registered after start-up began; register from the module's fx.Invoke")
		return
	}
	if err := fn(&g.c); err != nil {
		g.errs = append(g.errs, err.Error())
	}
}

// freeze stops registration and checks the whole: conflicting routes, jobs
// and schedules of unknown jobs.
func (g *registry) freeze() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.frozen = true
	problems := append([]string(nil), g.errs...)
	problems = append(problems, routeConflicts(g.c.Routes)...)
	problems = append(problems, jobConflicts(g.c.Jobs)...)
	known := map[string]bool{}
	for _, j := range g.c.Jobs {
		known[j.Type] = true
	}
	for _, s := range g.c.Schedules {
		if !known[s.TaskType] {
			problems = append(problems, fmt.Sprintf("module %s schedules %q, which no enabled module handles; fix: register the job with Registrar.Job", s.Module, s.TaskType))
		}
	}
	if len(problems) > 0 {
		return &PlanError{Problems: problems}
	}
	return nil
}

func (g *registry) contributions() Contributions {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.c
}

// routeKey identifies a route for conflicts: parameter names do not matter
// (/tracks/:id and /tracks/:track_id are the same route to the router).
func routeKey(method, path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = ":"
			if strings.HasSuffix(s, "?") {
				segs[i] = ":?"
			}
		}
	}
	return method + " " + strings.Join(segs, "/")
}

func routeConflicts(routes []Route) []string {
	seen := map[string]Route{}
	var out []string
	for _, r := range routes {
		k := routeKey(r.Method, r.Path)
		if prev, dup := seen[k]; dup {
			out = append(out, fmt.Sprintf("modules %s and %s both register %s %s; fix: change one path or disable one module", prev.Module, r.Module, r.Method, r.Path))
			continue
		}
		seen[k] = r
	}
	return out
}

func jobConflicts(js []Job) []string {
	seen := map[string]string{}
	var out []string
	for _, j := range js {
		if prev, dup := seen[j.Type]; dup {
			if prev == j.Module {
				out = append(out, fmt.Sprintf("module %s registers job type %s twice; fix: register it once", prev, j.Type))
			} else {
				out = append(out, fmt.Sprintf("modules %s and %s both handle job type %s; fix: rename one", prev, j.Module, j.Type))
			}
			continue
		}
		seen[j.Type] = j.Module
	}
	return out
}

// PrefixConflicts reports job types that are a prefix of another module's
// type: harmless with Veza's exact dispatcher, but a trap for anyone routing
// them with asynq's prefix-matching ServeMux (hibiken/asynq#266).
func PrefixConflicts(js []Job) []string {
	types := make([]Job, len(js))
	copy(types, js)
	sort.Slice(types, func(i, j int) bool { return types[i].Type < types[j].Type })
	var out []string
	for i, a := range types {
		for _, b := range types[i+1:] {
			if a.Module != b.Module && strings.HasPrefix(b.Type, a.Type) {
				out = append(out, fmt.Sprintf("job type %s (module %s) is a prefix of %s (module %s)", a.Type, a.Module, b.Type, b.Module))
			}
		}
	}
	return out
}

// Registrar is a module's handle for contributing to the platform. Each
// module gets its own, naming it; call it from the module's fx.Invoke.
type Registrar struct {
	module string
	reg    *registry
}

// Module is the name of the module this registrar belongs to.
func (r *Registrar) Module() string { return r.module }

// Handle registers a route. path is relative to /api/v1 (see AtRoot).
func (r *Registrar) Handle(method, path string, h fiber.Handler, opts ...RouteOption) {
	rt := Route{Module: r.module, Method: strings.ToUpper(method), Path: APIPrefix + path, Handler: h}
	for _, o := range opts {
		o(&rt)
	}
	rt.Doc.Method, rt.Doc.Path, rt.Doc.Module = rt.Method, rt.Path, r.module
	rt.Doc.Roles = rt.Roles
	switch {
	case rt.Auth:
		rt.Doc.Security = openapi.Bearer
	case rt.OptionalAuth:
		rt.Doc.Security = openapi.OptionalBearer
	case rt.Doc.Security == openapi.Public && rt.apiKey:
		rt.Doc.Security = openapi.APIKey
	}
	if rt.Doc.ID == "" {
		if name := handlerName(h); name != "" {
			rt.Doc.ID = r.module + "." + name
		}
	}
	r.reg.add(func(c *Contributions) error {
		if !strings.HasPrefix(path, "/") {
			return fmt.Errorf("module %s: route path %q must start with /", r.module, path)
		}
		if h == nil {
			return fmt.Errorf("module %s: route %s %s has no handler", r.module, method, path)
		}
		if rt.Stall != 0 && (!rt.Stream || rt.Stall < 0) {
			return fmt.Errorf("module %s: route %s %s: StallTimeout needs StreamBody and a positive duration", r.module, method, path)
		}
		for _, name := range rt.Secret {
			if !slices.Contains(strings.Split(rt.Path, "/"), ":"+name) {
				return fmt.Errorf("module %s: route %s %s marks %q secret, but the path has no parameter :%s", r.module, method, path, name, name)
			}
		}
		switch rt.Method {
		case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions:
		default:
			return fmt.Errorf("module %s: route %s %s: unsupported method", r.module, method, path)
		}
		c.Routes = append(c.Routes, rt)
		return nil
	})
}

// Get registers a GET route.
func (r *Registrar) Get(path string, h fiber.Handler, opts ...RouteOption) {
	r.Handle(http.MethodGet, path, h, opts...)
}

// Post registers a POST route.
func (r *Registrar) Post(path string, h fiber.Handler, opts ...RouteOption) {
	r.Handle(http.MethodPost, path, h, opts...)
}

// Put registers a PUT route.
func (r *Registrar) Put(path string, h fiber.Handler, opts ...RouteOption) {
	r.Handle(http.MethodPut, path, h, opts...)
}

// Patch registers a PATCH route.
func (r *Registrar) Patch(path string, h fiber.Handler, opts ...RouteOption) {
	r.Handle(http.MethodPatch, path, h, opts...)
}

// Delete registers a DELETE route.
func (r *Registrar) Delete(path string, h fiber.Handler, opts ...RouteOption) {
	r.Handle(http.MethodDelete, path, h, opts...)
}

// Job registers the handler of taskType, which must be "<module>:<name>".
func (r *Registrar) Job(taskType string, h jobs.Handler, opts ...JobOption) {
	j := Job{Module: r.module, Type: taskType, Handler: h}
	for _, o := range opts {
		o(&j)
	}
	r.reg.add(func(c *Contributions) error {
		if err := jobs.CheckType(r.module, taskType); err != nil {
			return err
		}
		if h == nil {
			return fmt.Errorf("module %s: job %s has no handler", r.module, taskType)
		}
		c.Jobs = append(c.Jobs, j)
		return nil
	})
}

// Schedule enqueues taskType (one of the module's jobs) on a cron spec
// ("@every 1m", "0 3 * * *"), once per slot however many workers run.
func (r *Registrar) Schedule(spec, taskType string, payload []byte) {
	r.reg.add(func(c *Contributions) error {
		if jobs.ModuleOf(taskType) != r.module {
			return fmt.Errorf("module %s schedules %q, which is not one of its jobs", r.module, taskType)
		}
		if _, err := jobs.ParseSpec(spec); err != nil {
			return fmt.Errorf("module %s: %w", r.module, err)
		}
		c.Schedules = append(c.Schedules, Schedule{Module: r.module, Schedule: jobs.Schedule{Spec: spec, TaskType: taskType, Payload: payload}})
		return nil
	})
}

// Subscribe delivers eventType (or events.Wildcard: every public event) to h
// through the module's queue.
func (r *Registrar) Subscribe(eventType string, h events.Handler) {
	r.reg.add(func(c *Contributions) error {
		if h == nil {
			return fmt.Errorf("module %s: subscription to %s has no handler", r.module, eventType)
		}
		for _, s := range c.Subscriptions {
			if s.Module == r.module && s.EventType == eventType {
				return fmt.Errorf("module %s subscribes to %q twice", r.module, eventType)
			}
		}
		c.Subscriptions = append(c.Subscriptions, Subscription{Module: r.module, EventType: eventType, Handler: h})
		return nil
	})
}

// HealthCheck adds a readiness probe; /readyz fails while it fails.
func (r *Registrar) HealthCheck(name string, fn func(ctx context.Context) error) {
	r.reg.add(func(c *Contributions) error {
		c.Checks = append(c.Checks, health.Check{Name: r.module + "." + name, Module: r.module, Fn: fn})
		return nil
	})
}

// OpenAPI merges a fragment into the document's components (e.g.
// {"schemas": {"Track": {...}}}).
func (r *Registrar) OpenAPI(components map[string]any) {
	r.reg.add(func(c *Contributions) error {
		c.Components = append(c.Components, components)
		return nil
	})
}

// Command adds a CLI command, run by `veza <name> [args]` with the module's
// services built (and migrations applied when MIGRATE_ON_START is true).
func (r *Registrar) Command(name, summary string, run CommandFunc) {
	r.reg.add(func(c *Contributions) error {
		words := strings.Fields(name)
		if len(words) == 0 || len(words) > 2 || run == nil {
			return fmt.Errorf("module %s: command %q must be one or two words with a function", r.module, name)
		}
		for _, prev := range c.Commands {
			if prev.Name == strings.Join(words, " ") {
				return fmt.Errorf("modules %s and %s both add the command %q", prev.Module, r.module, name)
			}
		}
		c.Commands = append(c.Commands, Command{Module: r.module, Name: strings.Join(words, " "), Summary: summary, Run: run})
		return nil
	})
}

// handlerName is the name of the method h is bound to ("list" for
// h.list), or "" for a closure or plain function.
func handlerName(h fiber.Handler) string {
	f := runtime.FuncForPC(reflect.ValueOf(h).Pointer())
	if f == nil {
		return ""
	}
	full := f.Name() // ".../modules/tracks.(*handler).list-fm"
	if !strings.HasSuffix(full, "-fm") {
		return ""
	}
	name := strings.TrimSuffix(full[strings.LastIndexByte(full, '.')+1:], "-fm")
	if name == "" || strings.HasPrefix(name, "func") {
		return ""
	}
	return name
}
