package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// HeaderRequestID carries the request id in and out.
const HeaderRequestID = "X-Request-ID"

const (
	localRequestID = "veza.request_id"
	localRoute     = "veza.route"
)

// RouteInfo tells the access log and metrics which module and route pattern
// served a request; the platform attaches it to every route it mounts.
type RouteInfo struct {
	Module  string
	Pattern string
	// Secret lists the path parameters ("token") whose values must never
	// be written down: logs show them as [redacted].
	Secret []string
}

// Redacted is what logs show instead of a secret path parameter.
const Redacted = "[redacted]"

// LogPath is the request's path as logs may show it: the route's secret
// parameters (a share token...) replaced by [redacted]. Metrics use the
// route's pattern and never see values at all. The string is a copy: Fiber
// reuses the request's bytes for the next request on the connection, and a
// core that keeps entries (a buffer, a test observer) would otherwise see
// another request's path.
func LogPath(c *fiber.Ctx) string {
	ri := Route(c)
	path := c.Path()
	if len(ri.Secret) == 0 {
		return strings.Clone(path)
	}
	return redactPath(ri.Pattern, path, ri.Secret)
}

// methodName returns the method as a string of its own: a constant for
// the usual ones, a copy otherwise (see LogPath).
func methodName(m string) string {
	switch m {
	case fiber.MethodGet:
		return fiber.MethodGet
	case fiber.MethodPost:
		return fiber.MethodPost
	case fiber.MethodPut:
		return fiber.MethodPut
	case fiber.MethodDelete:
		return fiber.MethodDelete
	case fiber.MethodPatch:
		return fiber.MethodPatch
	case fiber.MethodHead:
		return fiber.MethodHead
	case fiber.MethodOptions:
		return fiber.MethodOptions
	}
	return strings.Clone(m)
}

// redactPath replaces the segments of path that pattern names as secret
// parameters. Past a wildcard segments no longer line up, so the rest is
// redacted whole.
func redactPath(pattern, path string, secret []string) string {
	pat := strings.Split(pattern, "/")
	segs := strings.Split(path, "/")
	for i := range segs {
		if i >= len(pat) {
			break
		}
		p := pat[i]
		if strings.HasPrefix(p, "*") || strings.HasPrefix(p, "+") {
			return strings.Join(append(segs[:i:i], Redacted), "/")
		}
		name, isParam := strings.CutPrefix(p, ":")
		name = strings.TrimSuffix(name, "?")
		if isParam && slices.Contains(secret, name) {
			segs[i] = Redacted
		}
	}
	return strings.Join(segs, "/")
}

// unmatched labels requests no route took, so that scanning junk paths cannot
// blow up the metrics' label sets.
var unmatched = &RouteInfo{Module: "platform", Pattern: "unmatched"}

// Tag returns a handler that marks the request as served by info.
func Tag(info *RouteInfo) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Locals(localRoute, info)
		return c.Next()
	}
}

// Route returns what Tag recorded, or the "unmatched" marker.
func Route(c *fiber.Ctx) *RouteInfo {
	if ri, ok := c.Locals(localRoute).(*RouteInfo); ok {
		return ri
	}
	return unmatched
}

// RequestID returns the request's id (set by the RequestID middleware).
func RequestID(c *fiber.Ctx) string {
	if id, ok := c.Locals(localRequestID).(string); ok {
		return id
	}
	return ""
}

// RequestIDMiddleware echoes a client's X-Request-ID when it is sane (at most
// 128 characters of letters, digits and ._:-) and otherwise makes one.
func RequestIDMiddleware() fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := c.Get(HeaderRequestID)
		if !saneID(id) {
			id = newID()
		} else {
			id = strings.Clone(id) // Fiber reuses the header's bytes after the request
		}
		c.Locals(localRequestID, id)
		c.Set(HeaderRequestID, id)
		return c.Next()
	}
}

func saneID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
			b == '-' || b == '_' || b == '.' || b == ':') {
			return false
		}
	}
	return true
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// HTTPObserver records one finished request (metrics).
type HTTPObserver interface {
	ObserveHTTP(method, route, module string, status int, elapsed time.Duration)
}

// AccessLog writes one log line per request and reports it to obs. It sits
// outside Recover, so it sees the final status of every answer, errors and
// panics included.
func AccessLog(log *zap.Logger, obs HTTPObserver) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		if err := c.Next(); err != nil {
			WriteError(c, log, err)
		}
		elapsed := time.Since(start)
		status := c.Response().StatusCode()
		ri := Route(c)
		if obs != nil {
			obs.ObserveHTTP(c.Method(), ri.Pattern, ri.Module, status, elapsed)
		}
		level := zapcore.InfoLevel
		if status >= 500 {
			level = zapcore.ErrorLevel
		}
		if ce := log.Check(level, "request"); ce != nil {
			ce.Write(
				zap.String("request_id", RequestID(c)),
				zap.String("method", methodName(c.Method())),
				zap.String("path", LogPath(c)),
				zap.String("route", ri.Pattern),
				zap.String("module", ri.Module),
				zap.Int("status", status),
				zap.Duration("latency", elapsed),
				zap.String("ip", c.IP()),
				zap.Int("bytes", len(c.Response().Body())),
			)
		}
		return nil
	}
}

// Recover turns a panic into a 500 envelope (logged with its stack) and any
// returned error into its envelope, so nothing outside sees a raw error.
func Recover(log *zap.Logger) fiber.Handler {
	return func(c *fiber.Ctx) (err error) {
		defer func() {
			if p := recover(); p != nil {
				log.Error("panic in handler", zap.String("request_id", RequestID(c)),
					zap.Any("panic", p), zap.ByteString("stack", debug.Stack()))
				WriteError(c, nil, Internal(fmt.Errorf("panic: %v", p)))
				err = nil
			}
		}()
		if err := c.Next(); err != nil {
			WriteError(c, log, err)
		}
		return nil
	}
}

// SecurityHeaders sets conservative defaults for JSON answers; handlers that
// serve pages (docs, dashboard) replace the Content-Security-Policy.
func SecurityHeaders(hsts bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := &c.Response().Header
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if hsts {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		return c.Next()
	}
}

// Timeout gives the handler a context that ends after d. Handlers pass
// c.UserContext() to every I/O call, so a slow query is cancelled and the
// request answers 503 "timeout". Nothing is aborted behind the handler's back:
// a Fiber context cannot be shared with another goroutine.
func Timeout(d time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), d)
		defer cancel()
		c.SetUserContext(ctx)
		err := c.Next()
		if err != nil && ctx.Err() == context.DeadlineExceeded && !isAnswer(err) {
			return Unavailable("timeout", "the request took too long; try again", err)
		}
		return err
	}
}

// isAnswer reports whether err is already a deliberate HTTP answer.
func isAnswer(err error) bool {
	var he *Error
	var fe *fiber.Error
	return errors.As(err, &he) || errors.As(err, &fe)
}

// BodyLimit answers 413 when the body is larger than limit. The server streams
// request bodies (uploads need it), and reading a chunked body without a
// Content-Length would otherwise be unbounded, so such a body is read here up
// to limit+1 bytes and kept as the body.
func BodyLimit(limit int64) fiber.Handler {
	return func(c *fiber.Ctx) error {
		req := c.Request()
		n := int64(req.Header.ContentLength())
		if n > limit {
			return TooLarge(c, limit)
		}
		stream := c.Context().RequestBodyStream()
		if n >= 0 || stream == nil {
			return c.Next() // a known length within the limit
		}
		buf := make([]byte, 0, min(limit+1, 64<<10))
		for int64(len(buf)) <= limit {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			m, err := stream.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+m]
			if err != nil {
				break
			}
		}
		if int64(len(buf)) > limit {
			return TooLarge(c, limit)
		}
		req.SetBodyRaw(buf)
		return c.Next()
	}
}

// drainMax is how much of a refused body is read and dropped before answering,
// as net/http does: closing a socket with unread data makes the kernel send a
// reset, and a client still writing its body would see "broken pipe" instead
// of the 413. Larger bodies are cut off.
const drainMax = 256 << 10

// drainTime bounds such a drain in time, on streamed routes.
const drainTime = 10 * time.Second

// DiscardBody is for handlers that refuse a request before reading its
// whole body: it reads and drops up to 256 KiB of what is left, so a client
// still sending can read the answer, and closes the connection after it.
func DiscardBody(c *fiber.Ctx) {
	if stream := unreadBody(c); stream != nil {
		_, _ = io.CopyN(io.Discard, stream, drainMax)
	}
	c.Context().SetConnectionClose()
}

// FinishBody reads what a streaming handler left of the request body (a
// multipart epilogue, a chunked body's last chunk) so the connection can
// serve its next request; a large rest, or one that does not end cleanly
// (cut, stalled), closes the connection instead: the server would read
// what is left of it as the next request.
func FinishBody(c *fiber.Ctx) {
	stream := unreadBody(c)
	if stream == nil {
		return
	}
	if _, err := io.CopyN(io.Discard, stream, drainMax+1); err != io.EOF {
		c.Context().SetConnectionClose()
	}
}

// unreadBody is what remains of a streamed body: through Body's reader when
// the platform watches it, which remembers the body's end (fasthttp's
// stream of a chunked body, read again after its last chunk, would wait
// for the next request's bytes) and bounds the drain in time.
func unreadBody(c *fiber.Ctx) io.Reader {
	if b, ok := c.Locals(localBody).(*bodyReader); ok {
		return b.drain()
	}
	if stream := c.Context().RequestBodyStream(); stream != nil {
		return stream
	}
	return nil
}

// TooLarge answers 413 and closes the connection afterwards: the rest of the
// body is not read (beyond a small drain), and the server would otherwise
// parse it as the next request.
func TooLarge(c *fiber.Ctx, limit int64) error {
	DiscardBody(c)
	return NewError(fiber.StatusRequestEntityTooLarge, "body_too_large",
		"the body is larger than the "+strconv.FormatInt(limit, 10)+" bytes this route accepts")
}
