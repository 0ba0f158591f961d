package admin_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/admin"
	"github.com/veza/veza/modules/auth"
)

// browser talks to the dashboard as a browser would: it keeps the cookies
// it is given (for /admin paths) and does not follow redirects, so that
// the test sees them.
type browser struct {
	srv     *apptest.Server
	client  *http.Client
	cookies map[string]*http.Cookie
	// origin is sent as Origin with requests that change something.
	origin string
	// ip is the client address (X-Forwarded-For).
	ip string
}

func newBrowser(srv *apptest.Server) *browser {
	c := *srv.Client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{srv: srv, client: &c, cookies: map[string]*http.Cookie{}, origin: srv.URL}
}

type page struct {
	status int
	header http.Header
	body   string
	set    map[string]*http.Cookie
}

func (b *browser) do(t *testing.T, method, path string, form url.Values) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method != http.MethodGet && b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	if b.ip != "" {
		req.Header.Set("X-Forwarded-For", b.ip)
	}
	for _, c := range b.cookies {
		if strings.HasPrefix(path, c.Path) {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
	}
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := page{status: res.StatusCode, header: res.Header, body: string(raw), set: map[string]*http.Cookie{}}
	for _, c := range res.Cookies() {
		p.set[c.Name] = c
		if c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return p
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signIn loads the sign-in page and posts its form.
func (b *browser) signIn(t *testing.T, email, pw string) page {
	t.Helper()
	p := b.do(t, "GET", "/admin/jobs", nil)
	m := csrfField.FindStringSubmatch(p.body)
	if p.status != 200 || m == nil {
		t.Fatalf("no sign-in form (status %d): %s", p.status, p.body)
	}
	return b.do(t, "POST", "/admin/jobs/sign-in", url.Values{"email": {email}, "password": {pw}, "csrf_token": {m[1]}})
}

// checkCookie fails unless c has the dashboard cookies' attributes.
func checkCookie(t *testing.T, c *http.Cookie, secure bool) {
	t.Helper()
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/admin" || c.MaxAge != 1800 || c.Secure != secure {
		t.Fatalf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/admin, Max-Age=1800, Secure=%v", c, secure)
	}
}

// The sign-in page, its CSRF protection, its answers to wrong passwords
// and to accounts that are not admins (no queue data), and an admin's
// session: its cookie, the dashboard under a strict policy, asynqmon's API
// behind the session, changes only from this site, audited, sign-out.
func TestDashboardSignIn(t *testing.T) {
	e := start(t, map[string]string{"VEZA_AUTH_MAX_FAILED_LOGINS_PER_IP": "3"})
	root := e.user(t, "root", "admin")
	plain := e.user(t, "plain", "user")
	b := newBrowser(e.Server)

	p := b.do(t, "GET", "/admin/jobs", nil)
	if p.status != 200 || !contains(p.body, `type="email" name="email"`, `type="password" name="password"`, `name="csrf_token"`) {
		t.Fatalf("sign-in page: %d %s", p.status, p.body)
	}
	checkCookie(t, p.set["veza_admin_csrf"], false)
	// Not the platform's no-referrer: with it the browser sends
	// "Origin: null" with the form, which the sign-in refuses.
	if rp := p.header.Get("Referrer-Policy"); rp != "same-origin" {
		t.Fatalf("sign-in page Referrer-Policy: %q", rp)
	}
	if csp := p.header.Get("Content-Security-Policy"); !contains(csp, "default-src 'none'", "style-src 'nonce-", "form-action 'self'") ||
		strings.Contains(csp, "unsafe") {
		t.Fatalf("sign-in page CSP: %s", csp)
	}
	// The dashboard's API and changes without a session.
	if r := b.do(t, "GET", "/admin/jobs/api/queues", nil); r.status != 401 || !strings.Contains(r.body, "dashboard_sign_in_required") {
		t.Fatalf("API without a session: %d %s", r.status, r.body)
	}
	if r := b.do(t, "DELETE", "/admin/jobs/api/queues/auth", nil); r.status != 401 {
		t.Fatalf("a change without a session: %d", r.status)
	}
	if r := b.do(t, "GET", "/admin/jobs/queues/auth", nil); r.status != 200 || !strings.Contains(r.body, `name="csrf_token"`) {
		t.Fatalf("a dashboard page without a session: %d", r.status)
	}

	// CSRF: the form's token must match its cookie, and Origin this site.
	form := url.Values{"email": {root.Email}, "password": {password}, "csrf_token": {"forged"}}
	if r := b.do(t, "POST", "/admin/jobs/sign-in", form); r.status != 403 || r.set["veza_admin_session"] != nil {
		t.Fatalf("forged CSRF token: %d", r.status)
	}
	b.origin = "https://evil.example"
	if r := b.signIn(t, root.Email, password); r.status != 403 || r.set["veza_admin_session"] != nil {
		t.Fatalf("another site's form: %d", r.status)
	}
	b.origin = ""
	if r := b.signIn(t, root.Email, password); r.status != 403 || r.set["veza_admin_session"] != nil {
		t.Fatalf("a form without Origin: %d", r.status)
	}
	b.origin = e.URL

	if r := b.signIn(t, root.Email, "wrong password"); r.status != 401 || !strings.Contains(r.body, "The email or the password is wrong") {
		t.Fatalf("wrong password: %d %s", r.status, r.body)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'auth.login_failed' AND actor_id = $1`, root.ID); n != 1 {
		t.Fatalf("wrong password audited %d times", n)
	}
	// Not an admin: 403, no session, no queue data.
	r := b.signIn(t, plain.Email, password)
	if r.status != 403 || r.set["veza_admin_session"] != nil || !strings.Contains(r.body, "not an admin") ||
		contains(r.body, "auth") && strings.Contains(r.body, "queue") {
		t.Fatalf("a user signing in: %d %v %s", r.status, r.set, r.body)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'admin.dashboard_sign_in' AND NOT success AND actor_id = $1`, plain.ID); n != 1 {
		t.Fatalf("refused sign-in audited %d times", n)
	}
	// The login's throttling: an address that failed too often is refused.
	b.ip = "203.0.113.50"
	for range 3 {
		b.signIn(t, "nobody@example.com", "wrong password")
	}
	if r := b.signIn(t, root.Email, password); r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("a throttled address: %d %v", r.status, r.header)
	}
	b.ip = ""

	// An admin: a session cookie, the dashboard.
	r = b.signIn(t, root.Email, password)
	if r.status != 303 || r.header.Get("Location") != "/admin/jobs" {
		t.Fatalf("admin sign-in: %d %s", r.status, r.body)
	}
	checkCookie(t, r.set["veza_admin_session"], false)
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'admin.dashboard_sign_in' AND success AND actor_id = $1`, root.ID); n != 1 {
		t.Fatalf("sign-in audited %d times", n)
	}
	ttl := e.Runtime.Redis().TTL(context.Background(), sessionKeys(t, e)[0]).Val()
	if ttl <= 29*time.Minute || ttl > 30*time.Minute {
		t.Fatalf("the session lives %s in Redis", ttl)
	}

	p = b.do(t, "GET", "/admin/jobs", nil)
	nonce := regexp.MustCompile(`<script nonce="([^"]+)">`).FindStringSubmatch(p.body)
	csp := p.header.Get("Content-Security-Policy")
	if p.status != 200 || nonce == nil || !contains(p.body, "Asynq - Monitoring", `window.FLAG_ROOT_PATH="\/admin\/jobs"`, `property="csp-nonce" content="`+nonce[1]+`"`, `<link rel="manifest" crossorigin="use-credentials"`) ||
		strings.Contains(p.body, "googleapis") || !contains(csp, "script-src 'self' 'nonce-"+nonce[1]+"'", "style-src 'self' 'nonce-"+nonce[1]+"'") ||
		strings.Contains(csp, "unsafe") || p.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("dashboard: %d\nCSP %s\n%s", p.status, csp, p.body)
	}
	script := regexp.MustCompile(`src="(/admin/jobs/static/js/main\.[^"]+\.js)"`).FindStringSubmatch(p.body)
	if script == nil {
		t.Fatalf("no main script in %s", p.body)
	}
	if js := b.do(t, "GET", script[1], nil); js.status != 200 || !strings.HasPrefix(js.header.Get("Content-Type"), "application/javascript") {
		t.Fatalf("the dashboard's script: %d %s", js.status, js.header.Get("Content-Type"))
	}
	var queues struct {
		Queues []struct {
			Queue string `json:"queue"`
		} `json:"queues"`
	}
	q := b.do(t, "GET", "/admin/jobs/api/queues", nil)
	if err := json.Unmarshal([]byte(q.body), &queues); q.status != 200 || err != nil {
		t.Fatalf("queues: %d %s", q.status, q.body)
	}
	var names []string
	for _, q := range queues.Queues {
		names = append(names, q.Queue)
	}
	if got := strings.Join(names, ","); !contains(","+got+",", ",platform,", ",auth,", ",admin,") {
		t.Fatalf("the dashboard lists %s", got)
	}

	// Changes: only from this site, audited.
	b.origin = ""
	if r := b.do(t, "POST", "/admin/jobs/api/queues/auth:pause", nil); r.status != 403 || !strings.Contains(r.body, "bad_origin") {
		t.Fatalf("a change without Origin: %d %s", r.status, r.body)
	}
	b.origin = "https://evil.example"
	if r := b.do(t, "POST", "/admin/jobs/api/queues/auth:pause", nil); r.status != 403 {
		t.Fatalf("a change from another site: %d", r.status)
	}
	b.origin = e.URL
	if r := b.do(t, "POST", "/admin/jobs/api/queues/auth:pause", nil); r.status >= 300 {
		t.Fatalf("pause: %d %s", r.status, r.body)
	}
	if r := b.do(t, "POST", "/admin/jobs/api/queues/auth:resume", nil); r.status >= 300 {
		t.Fatalf("resume: %d %s", r.status, r.body)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'admin.jobs_changed' AND actor_id = $1
		AND target_id IN ('/admin/jobs/api/queues/auth:pause', '/admin/jobs/api/queues/auth:resume')`, root.ID); n != 2 {
		t.Fatalf("changes audited %d times", n)
	}

	// The session cookie never goes to the API.
	if strings.HasPrefix("/api/v1/auth/me", b.cookies["veza_admin_session"].Path) {
		t.Fatal("the session cookie's path covers the API")
	}
	if r := b.do(t, "POST", "/admin/jobs/sign-out", nil); r.status != 303 || r.set["veza_admin_session"] == nil {
		t.Fatalf("sign-out: %d", r.status)
	}
	if len(sessionKeys(t, e)) != 0 {
		t.Fatal("the session outlived its sign-out")
	}
	if r := b.do(t, "GET", "/admin/jobs/api/queues", nil); r.status != 401 {
		t.Fatalf("after sign-out: %d", r.status)
	}
}

func sessionKeys(t *testing.T, e *env) []string {
	t.Helper()
	keys, err := e.Runtime.Redis().Keys(context.Background(), "veza:admin:dashboard:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// A session ends when it expires, and at once when its admin is demoted,
// banned or logs out everywhere.
func TestDashboardSessionEnds(t *testing.T) {
	e := start(t, nil)
	root := e.user(t, "root", "admin")
	second := e.user(t, "second", "admin")
	b := newBrowser(e.Server)
	if r := b.signIn(t, second.Email, password); r.status != 303 {
		t.Fatalf("sign-in: %d", r.status)
	}
	if r := b.do(t, "GET", "/admin/jobs/api/queues", nil); r.status != 200 {
		t.Fatalf("signed in: %d", r.status)
	}
	e.Do(t, "PUT", "/api/v1/admin/users/"+second.ID+"/role", map[string]string{"role": "user"}, root.bearer()...).Status(t, 200)
	if r := b.do(t, "GET", "/admin/jobs/api/queues", nil); r.status != 401 {
		t.Fatalf("after a demotion: %d", r.status)
	}
	if p := b.do(t, "GET", "/admin/jobs", nil); p.status != 200 || !strings.Contains(p.body, `name="csrf_token"`) {
		t.Fatalf("after a demotion, the page: %d", p.status)
	}
	e.Do(t, "PUT", "/api/v1/admin/users/"+second.ID+"/role", map[string]string{"role": "admin"}, root.bearer()...).Status(t, 200)

	b.signIn(t, second.Email, password)
	e.Do(t, "POST", "/api/v1/admin/users/"+second.ID+"/ban", nil, root.bearer()...).Status(t, 200)
	if r := b.do(t, "GET", "/admin/jobs/api/queues", nil); r.status != 401 {
		t.Fatalf("after a ban: %d", r.status)
	}
	if r := b.signIn(t, second.Email, password); r.status != 403 || r.set["veza_admin_session"] != nil {
		t.Fatalf("a banned admin signing in: %d", r.status)
	}

	b.signIn(t, root.Email, password)
	e.Do(t, "POST", "/api/v1/auth/logout", map[string]bool{"all": true}, root.bearer()...).Status(t, 204)
	if r := b.do(t, "GET", "/admin/jobs/api/queues", nil); r.status != 401 {
		t.Fatalf("after a logout everywhere: %d", r.status)
	}

	// Expiry: Redis forgets the session when its 30 minutes are over.
	b.signIn(t, root.Email, password)
	if r := b.do(t, "GET", "/admin/jobs/api/queues", nil); r.status != 200 {
		t.Fatalf("signed in again: %d", r.status)
	}
	for _, k := range sessionKeys(t, e) {
		e.Runtime.Redis().PExpire(context.Background(), k, 50*time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	if r := b.do(t, "GET", "/admin/jobs/api/queues", nil); r.status != 401 {
		t.Fatalf("after expiry: %d", r.status)
	}
}

// dashboard_read_only hides asynqmon's actions and refuses them.
func TestDashboardReadOnly(t *testing.T) {
	e := start(t, map[string]string{"VEZA_ADMIN_DASHBOARD_READ_ONLY": "true"})
	root := e.user(t, "root", "admin")
	b := newBrowser(e.Server)
	b.signIn(t, root.Email, password)
	if p := b.do(t, "GET", "/admin/jobs", nil); !strings.Contains(p.body, `window.FLAG_READ_ONLY="true"`) {
		t.Fatalf("the page does not know it is read-only: %s", p.body)
	}
	if r := b.do(t, "POST", "/admin/jobs/api/queues/auth:pause", nil); r.status != 403 || !strings.Contains(r.body, "dashboard_read_only") {
		t.Fatalf("a change in read-only mode: %d %s", r.status, r.body)
	}
	if r := b.do(t, "GET", "/admin/jobs/api/queues", nil); r.status != 200 {
		t.Fatalf("reading in read-only mode: %d", r.status)
	}
}

// In production the cookies are Secure and the dashboard is read-only
// unless the setting says otherwise.
func TestDashboardInProduction(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module(), admin.Module()}, Env: map[string]string{
		"APP_ENV": "production", "JWT_SECRET": strings.Repeat("s3cr3t-", 8), "CORS_ALLOWED_ORIGINS": "https://veza.test",
		"APP_PUBLIC_URL": "https://veza.test", "METRICS_ADDR": "off", "MAIL_DRIVER": "log", "RATE_LIMIT_LIMIT": "1000000",
		"UPLOAD_DIR": t.TempDir(),
	}})
	e := &env{Server: srv}
	root := e.user(t, "root", "admin")
	b := newBrowser(srv)
	b.origin = "https://veza.test" // as the proxy in front would see it
	p := b.do(t, "GET", "/admin/jobs", nil)
	checkCookie(t, p.set["veza_admin_csrf"], true)
	r := b.signIn(t, root.Email, password)
	checkCookie(t, r.set["veza_admin_session"], true)
	b.cookies["veza_admin_session"] = r.set["veza_admin_session"] // a browser sends it over HTTPS only
	if r := b.do(t, "POST", "/admin/jobs/api/queues/auth:pause", nil); r.status != 403 || !strings.Contains(r.body, "dashboard_read_only") {
		t.Fatalf("production default: %d %s", r.status, r.body)
	}
}
