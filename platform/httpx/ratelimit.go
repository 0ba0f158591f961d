package httpx

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/veza/veza/platform/ratelimit"
)

// Limiter decides whether a client may make one more request.
type Limiter interface {
	Allow(key string) ratelimit.Decision
}

// RateLimit limits each client IP, answering 429 with Retry-After when over
// the limit and the X-RateLimit-* headers on every limited route.
// X-RateLimit-Reset is the Unix time (seconds) at which the window ends.
// Requests for which skip returns true (probes, metrics) are not counted.
func RateLimit(l Limiter, skip func(c *fiber.Ctx) bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if skip != nil && skip(c) {
			return c.Next()
		}
		d := l.Allow(c.IP())
		h := &c.Response().Header
		h.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(d.Reset.Unix(), 10))
		if !d.Allowed {
			return TooManyRequests("rate_limited", "too many requests; retry after the time in Retry-After", d.RetryAfter)
		}
		return c.Next()
	}
}
