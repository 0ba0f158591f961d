package openapi

import (
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

	"github.com/gofiber/fiber/v2"
)

// ContentSecurityPolicy is the Content-Security-Policy sent with the
// reference page and its assets. It allows nothing but the page's own
// origin: no inline code, no framing, no third-party hosts.
const ContentSecurityPolicy = "default-src 'self'; connect-src 'self'; img-src 'self' data:; " +
	"style-src 'self'; script-src 'self'; frame-ancestors 'none'"

// JSONHandler returns a fiber.Handler that serves doc, typically the result
// of Build, as application/json. The document is encoded once, when
// JSONHandler is called, and served from the cached bytes; an error
// reports a doc that cannot be encoded. Responses carry an ETag, so that
// clients can revalidate cheaply.
func JSONHandler(doc map[string]any) (fiber.Handler, error) {
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: encode document: %w", err)
	}
	body = append(body, '\n')
	etag := etagOf(body)
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-cache")
		c.Set(fiber.HeaderETag, etag)
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		if c.Get(fiber.HeaderIfNoneMatch) == etag {
			return c.SendStatus(fiber.StatusNotModified)
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(body)
	}, nil
}

// assetsFS holds the reference page: index.html is a template completed
// per request, the other files are served as they are.
//
//go:embed assets/*
var assetsFS embed.FS

// asset is an embedded file ready to be served.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// assets maps the names of the files served under the page's path to
// their content. index.html is not in it: it is rendered per request.
var assets, indexTemplate = loadAssets()

// loadAssets reads the embedded files once, at start-up.
func loadAssets() (map[string]asset, string) {
	types := map[string]string{
		".js":  "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8",
		".svg": "image/svg+xml",
	}
	entries, err := fs.ReadDir(assetsFS, "assets")
	if err != nil {
		panic("openapi: read embedded assets: " + err.Error())
	}
	out := map[string]asset{}
	var index string
	for _, e := range entries {
		b, err := fs.ReadFile(assetsFS, "assets/"+e.Name())
		if err != nil {
			panic("openapi: read embedded asset: " + err.Error())
		}
		if e.Name() == "index.html" {
			index = string(b)
			continue
		}
		ct, ok := types[path.Ext(e.Name())]
		if !ok {
			continue
		}
		out[e.Name()] = asset{body: b, contentType: ct, etag: etagOf(b)}
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

// DocsHandler returns a fiber.Handler serving the API reference page and
// its assets, all embedded in the binary. specURL is where the page
// fetches the document, such as "/openapi.json", the default when empty;
// a relative specURL is resolved against the page's URL.
//
// Mount the handler on both the page's path and the paths below it:
//
//	app.Get("/docs", h)
//	app.Get("/docs/*", h)
//
// The page refers to its assets by relative URLs that work with or without
// a trailing slash, under any mount path. Every response carries
// ContentSecurityPolicy and X-Content-Type-Options: nosniff; an unknown
// asset yields fiber.ErrNotFound, for the application's error handler to
// render.
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
		setPageHeaders(c)
		c.Set(fiber.HeaderETag, a.etag)
		if c.Get(fiber.HeaderIfNoneMatch) == a.etag {
			return c.SendStatus(fiber.StatusNotModified)
		}
		c.Set(fiber.HeaderContentType, a.contentType)
		return c.Send(a.body)
	}
}

// serveIndex renders the page for the request. When the request path has
// no trailing slash (".../docs"), relative URLs resolve against the parent
// of the page, so the assets are referred to through the page's last path
// segment ("./docs/app.js"); otherwise directly ("./app.js").
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
