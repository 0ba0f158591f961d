package openapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// ContentSecurityPolicy is the Content-Security-Policy sent with the
// reference page and its assets. Swagger UI runs under it as its package
// ships it: its script and styles are files of the page's own origin, it
// sets styles through the DOM (which style-src does not govern) and never
// evaluates strings, so neither 'unsafe-inline' nor 'unsafe-eval' is
// allowed. The one source beyond the page's origin is data: images, the
// icons inside swagger-ui.css. Requests tried from the page go to its own
// origin only (connect-src), and nothing may frame it, change its base URL,
// post a form or load a plugin.
const ContentSecurityPolicy = "default-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; " +
	"frame-ancestors 'none'"

// Encode returns doc as GET /openapi.json sends it: compact JSON and a
// final newline. `veza openapi` writes the same bytes.
func Encode(doc map[string]any) ([]byte, error) {
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: encode document: %w", err)
	}
	return append(body, '\n'), nil
}

// JSONHandler returns a fiber.Handler that serves doc, typically the result
// of Build, as application/json. The document is encoded once, when
// JSONHandler is called, and served from the cached bytes; an error
// reports a doc that cannot be encoded. Responses carry an ETag, so that
// clients can revalidate cheaply.
func JSONHandler(doc map[string]any) (fiber.Handler, error) {
	body, err := Encode(doc)
	if err != nil {
		return nil, err
	}
	etag := etagOf(body)
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderETag, etag)
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		if etagMatches(c.Get(fiber.HeaderIfNoneMatch), etag) {
			return c.SendStatus(fiber.StatusNotModified)
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(body)
	}, nil
}

// assetsFS holds the reference page: index.html is a template completed
// per request; swagger-ui/ is Swagger UI as its npm package ships it
// (tools/update-docs-ui.sh copies it, manifest.json records what was
// copied); docs.js starts it on the document.
//
//go:embed assets
var assetsFS embed.FS

// asset is an embedded file ready to be served.
type asset struct {
	body        []byte
	contentType string
	etag        string

	// gz is body gzip-compressed, made on first use: Swagger UI's bundle is
	// 1.8 MB, a third of that compressed, and most processes never serve it.
	gzOnce sync.Once
	gz     []byte
}

// gzipped returns the compressed body, nil when compression does not pay.
func (a *asset) gzipped() []byte {
	a.gzOnce.Do(func() {
		if len(a.body) < 1024 {
			return
		}
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression) // a valid level never fails
		_, _ = zw.Write(a.body)                                // a bytes.Buffer never fails
		_ = zw.Close()
		if b.Len() < len(a.body) {
			a.gz = b.Bytes()
		}
	})
	return a.gz
}

// assetTypes maps the extensions of the files served to their media type;
// files with another extension are not served. The licence texts of the
// bundled UI have none.
var assetTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
	".png": "image/png",
	"":     "text/plain; charset=utf-8",
}

// assets maps the paths of the files served under the page's path to
// their content. index.html is not in it: it is rendered per request.
var assets, indexTemplate = loadAssets()

// loadAssets reads the embedded files once, at start-up.
func loadAssets() (map[string]*asset, string) {
	out := map[string]*asset{}
	var index string
	err := fs.WalkDir(assetsFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assetsFS, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		if name == "index.html" {
			index = string(b)
			return nil
		}
		if ct, ok := assetTypes[path.Ext(name)]; ok {
			out[name] = &asset{body: b, contentType: ct, etag: etagOf(b)}
		}
		return nil
	})
	if err != nil {
		panic("openapi: read embedded assets: " + err.Error())
	}
	if index == "" {
		panic("openapi: embedded assets lack index.html")
	}
	return out, index
}

// etagOf returns a strong entity tag for body.
func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// gzipETag is the entity tag of the gzip-encoded variant of the
// representation tagged etag: a strong tag must differ per encoding.
func gzipETag(etag string) string {
	return strings.TrimSuffix(etag, `"`) + `-gz"`
}

// etagMatches reports whether an If-None-Match header value names etag,
// comparing weakly as RFC 9110 asks for that header.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// DocsHandler returns a fiber.Handler serving the API reference page
// (Swagger UI) and its assets, all embedded in the binary. specURL is where
// the page fetches the document, such as "/openapi.json", the default when
// empty; a relative specURL is resolved against the page's URL.
//
// Mount the handler on both the page's path and the paths below it:
//
//	app.Get("/docs", h)
//	app.Get("/docs/*", h)
//
// The page refers to its assets by relative URLs that work with or without
// a trailing slash, under any mount path. Every response carries
// ContentSecurityPolicy and X-Content-Type-Options: nosniff; assets carry
// an ETag and are sent gzip-compressed to clients that accept it. An
// unknown asset yields fiber.ErrNotFound, for the application's error
// handler to render.
func DocsHandler(specURL string) fiber.Handler {
	if specURL == "" {
		specURL = "/openapi.json"
	}
	spec := html.EscapeString(specURL)
	return func(c *fiber.Ctx) error {
		name := c.Params("*")
		if name == "" || name == "index.html" {
			return serveIndex(c, spec, name == "")
		}
		a, ok := assets[name]
		if !ok {
			return fiber.ErrNotFound
		}
		return serveAsset(c, a)
	}
}

// serveAsset sends a, compressed when the client accepts gzip, or 304 when
// the client's copy is current.
func serveAsset(c *fiber.Ctx, a *asset) error {
	setPageHeaders(c)
	c.Vary(fiber.HeaderAcceptEncoding)
	body, etag := a.body, a.etag
	if c.Request().Header.HasAcceptEncoding("gzip") {
		if gz := a.gzipped(); gz != nil {
			body, etag = gz, gzipETag(a.etag)
			c.Set(fiber.HeaderContentEncoding, "gzip")
		}
	}
	c.Set(fiber.HeaderETag, etag)
	if etagMatches(c.Get(fiber.HeaderIfNoneMatch), etag) {
		c.Response().Header.Del(fiber.HeaderContentEncoding)
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, a.contentType)
	return c.Send(body)
}

// serveIndex renders the page for the request. When the request path has
// no trailing slash (".../docs"), relative URLs resolve against the parent
// of the page, so the assets are referred to through the page's last path
// segment ("./docs/docs.js"); otherwise directly ("./docs.js").
func serveIndex(c *fiber.Ctx, spec string, atMount bool) error {
	base := "./"
	p := c.Path()
	if atMount && !strings.HasSuffix(p, "/") {
		last := p[strings.LastIndexByte(p, '/')+1:]
		if last != "" {
			base = "./" + html.EscapeString(url.PathEscape(last)) + "/"
		}
	}
	page := strings.NewReplacer("{{BASE}}", base, "{{SPEC_URL}}", spec).Replace(indexTemplate)
	setPageHeaders(c)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.SendString(page)
}

// setPageHeaders sets the headers shared by the page and its assets. The
// assets are revalidated on every use too (cheaply, by ETag), so that a
// page never runs with the assets of another release.
func setPageHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderContentSecurityPolicy, ContentSecurityPolicy)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	c.Set(fiber.HeaderCacheControl, "no-cache")
}
