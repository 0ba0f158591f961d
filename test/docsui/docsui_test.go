// Package docsui opens the /docs page of a Veza process in headless Chromium,
// as a reader would: the reference of every built-in module renders under the
// page's Content-Security-Policy, an operation expands, a request is tried,
// and a bearer token given to Authorize reaches the API. A screenshot is kept
// in test/artifacts/docs.png. The job dashboard (/admin/jobs) is opened the
// same way, by an admin and by a user (dashboard_test.go), its screenshot
// kept in test/artifacts/admin-jobs.png.
//
// Chromium is Debian's package (make test installs it as root). The browser
// is driven with chromedp, from Go: the test starts the server in-process
// with apptest and needs no npm package, no download of a browser, and no
// second language in the test suite.
package docsui

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules"
)

// screenshotPath is where the screenshot is kept; test/artifacts is
// git-ignored, and CI may keep it.
var screenshotPath = filepath.Join("..", "artifacts", "docs.png")

// installChromium is what to run when Chromium is missing.
const installChromium = "install it with  sudo apt-get install -y chromium  (make test does, when run as root), " +
	"or name another Chromium or Chrome binary in CHROMIUM"

// modulesYAML enables every built-in module; the test's user logs in
// without verifying an email address.
const modulesYAML = `modules:
  auth:
    enabled: true
    settings: {require_verified_email: false}
  tracks: {enabled: true}
  playlists: {enabled: true}
  social: {enabled: true}
  webhooks: {enabled: true}
`

// cspProbe runs in the page before its own scripts (the protocol injects
// it, so the CSP does not apply to it) and records every violation the
// browser reports to the page.
const cspProbe = `window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline code") + " at " + e.sourceFile + ":" + e.lineNumber);
});`

func TestDocsPageInChromium(t *testing.T) {
	chrome := chromiumPath(t)
	// A deployment that lets one frontend origin call the API still serves
	// the page's own, same-origin calls.
	srv := apptest.Start(t, apptest.Options{Modules: modules.Builtin(), ModulesYAML: modulesYAML,
		Env: map[string]string{"CORS_ALLOWED_ORIGINS": "https://frontend.example"}})
	token := accessToken(t, srv)

	ctx := newBrowser(t, chrome)
	console := watchConsole(ctx)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe}); err != nil {
		t.Fatalf("inject the CSP probe: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/docs")); err != nil {
		t.Fatalf("open /docs: %v", err)
	}

	register := operation("post", "/api/v1/auth/register")
	step(t, ctx, "find POST /api/v1/auth/register", chromedp.WaitVisible(chromedp.CSS(register+" .opblock-summary-control")))
	step(t, ctx, "expand it", chromedp.Click(chromedp.CSS(register+" .opblock-summary-control")))
	step(t, ctx, "see its request body", chromedp.WaitVisible(chromedp.CSS(register+".is-open .opblock-section-request-body")))
	schema := text(t, ctx, register+" .opblock-section-request-body")
	for _, field := range []string{"username", "email", "password"} {
		if !strings.Contains(schema, field) {
			t.Errorf("the request body of POST /api/v1/auth/register does not show %q:\n%s", field, schema)
		}
	}
	status := tryIt(t, ctx, register)
	if status == "" || status[0] < '2' || status[0] > '4' {
		t.Errorf("trying POST /api/v1/auth/register showed status %q, want an answer of the API", status)
	}
	snippet := text(t, ctx, register+" .request-snippets")
	if !strings.Contains(snippet, "curl") || !strings.Contains(snippet, "/api/v1/auth/register") {
		t.Errorf("no curl sample for the request tried:\n%s", snippet)
	}
	saveScreenshot(t, ctx, register)

	authorize(t, ctx, token)
	me := operation("get", "/api/v1/auth/me")
	step(t, ctx, "expand GET /api/v1/auth/me", chromedp.Click(chromedp.CSS(me+" .opblock-summary-control")))
	if status := tryIt(t, ctx, me); status != "200" {
		t.Errorf("GET /api/v1/auth/me with the bearer token given to Authorize: status %q, want 200:\n%s", status, text(t, ctx, me+" .responses-wrapper"))
	}

	step(t, ctx, "browse the schemas", chromedp.WaitVisible(chromedp.CSS("section.models .model-container")))
	checkConsole(t, ctx, console)
}

// chromiumPath returns the browser to drive: $CHROMIUM, else Debian's.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("Chromium is not installed: %s", installChromium)
	return ""
}

// accessToken registers a user and logs in, through the API.
func accessToken(t *testing.T, srv *apptest.Server) string {
	t.Helper()
	creds := map[string]string{"username": "docsreader", "email": "docs@example.com", "password": "correct horse battery staple"}
	srv.Do(t, "POST", "/api/v1/auth/register", creds).Status(t, 201)
	var login struct {
		AccessToken string `json:"access_token"`
	}
	srv.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": creds["email"], "password": creds["password"]}).Status(t, 200).Data(t, &login)
	if login.AccessToken == "" {
		t.Fatal("login returned no access token")
	}
	return login.AccessToken
}

// newBrowser starts headless Chromium with a fresh profile and the flags
// this machine's closed network needs (no background connections), and
// stops it when the test ends.
func newBrowser(t *testing.T, chrome string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1400),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	// Start the browser now, so that a missing or broken one fails here.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v (%s)", chrome, err, installChromium)
	}
	return ctx
}

// operation is the CSS selector of Swagger UI's block for an operation.
func operation(method, path string) string {
	return fmt.Sprintf(`.opblock-%s:has(> .opblock-summary .opblock-summary-path[data-path=%q])`, method, path)
}

// step runs an action of the test, failing it with what it was doing.
func step(t *testing.T, ctx context.Context, what string, a chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, a); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// text returns the visible text of the first element sel matches.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// tryIt presses "Try it out" then "Execute" on an expanded operation and
// returns the status code Swagger UI shows for the answer.
func tryIt(t *testing.T, ctx context.Context, op string) string {
	t.Helper()
	step(t, ctx, "try it out", chromedp.Click(chromedp.CSS(op+" .try-out__btn")))
	step(t, ctx, "execute", chromedp.Click(chromedp.CSS(op+" .btn.execute")))
	status := op + " .live-responses-table tr.response .response-col_status"
	step(t, ctx, "wait for the answer", chromedp.WaitVisible(chromedp.CSS(status)))
	return strings.TrimSpace(text(t, ctx, status))
}

// authorize gives token to the bearer scheme through the Authorize dialog.
func authorize(t *testing.T, ctx context.Context, token string) {
	t.Helper()
	step(t, ctx, "open Authorize", chromedp.Click(chromedp.CSS(".auth-wrapper .btn.authorize")))
	step(t, ctx, "type the bearer token", chromedp.SendKeys(chromedp.CSS(".modal-ux .auth-container input"), token))
	step(t, ctx, "authorize", chromedp.Click(chromedp.CSS(".modal-ux .auth-btn-wrapper .btn.authorize")))
	step(t, ctx, "close the dialog", chromedp.Click(chromedp.CSS(".modal-ux .auth-btn-wrapper .btn-done")))
	step(t, ctx, "see the dialog closed", chromedp.WaitNotPresent(chromedp.CSS(".modal-ux")))
}

// saveScreenshot keeps a picture of the page with op in view.
func saveScreenshot(t *testing.T, ctx context.Context, op string) {
	t.Helper()
	step(t, ctx, "scroll to the operation", chromedp.ScrollIntoView(chromedp.CSS(op+" .opblock-summary")))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.MkdirAll(filepath.Dir(screenshotPath), 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	if err := os.WriteFile(screenshotPath, png, 0o644); err != nil {
		t.Fatalf("save the screenshot: %v", err)
	}
	abs, _ := filepath.Abs(screenshotPath)
	t.Logf("screenshot of /docs: %s", abs)
}

// consoleLog collects what the page writes to its console.
type consoleLog struct {
	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

// watchConsole collects the page's console messages until ctx ends.
func watchConsole(ctx context.Context) *consoleLog {
	l := &consoleLog{}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			l.mu.Lock()
			l.messages = append(l.messages, m)
			l.mu.Unlock()
		}
	}()
	return l
}

// checkConsole fails the test on a CSP violation, reported either to the
// page (cspProbe) or in the browser's log, and on an uncaught exception.
// Failed requests are not errors here: trying an operation may well get a
// 4xx, which the browser logs.
func checkConsole(t *testing.T, ctx context.Context, l *consoleLog) {
	t.Helper()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`window.__cspViolations`))
	if err != nil {
		t.Fatalf("read the CSP probe: %v", err)
	}
	var violations []string
	if err := json.Unmarshal(raw, &violations); err != nil {
		t.Fatalf("the CSP probe did not run: %v (%s)", err, raw)
	}
	for _, v := range violations {
		t.Errorf("CSP violation: %s", v)
	}
	time.Sleep(200 * time.Millisecond) // let the last console events arrive
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.messages {
		switch {
		case strings.Contains(m.Text, "Content Security Policy") || m.Source == "security":
			t.Errorf("console: CSP violation: %s (%s:%d)", m.Text, m.URL, m.Line)
		case m.IsException():
			t.Errorf("console: uncaught exception: %s (%s:%d)", m.Text, m.URL, m.Line)
		case m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning:
			t.Logf("console %s: %s (%s)", m.Type, m.Text, m.Source)
		}
	}
}
