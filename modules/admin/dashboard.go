package admin

import (
	"bytes"
	"net/url"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/hibiken/asynqmon"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/auth/authapi"
	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/httpx"
)

// dashboardPath is where the asynq dashboard is served, outside /api/v1.
const dashboardPath = "/admin/jobs"

// dashboard serves asynqmon behind a sign-in of its own: a browser sends
// no bearer token, so the dashboard keeps a session in a cookie that only
// admins get (see sessions), and protects the pages and asynqmon's own API
// calls with it.
type dashboard struct {
	mon      fiber.Handler
	sessions *sessions
	accounts authapi.Accounts
	queues   *queues
	pool     *sqlx.DB
	readOnly bool
	// publicHost is APP_PUBLIC_URL's host: behind a proxy that rewrites
	// Host, the Origin of the dashboard's own requests is this one.
	publicHost string
	log        *zap.Logger
}

func newDashboard(rdb redis.UniversalClient, s *sessions, accounts authapi.Accounts, q *queues, pool *sqlx.DB,
	cfg *config.Config, st *Settings, log *zap.Logger) *dashboard {
	readOnly := st.readOnly(cfg.Env)
	mon := asynqmon.New(asynqmon.Options{RootPath: dashboardPath, RedisConnOpt: sharedRedis{rdb}, ReadOnly: readOnly})
	d := &dashboard{mon: adaptor.HTTPHandler(mon), sessions: s, accounts: accounts, queues: q, pool: pool,
		readOnly: readOnly, log: log}
	if u, err := url.Parse(cfg.PublicURL); err == nil {
		d.publicHost = u.Host
	}
	return d
}

// sharedRedis gives asynqmon the process's Redis client rather than the
// options it would open a client of its own with (a module opens no
// client). asynqmon's Close would close it: the dashboard never calls it.
type sharedRedis struct{ rdb redis.UniversalClient }

// MakeRedisClient implements asynq.RedisConnOpt.
func (s sharedRedis) MakeRedisClient() any { return s.rdb }

func (d *dashboard) routes(r *app.Registrar) {
	page := "the dashboard (asynqmon) for an admin's session; without one, the sign-in page (email and password)"
	cookie := "Authenticated by the dashboard's session cookie (veza_admin_session: HttpOnly, SameSite=Strict, Path=/admin, Max-Age 1800), " +
		"which POST /admin/jobs/sign-in sets for admins only; not by a bearer token."
	r.Get(dashboardPath, d.serve, app.AtRoot(), app.OperationID("dashboard"), app.Summary("the job dashboard, in a browser"),
		app.Description(cookie), app.BinaryResponse(200, page, "text/html"))
	r.Post(dashboardPath+"/sign-in", d.signIn, app.AtRoot(), app.Summary("sign in to the job dashboard (admins only)"),
		app.Description("The form of the sign-in page: the same throttling and answers as POST /api/v1/auth/login. "+
			"The form's csrf_token must match the veza_admin_csrf cookie the page set, and Origin must be this site."),
		app.RequestContentType("application/x-www-form-urlencoded", signInForm),
		app.Response(303, "signed in: to /admin/jobs, with the session cookie", nil),
		app.BinaryResponse(401, "wrong email or password: the sign-in page again", "text/html"),
		app.BinaryResponse(403, "not an admin, a banned account, an expired form or another site's: the sign-in page again", "text/html"),
		app.BinaryResponse(429, "too many failed sign-ins from this address: the sign-in page again, with Retry-After", "text/html"))
	r.Post(dashboardPath+"/sign-out", d.signOut, app.AtRoot(), app.Summary("end the job dashboard's session"),
		app.Response(303, "signed out: to the sign-in page", nil),
		app.Response(403, "bad_origin: not sent from this site", nil))
	for _, method := range []string{fiber.MethodGet, fiber.MethodPost, fiber.MethodDelete} {
		r.Handle(method, dashboardPath+"/*", d.serve, app.AtRoot(), app.OperationID("dashboard"+strings.ToLower(method)),
			app.Summary("the job dashboard's pages, assets and API ("+method+")"),
			app.Description(cookie+" Requests that change something (POST, DELETE) must come from this site (Origin) and are audited; "+
				"with dashboard_read_only they are refused."),
			app.PathParam("wildcard", "a page, an asset, or api/... (asynqmon's API)", nil),
			app.BinaryResponse(200, "what asynqmon answers: pages (text/html), scripts, images, JSON", "*/*"),
			app.Response(401, "dashboard_sign_in_required: the dashboard's API without a session", nil),
			app.Response(403, "bad_origin (a change not sent from this site), dashboard_read_only", nil))
	}
}

// signInForm documents the sign-in form.
var signInForm = map[string]any{
	"type":     "object",
	"required": []any{"email", "password", "csrf_token"},
	"properties": map[string]any{
		"email":      map[string]any{"type": "string"},
		"password":   map[string]any{"type": "string", "format": "password"},
		"csrf_token": map[string]any{"type": "string", "description": "the hidden field of the sign-in page"},
	},
}

// serve answers a request to the dashboard: the sign-in page or 401
// without a session, asynqmon with one.
func (d *dashboard) serve(c *fiber.Ctx) error {
	acc, err := d.sessions.current(c)
	if err != nil {
		return err
	}
	api := strings.HasPrefix(c.Path(), dashboardPath+"/api/")
	change := c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead
	switch {
	case acc == nil && (api || change):
		return httpx.Unauthorized("dashboard_sign_in_required", "sign in at "+dashboardPath+" with an admin account first")
	case acc == nil:
		return d.signInPage(c, fiber.StatusOK, "", "")
	case change && !d.sameOrigin(c):
		return httpx.Forbidden("bad_origin", "changes to the jobs must come from the dashboard's own pages")
	case change && d.readOnly:
		return httpx.Forbidden("dashboard_read_only", "the dashboard is read-only in this deployment (dashboard_read_only)")
	}
	if err := d.mon(c); err != nil {
		return err
	}
	if change {
		e := audit.Entry{ActorID: &acc.ID, Action: ActionJobsChanged, Module: Name, Success: c.Response().StatusCode() < 400,
			TargetType: "jobs", TargetID: strings.Clone(c.Path()),
			Meta: map[string]any{"method": c.Method(), "status": c.Response().StatusCode()}}.With(audit.FromRequest(c))
		if err := audit.Write(c.UserContext(), d.pool, e); err != nil {
			return err
		}
	}
	return d.secure(c)
}

// secure sets the dashboard's Content-Security-Policy and caching on what
// asynqmon answered, and rewrites its page (see rewriteIndex).
func (d *dashboard) secure(c *fiber.Ctx) error {
	nonce := randomToken()
	c.Set(fiber.HeaderContentSecurityPolicy, dashboardCSP(nonce))
	c.Set(fiber.HeaderReferrerPolicy, samePolicy)
	if strings.HasPrefix(c.Path(), dashboardPath+"/static/") {
		c.Set(fiber.HeaderCacheControl, "private, max-age=86400") // file names carry their hash
	} else {
		c.Set(fiber.HeaderCacheControl, "no-store")
	}
	if !strings.HasPrefix(string(c.Response().Header.ContentType()), fiber.MIMETextHTML) {
		return nil
	}
	// The page lists the queues the SPA asks for next: make every queue
	// of this deployment known first. Without Redis the page shows an
	// error of its own.
	if err := d.queues.list(c.UserContext()); err != nil {
		d.log.Warn("the dashboard may miss queues never used", zap.Error(err))
	}
	c.Response().SetBodyRaw(rewriteIndex(c.Response().Body(), nonce))
	return nil
}

// dashboardCSP is the policy of asynqmon's pages, as strict as its build
// allows: its scripts and styles are files of this origin, but its page
// has two inline scripts (the settings asynqmon fills in, and webpack's
// loader) and its components (Material-UI, through JSS) add <style>
// elements as they render. Both are allowed by a nonce given per answer
// to exactly those scripts and, through the csp-nonce meta element JSS
// reads, to its styles; never 'unsafe-inline' or 'unsafe-eval'. Its API
// calls go to this origin (connect-src); nothing frames it.
func dashboardCSP(nonce string) string {
	return "default-src 'none'; script-src 'self' 'nonce-" + nonce + "'; style-src 'self' 'nonce-" + nonce + "'; " +
		"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; manifest-src 'self'; " +
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// fontLinks are the stylesheets asynqmon's page loads from Google Fonts
// (Roboto, Material Icons): dropped, so that an admin's browser calls no
// third party and the policy allows no other origin. The page renders in
// the system's sans-serif; its icons are SVG and need no font.
var fontLinks = regexp.MustCompile(`<link rel="stylesheet" href="https://fonts\.googleapis\.com/[^"]*"/?>`)

// rewriteIndex adapts asynqmon's page to the policy and the session: the
// nonce on its inline scripts and in the meta element JSS takes its nonce
// from, no Google Fonts, the manifest fetched with the session's cookie.
func rewriteIndex(page []byte, nonce string) []byte {
	out := fontLinks.ReplaceAll(page, nil)
	out = bytes.ReplaceAll(out, []byte("<script>"), []byte(`<script nonce="`+nonce+`">`))
	// A browser fetches the manifest without cookies unless told to: it
	// would get the sign-in page instead.
	out = bytes.Replace(out, []byte(`<link rel="manifest" `), []byte(`<link rel="manifest" crossorigin="use-credentials" `), 1)
	meta := []byte(`<meta property="csp-nonce" content="` + nonce + `"/>`)
	for _, after := range []string{`<meta charset="utf-8"/>`, "<head>"} {
		if i := bytes.Index(out, []byte(after)); i >= 0 {
			i += len(after)
			return append(out[:i:i], append(meta, out[i:]...)...)
		}
	}
	return out
}

// samePolicy is the Referrer-Policy of the dashboard's pages. The
// platform's no-referrer would make the browser send "Origin: null" with
// the pages' own form posts, which sameOrigin must refuse; same-origin
// still sends nothing to other sites.
const samePolicy = "same-origin"

// sameOrigin reports whether a request that changes something was sent by
// a page of this site: its Origin names this host (as the client reached
// it, or as APP_PUBLIC_URL says). A browser always sends Origin with such
// requests; SameSite=Strict already keeps the cookie from other sites'
// requests, this refuses the rest (a sibling subdomain, an old browser).
func (d *dashboard) sameOrigin(c *fiber.Ctx) bool {
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" || origin == "null" || c.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, string(c.Request().Host())) || (d.publicHost != "" && strings.EqualFold(u.Host, d.publicHost))
}
