package httpx

import (
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/config"
)

// ServerDeps are what the server's middleware needs.
type ServerDeps struct {
	Config   *config.Config
	Log      *zap.Logger
	Observer HTTPObserver
	Limiter  Limiter
	// Unlimited reports requests the rate limit does not count.
	Unlimited func(c *fiber.Ctx) bool
	// Streams are the routes whose handlers stream their bodies (uploads):
	// the server hands them over after the first bytes, and holds their
	// stall timeouts from the moment their headers are read.
	Streams []StreamedRoute
}

// NewServer returns the Fiber app with the platform's middleware, in order:
// the hand-over of streamed bodies, request id, access log and metrics, panic recovery and error envelope,
// refusal of NUL and invalid UTF-8 in path, query and headers, security
// headers, CORS, rate limit, handler timeout. Routes are added after; each
// route gets its body limit where it is mounted.
func NewServer(d ServerDeps) *fiber.App {
	cfg := d.Config
	streams := newStreams(d.Streams)
	app := fiber.New(fiber.Config{
		AppName:               "veza",
		DisableStartupMessage: true,
		ErrorHandler:          streams.stalled(ErrorHandler(d.Log)),
		// Bodies are streamed: the first BodyLimit bytes are read before the
		// handler, the rest on demand. Each route enforces its own limit.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		BodyLimit:                    int(cfg.BodyLimit),
		ReadTimeout:                  5 * time.Minute,
		WriteTimeout:                 0, // large audio streams take as long as they take
		IdleTimeout:                  75 * time.Second,
		ReadBufferSize:               16 << 10,
		Network:                      fiber.NetworkTCP,
		ProxyHeader:                  proxyHeader(cfg),
		EnableTrustedProxyCheck:      len(cfg.TrustedProxies) > 0,
		TrustedProxies:               cfg.TrustedProxies,
		EnableIPValidation:           true,
	})
	streams.install(app)
	app.Use(streams.clear)
	if len(cfg.TrustedProxies) > 0 {
		app.Use(ForwardedFor(cfg.TrustedProxies))
	}
	app.Use(RequestIDMiddleware())
	app.Use(AccessLog(d.Log, d.Observer))
	app.Use(Recover(d.Log))
	app.Use(CleanInput())
	app.Use(SecurityHeaders(cfg.Env == config.Production || cfg.Env == config.Staging))
	app.Use(cors.New(corsConfig(cfg)))
	if d.Limiter != nil {
		app.Use(RateLimit(d.Limiter, d.Unlimited))
	}
	app.Use(Timeout(cfg.HandlerTimeout))
	return app
}

// proxyHeader trusts X-Forwarded-For only behind configured proxies;
// otherwise a client could pick its own rate-limit key.
func proxyHeader(cfg *config.Config) string {
	if len(cfg.TrustedProxies) > 0 {
		return fiber.HeaderXForwardedFor
	}
	return ""
}

func corsConfig(cfg *config.Config) cors.Config {
	origins := "*"
	if len(cfg.CORSAllowedOrigins) > 0 {
		origins = ""
		for i, o := range cfg.CORSAllowedOrigins {
			if i > 0 {
				origins += ","
			}
			origins += o
		}
	}
	return cors.Config{
		AllowOrigins:  origins,
		AllowMethods:  "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS",
		AllowHeaders:  "Authorization,Content-Type,X-Request-ID,Idempotency-Key,X-Verify-Token,Range,If-None-Match,If-Modified-Since",
		ExposeHeaders: "X-Request-ID,X-RateLimit-Limit,X-RateLimit-Remaining,X-RateLimit-Reset,Retry-After,ETag,Last-Modified,Content-Range,Accept-Ranges,Content-Length,Content-Disposition",
		MaxAge:        600,
	}
}
