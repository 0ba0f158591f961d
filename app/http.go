package app

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/health"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/metrics"
	"github.com/veza/veza/platform/openapi"
	"github.com/veza/veza/platform/ratelimit"
)

// platformPaths are served outside the rate limit: probes and scrapers call
// them constantly from a few addresses.
var platformPaths = map[string]bool{"/health": true, "/healthz": true, "/readyz": true, "/metrics": true}

// unlimited reports the requests the per-address rate limit does not
// count: the platform's probes, and routes that opted out (signed
// callbacks from a few providers' addresses, which a burst must not turn
// into 429s and retries). A route is matched on the fixed part of its path,
// up to its first parameter, and its method.
func unlimited(routes []Route) func(c *fiber.Ctx) bool {
	type prefix struct{ method, path string }
	var exempt []prefix
	for _, rt := range routes {
		if rt.NoRateLimit {
			fixed, _, _ := strings.Cut(rt.Path, ":")
			fixed, _, _ = strings.Cut(fixed, "*")
			exempt = append(exempt, prefix{rt.Method, fixed})
		}
	}
	return func(c *fiber.Ctx) bool {
		path := c.Path()
		if platformPaths[path] {
			return true
		}
		for _, e := range exempt {
			if c.Method() == e.method && strings.HasPrefix(path, e.path) {
				return true
			}
		}
		return false
	}
}

func (r *Runtime) wireHTTP(d wireDeps, loopChecks []health.Check) error {
	cfg := r.cfg
	limiter := ratelimit.New(ratelimit.Config{
		Limit: cfg.RateLimitLimit, Window: cfg.RateWindow(), SyncInterval: cfg.RateLimitSync,
	}, r.rdb, r.log.Named("ratelimit"))
	contrib := r.reg.contributions()
	srv := httpx.NewServer(httpx.ServerDeps{
		Config: cfg, Log: r.log.Named("http"), Observer: d.Metrics, Limiter: limiter,
		Unlimited: unlimited(contrib.Routes),
		Streams:   streamedRoutes(contrib.Routes),
	})
	r.server = srv
	if err := r.mountPlatform(srv, d.Metrics, contrib, loopChecks); err != nil {
		return err
	}
	forbidden := audit.RecordForbidden(r.pool, r.log.Named("audit"))
	for _, rt := range contrib.Routes {
		srv.Add(rt.Method, rt.Path, routeHandlers(rt, int64(cfg.BodyLimit), d.Auth, forbidden)...)
	}
	d.LC.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			ln, err := net.Listen("tcp", cfg.Addr())
			if err != nil {
				return fmt.Errorf("listen on %s: %w", cfg.Addr(), err)
			}
			r.addrMu.Lock()
			r.addr = ln.Addr()
			r.addrMu.Unlock()
			limiter.Start()
			go func() {
				if err := srv.Listener(ln); err != nil {
					r.log.Error("http server stopped", zap.Error(err))
				}
			}()
			return nil
		},
		OnStop: func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, shareOf(cfg.ShutdownTimeout))
			defer cancel()
			err := srv.ShutdownWithContext(ctx)
			_ = limiter.Stop(ctx)
			return err
		},
	})
	return nil
}

// routeHandlers builds the chain of one module route: its tag for logs and
// metrics, the audit of its 403 answers (forbidden), its body limit,
// authentication, its own middleware, the handler.
func routeHandlers(rt Route, defaultLimit int64, auth authn.Authenticator, forbidden fiber.Handler) []fiber.Handler {
	limit := rt.BodyLimit
	if limit <= 0 {
		limit = defaultLimit
	}
	pattern := rt.Path
	hs := []fiber.Handler{httpx.Tag(&httpx.RouteInfo{Module: rt.Module, Pattern: pattern, Secret: rt.Secret}), forbidden}
	if rt.Timeout > 0 {
		hs = append(hs, ownDeadline(rt.Timeout))
	}
	if rt.Stream {
		hs = append(hs, streamedBody(limit, rt.Stall))
	} else {
		hs = append(hs, httpx.BodyLimit(limit))
	}
	switch {
	case rt.Auth:
		hs = append(hs, authn.Require(auth, rt.Roles...))
	case rt.OptionalAuth:
		hs = append(hs, authn.Optional(auth))
	}
	hs = append(hs, rt.Middleware...)
	return append(hs, rt.Handler)
}

// ownDeadline replaces the request's HANDLER_TIMEOUT deadline with d.
func ownDeadline(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), d)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// streamedBody refuses a streamed body whose declared length is too large
// (the handler enforces the limit on what it actually reads) and gives the
// handler the body as httpx.Body, watched for stalls. Afterwards it reads
// what the handler left of the body, so the connection stays usable.
func streamedBody(limit int64, stall time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if n := int64(c.Request().Header.ContentLength()); n > limit {
			return httpx.TooLarge(c, limit)
		}
		httpx.WatchBody(c, stall)
		err := c.Next()
		httpx.FinishBody(c)
		return err
	}
}

// streamedRoutes lists the routes that stream their bodies, for the server
// to hand their bodies over early (see httpx.ServerDeps.Streams).
func streamedRoutes(routes []Route) []httpx.StreamedRoute {
	var out []httpx.StreamedRoute
	for _, rt := range routes {
		if rt.Stream {
			out = append(out, httpx.StreamedRoute{Method: rt.Method, Path: rt.Path, Stall: rt.Stall})
		}
	}
	return out
}

func (r *Runtime) mountPlatform(srv *fiber.App, m *metrics.Metrics, contrib Contributions, loopChecks []health.Check) error {
	checks := append([]health.Check{
		{Name: "postgres", Fn: func(ctx context.Context) error { return r.pool.PingContext(ctx) }},
		{Name: "redis", Fn: func(ctx context.Context) error { return pingRedis(ctx, r.rdb) }},
	}, contrib.Checks...)
	checks = append(checks, loopChecks...)
	h := health.New(string(r.cfg.Env), r.plan.Names(), checks)
	m.WatchReadiness(func(ctx context.Context) map[string]bool {
		out := map[string]bool{}
		for name, res := range h.Run(ctx) {
			out[name] = res.Status == "up"
		}
		return out
	})
	tag := func(pattern string) fiber.Handler {
		return httpx.Tag(&httpx.RouteInfo{Module: PlatformModule, Pattern: pattern})
	}
	srv.Get("/health", tag("/health"), h.Live)
	srv.Get("/healthz", tag("/healthz"), h.Live)
	srv.Get("/readyz", tag("/readyz"), h.Ready)
	srv.Get("/status", tag("/status"), h.Status)
	if _, onAPI := r.cfg.MetricsListener(); onAPI {
		srv.Get("/metrics", tag("/metrics"), m.Handler())
	}
	spec, err := openapi.JSONHandler(r.openAPIDocument(contrib))
	if err != nil {
		return fmt.Errorf("openapi document: %w", err)
	}
	srv.Get("/openapi.json", tag("/openapi.json"), spec)
	docs := openapi.DocsHandler("/openapi.json")
	srv.Get("/docs", tag("/docs"), docs)
	srv.Get("/docs/*", tag("/docs/*"), docs)
	return nil
}

func pingRedis(ctx context.Context, rdb redis.UniversalClient) error {
	return rdb.Ping(ctx).Err()
}

func operations(routes []Route) []openapi.Operation {
	out := make([]openapi.Operation, len(routes))
	for i, rt := range routes {
		out[i] = rt.Doc
	}
	return out
}

func mergeFragments(frags []map[string]any) map[string]any {
	out := map[string]any{}
	for _, f := range frags {
		for k, v := range f {
			sub, ok := v.(map[string]any)
			prev, ok2 := out[k].(map[string]any)
			if ok && ok2 {
				for sk, sv := range sub {
					prev[sk] = sv
				}
				continue
			}
			out[k] = v
		}
	}
	return out
}

// MountedRoutes lists "METHOD /path" for every route the HTTP server has,
// empty without the API role. It reads the router itself, so tests can
// prove what is (and is not) mounted.
func (r *Runtime) MountedRoutes() []string {
	if r.server == nil {
		return nil
	}
	var out []string
	for _, rt := range r.server.GetRoutes(true) {
		out = append(out, rt.Method+" "+rt.Path)
	}
	return out
}
