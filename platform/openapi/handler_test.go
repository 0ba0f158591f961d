package openapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

var assetRef = regexp.MustCompile(`(?:src|href)="([^"]+)"`)

func TestDocsPage(t *testing.T) {
	app := newApp(t, Build(Info{}, nil, nil))
	for _, page := range []string{"/docs", "/docs/", "/docs/index.html"} {
		resp, body := do(t, app, http.MethodGet, page)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status = %d", page, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type = %q", page, ct)
		}
		checkPageHeaders(t, page, resp)
		html := string(body)
		if !strings.Contains(html, `content="/openapi.json"`) {
			t.Errorf("%s: page does not name the spec URL", page)
		}
		if strings.Contains(html, "{{") {
			t.Errorf("%s: unrendered placeholder", page)
		}
		checkNoInlineCode(t, page, html)
		checkReferences(t, app, page, html)
	}
}

// checkReferences resolves every reference of the page as a browser would
// and fetches it: Swagger UI's script and styles, and the page's own script.
func checkReferences(t *testing.T, app *fiber.App, page, html string) {
	t.Helper()
	seen := map[string]bool{}
	for _, m := range assetRef.FindAllStringSubmatch(html, -1) {
		ref := m[1]
		if strings.HasPrefix(ref, "#") {
			continue
		}
		if strings.Contains(ref, "://") || strings.HasPrefix(ref, "//") {
			t.Errorf("%s: external reference %q", page, ref)
			continue
		}
		if strings.HasPrefix(ref, "/") {
			if ref != "/openapi.json" {
				t.Errorf("%s: absolute reference %q breaks under another mount path", page, ref)
			}
			continue
		}
		target := resolveRef(page, ref)
		resp, body := do(t, app, http.MethodGet, target)
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("%s: %q -> %s: status %d", page, ref, target, resp.StatusCode)
		}
		want := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}[filepath.Ext(ref)]
		if ct := resp.Header.Get("Content-Type"); ct != want {
			t.Errorf("%s: Content-Type = %q, want %q", target, ct, want)
		}
		checkPageHeaders(t, target, resp)
		seen[strings.TrimPrefix(target, "/docs/")] = true
	}
	for _, name := range []string{"swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css", "docs.js"} {
		if !seen[name] {
			t.Errorf("%s: the page does not load %s", page, name)
		}
	}
}

// checkPageHeaders checks the headers every response of the page carries.
func checkPageHeaders(t *testing.T, name string, resp *http.Response) {
	t.Helper()
	if got := resp.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
		t.Errorf("%s: CSP = %q", name, got)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: no nosniff", name)
	}
	if resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("%s: Cache-Control = %q", name, resp.Header.Get("Cache-Control"))
	}
}

// The CSP allows neither inline code nor evaluated strings.
func TestDocsCSPIsStrict(t *testing.T) {
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "unsafe-hashes", "*", "http:", "https:"} {
		if strings.Contains(ContentSecurityPolicy, bad) {
			t.Errorf("CSP allows %s: %s", bad, ContentSecurityPolicy)
		}
	}
	for _, want := range []string{"script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(ContentSecurityPolicy, want) {
			t.Errorf("CSP lacks %s: %s", want, ContentSecurityPolicy)
		}
	}
}

// resolveRef resolves the relative reference ref against page's path.
func resolveRef(page, ref string) string {
	dir := page[:strings.LastIndexByte(page, '/')+1]
	return dir + strings.TrimPrefix(ref, "./")
}

func checkNoInlineCode(t *testing.T, name, html string) {
	t.Helper()
	for _, tag := range regexp.MustCompile(`(?i)<script[^>]*>`).FindAllString(html, -1) {
		if !strings.Contains(tag, "src=") {
			t.Errorf("%s: inline script %q is blocked by the CSP", name, tag)
		}
	}
	if regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=`).MatchString(html) {
		t.Errorf("%s: inline style or event handler is blocked by the CSP", name)
	}
}

func TestDocsUnderOtherMount(t *testing.T) {
	app := fiber.New()
	h := DocsHandler("")
	app.Get("/api/reference", h)
	app.Get("/api/reference/*", h)
	_, body := do(t, app, http.MethodGet, "/api/reference")
	if !strings.Contains(string(body), `src="./reference/docs.js"`) {
		t.Errorf("asset URL does not follow the mount path: %s", body)
	}
	if !strings.Contains(string(body), `content="/openapi.json"`) {
		t.Error("empty specURL does not default to /openapi.json")
	}
	for _, p := range []string{"/api/reference/docs.js", "/api/reference/swagger-ui/swagger-ui-bundle.js"} {
		if resp, _ := do(t, app, http.MethodGet, p); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status = %d", p, resp.StatusCode)
		}
	}
}

func TestDocsSpecURLEscaped(t *testing.T) {
	app := fiber.New()
	app.Get("/docs", DocsHandler(`/o.json"><script>x</script>`))
	_, body := do(t, app, http.MethodGet, "/docs")
	if strings.Contains(string(body), "<script>x") {
		t.Error("spec URL not escaped")
	}
}

func TestDocsUnknownAsset(t *testing.T) {
	app := newApp(t, Build(Info{}, nil, nil))
	for _, p := range []string{
		"/docs/nope.js", "/docs/../go.mod", "/docs/assets/docs.js", "/docs/index.html/x",
		"/docs/swagger-ui-bundle.js", "/docs/swagger-ui/manifest.json", "/docs/swagger-ui/",
	} {
		resp, _ := do(t, app, http.MethodGet, p)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status = %d, want 404", p, resp.StatusCode)
		}
	}
}

// Assets are revalidated by ETag and sent compressed to clients that take
// gzip, under an ETag of their own.
func TestDocsAssetCaching(t *testing.T) {
	app := newApp(t, Build(Info{}, nil, nil))
	const target = "/docs/swagger-ui/swagger-ui-bundle.js"
	plain, plainBody := fetchEncoded(t, app, target, "")
	if plain.Header.Get("Content-Encoding") != "" || !bytes.Equal(plainBody, assets["swagger-ui/swagger-ui-bundle.js"].body) {
		t.Fatalf("identity response: Content-Encoding %q, %d bytes", plain.Header.Get("Content-Encoding"), len(plainBody))
	}
	gz, gzBody := fetchEncoded(t, app, target, "gzip, deflate, br")
	if gz.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding = %q, want gzip", gz.Header.Get("Content-Encoding"))
	}
	if len(gzBody) >= len(plainBody)/2 {
		t.Errorf("gzip body is %d bytes for %d", len(gzBody), len(plainBody))
	}
	zr, err := gzip.NewReader(bytes.NewReader(gzBody))
	if err != nil {
		t.Fatal(err)
	}
	if unzipped, err := io.ReadAll(zr); err != nil || !bytes.Equal(unzipped, plainBody) {
		t.Fatalf("gzip body does not decompress to the file (%v)", err)
	}
	for _, r := range []*http.Response{plain, gz} {
		if !strings.Contains(r.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("Vary = %q", r.Header.Get("Vary"))
		}
	}
	if plain.Header.Get("ETag") == "" || plain.Header.Get("ETag") == gz.Header.Get("ETag") {
		t.Errorf("ETags: identity %q, gzip %q", plain.Header.Get("ETag"), gz.Header.Get("ETag"))
	}
	for _, r := range []*http.Response{plain, gz} {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("Accept-Encoding", r.Header.Get("Content-Encoding"))
		req.Header.Set("If-None-Match", `"other", `+r.Header.Get("ETag"))
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified || resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("revalidation of %s: status %d, Content-Encoding %q", r.Header.Get("ETag"), resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
	}
}

// fetchEncoded fetches target with the given Accept-Encoding, returning the raw body.
func fetchEncoded(t *testing.T, app *fiber.App, target, acceptEncoding string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// The page's own files fetch nothing from elsewhere and start Swagger UI
// with the options the page relies on.
func TestDocsOwnFiles(t *testing.T) {
	for _, name := range []string{"index.html", "docs.js"} {
		b, err := assetsFS.ReadFile("assets/" + name)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.Contains(s, "http://") || strings.Contains(s, "https://") {
			t.Errorf("%s holds an absolute URL; the page must fetch nothing from elsewhere", name)
		}
	}
	js, err := assetsFS.ReadFile("assets/docs.js")
	if err != nil {
		t.Fatal(err)
	}
	s := string(js)
	for _, bad := range []string{"eval(", "new Function", "innerHTML", "document.write", "localStorage"} {
		if strings.Contains(s, bad) {
			t.Errorf("docs.js uses %s", bad)
		}
	}
	for _, want := range []string{"openapi-spec-url", "validatorUrl: null", "requestSnippetsEnabled: true", "queryConfigEnabled: false"} {
		if !strings.Contains(s, want) {
			t.Errorf("docs.js lacks %s", want)
		}
	}
}

// swaggerManifest is platform/openapi/assets/swagger-ui/manifest.json,
// written by tools/update-docs-ui.sh.
type swaggerManifest struct {
	Package string            `json:"package"`
	Version string            `json:"version"`
	Files   map[string]string `json:"files"`
}

// The embedded Swagger UI is exactly what manifest.json records, and that
// is the version tools/package.json pins. (test/contract compares the
// files with the installed npm package itself.)
func TestDocsUIManifest(t *testing.T) {
	var m swaggerManifest
	b, err := assetsFS.ReadFile("assets/swagger-ui/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	var pkg struct{ DevDependencies map[string]string }
	pb, err := os.ReadFile(filepath.Join("..", "..", "tools", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(pb, &pkg); err != nil {
		t.Fatalf("tools/package.json: %v", err)
	}
	if pin := pkg.DevDependencies[m.Package]; m.Package != "swagger-ui-dist" || pin != m.Version {
		t.Errorf("manifest.json has %s %s, tools/package.json pins %q: run tools/update-docs-ui.sh", m.Package, m.Version, pin)
	}
	entries, err := fs.ReadDir(assetsFS, "assets/swagger-ui")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "manifest.json" && m.Files[e.Name()] == "" {
			t.Errorf("swagger-ui/%s is not in manifest.json: only tools/update-docs-ui.sh writes that folder", e.Name())
		}
	}
	for name, want := range m.Files {
		b, err := assetsFS.ReadFile("assets/swagger-ui/" + name)
		if err != nil {
			t.Errorf("manifest.json lists %s, which is not embedded: %v", name, err)
			continue
		}
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); got != want {
			t.Errorf("swagger-ui/%s was changed after tools/update-docs-ui.sh copied it (sha256 %s, manifest %s)", name, got, want)
		}
	}
}
