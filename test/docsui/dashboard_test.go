package docsui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules"
)

// dashboardShot is where the screenshot of the job dashboard is kept.
var dashboardShot = filepath.Join("..", "artifacts", "admin-jobs.png")

// allModulesYAML enables every built-in module, admin included.
const allModulesYAML = modulesYAML + "  admin: {enabled: true}\n"

// queuesOf are the queues of that deployment: the platform's and each
// enabled module's.
var queuesOf = []string{"platform", "auth", "tracks", "playlists", "webhooks", "admin"}

// An admin signs in to /admin/jobs in Chromium and sees every enabled
// module's queue in asynqmon, under the dashboard's Content-Security-Policy;
// an account that is not an admin gets the sign-in page again and no queue
// data, from the page or from the dashboard's API.
func TestJobDashboardInChromium(t *testing.T) {
	chrome := chromiumPath(t)
	srv := apptest.Start(t, apptest.Options{Modules: modules.Builtin(), ModulesYAML: allModulesYAML,
		Env: map[string]string{"UPLOAD_DIR": t.TempDir(), "RATE_LIMIT_LIMIT": "100000"}})
	createUser(t, srv, "ops@example.com", "ops", "admin")
	createUser(t, srv, "fan@example.com", "fan", "user")

	ctx := newBrowser(t, chrome)
	console := watchConsole(ctx)
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe}); err != nil {
		t.Fatalf("inject the CSP probe: %v", err)
	}
	signIn(t, ctx, srv.URL, "ops@example.com")
	body := waitForText(t, ctx, queuesOf...)
	if strings.Contains(body, "not an admin") {
		t.Fatalf("the admin got the refusal:\n%s", body)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	keep(t, dashboardShot, shot)
	checkConsole(t, ctx, console)

	// Another browser, another account.
	other := newBrowser(t, chrome)
	otherConsole := watchConsole(other)
	if _, err := chromedp.Call(other, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspProbe}); err != nil {
		t.Fatalf("inject the CSP probe: %v", err)
	}
	signIn(t, other, srv.URL, "fan@example.com")
	step(t, other, "see the refusal", chromedp.WaitVisible(chromedp.CSS("#message")))
	text := pageText(t, other)
	if !strings.Contains(text, "not an admin") {
		t.Fatalf("a user signing in sees:\n%s", text)
	}
	for _, q := range []string{"platform", "tracks", "playlists", "webhooks"} {
		if strings.Contains(text, q) {
			t.Errorf("a user sees the queue %q:\n%s", q, text)
		}
	}
	checkConsole(t, other, otherConsole)
	// The page's policy lets it fetch nothing; ask the API as the browser.
	step(t, other, "open the dashboard's API", chromedp.Navigate(srv.URL+"/admin/jobs/api/queues"))
	if text := pageText(t, other); !strings.Contains(text, "dashboard_sign_in_required") || strings.Contains(text, "webhooks") {
		t.Fatalf("the dashboard's API for a user: %s", text)
	}
}

// createUser makes a verified account with the auth module's command.
func createUser(t *testing.T, srv *apptest.Server, email, name, role string) {
	t.Helper()
	for _, c := range srv.Runtime.Contributions().Commands {
		if c.Name == "user create" {
			if err := c.Run(context.Background(), []string{"--email", email, "--username", name, "--password", password,
				"--role", role, "--verified"}, &bytes.Buffer{}); err != nil {
				t.Fatalf("create %s: %v", name, err)
			}
			return
		}
	}
	t.Fatal("no user create command")
}

const password = "correct horse battery staple"

// signIn opens the dashboard and signs in on its page.
func signIn(t *testing.T, ctx context.Context, base, email string) {
	t.Helper()
	step(t, ctx, "open /admin/jobs", chromedp.Navigate(base+"/admin/jobs"))
	step(t, ctx, "see the sign-in form", chromedp.WaitVisible(chromedp.CSS(`#sign-in input[name="email"]`)))
	step(t, ctx, "type the email", chromedp.SendKeys(chromedp.CSS(`#sign-in input[name="email"]`), email))
	step(t, ctx, "type the password", chromedp.SendKeys(chromedp.CSS(`#sign-in input[name="password"]`), password))
	step(t, ctx, "sign in", chromedp.Click(chromedp.CSS(`#sign-in button[type="submit"]`)))
}

// pageText is what the page shows.
func pageText(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := readText(ctx)
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	return s
}

// readText reads what the page shows; "" while a page is being replaced.
func readText(ctx context.Context) (string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
}

// waitForText waits until the page shows every one of words, and returns
// its text. The page may still be loading, or replaced by the redirect of
// a form: reads that fail meanwhile are tried again.
func waitForText(t *testing.T, ctx context.Context, words ...string) string {
	t.Helper()
	var text string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if s, err := readText(ctx); err == nil {
			text = s
		}
		missing := false
		for _, w := range words {
			if !strings.Contains(text, w) {
				missing = true
			}
		}
		if !missing {
			return text
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the page does not show all of %v:\n%s", words, text)
	return ""
}

// keep writes a screenshot to path (under the git-ignored test/artifacts).
func keep(t *testing.T, path string, png []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("save the screenshot: %v", err)
	}
	abs, _ := filepath.Abs(path)
	t.Logf("screenshot: %s", abs)
}
