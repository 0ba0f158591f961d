package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
)

// StreamedRoute is a route whose handler reads the request body as it
// arrives (an upload) instead of receiving it whole.
type StreamedRoute struct {
	Method string
	// Path is the route's pattern, as mounted: /api/v1/tracks, /files/:id.
	Path string
	// Stall ends the request with 408 upload_stalled once its body has
	// delivered nothing for that long; 0 leaves only the server's read
	// timeout.
	Stall time.Duration
}

// UploadStalled is the answer to an upload whose body delivered nothing for
// d: the client stopped sending without closing the connection.
func UploadStalled(d time.Duration) *Error {
	return NewError(http.StatusRequestTimeout, "upload_stalled",
		fmt.Sprintf("the upload sent nothing for %s and was abandoned; send it again", d))
}

// streams holds the streamed routes of a server, for the moments before
// Fiber routes a request: fasthttp reads the first bytes of every body
// before any handler runs, under the server's read timeout (minutes), and a
// body that stalls there would hold its connection that long and be
// answered as a plain request timeout.
type streams struct {
	routes []streamPattern
	// pending holds, from the moment a streamed request's headers are read
	// until its first handler runs, the stall timeout of its route. When
	// fasthttp's early read times out it resets the request before reporting
	// the error, so the route would otherwise be lost for the answer. Keys
	// are &RequestCtx.Request.Header, the one pointer fasthttp hands to both
	// sides; every request leaves either through the handler chain (see
	// clear) or through the server's error handler (see stalled), both of
	// which remove its entry.
	mu      sync.Mutex
	pending map[*fasthttp.RequestHeader]time.Duration
	count   atomic.Int64
}

type streamPattern struct {
	method string
	segs   []string
	stall  time.Duration
}

func newStreams(routes []StreamedRoute) *streams {
	s := &streams{pending: map[*fasthttp.RequestHeader]time.Duration{}}
	for _, r := range routes {
		s.routes = append(s.routes, streamPattern{method: r.Method, segs: splitPath(r.Path), stall: r.Stall})
	}
	return s
}

// install hooks s into the server under app.
func (s *streams) install(app *fiber.App) {
	if len(s.routes) > 0 {
		app.Server().HeaderReceived = s.headerReceived
	}
}

// headerReceived configures the read of a streamed request's first body
// bytes: at most what one read of the connection returns (the handler
// streams the rest), within the route's stall timeout.
func (s *streams) headerReceived(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	r, ok := s.lookup(h)
	if !ok {
		return fasthttp.RequestConfig{}
	}
	if r.stall > 0 {
		s.mu.Lock()
		s.pending[h] = r.stall
		s.count.Store(int64(len(s.pending)))
		s.mu.Unlock()
	}
	// 1 is the smallest limit fasthttp takes; past it the body is streamed.
	return fasthttp.RequestConfig{MaxRequestBodySize: 1, ReadTimeout: r.stall}
}

// clear forgets the request's entry: its handler chain runs, so its body is
// the handler's to read.
func (s *streams) clear(c *fiber.Ctx) error {
	if s.count.Load() > 0 {
		s.take(&c.Context().Request.Header)
	}
	return c.Next()
}

func (s *streams) take(h *fasthttp.RequestHeader) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.pending[h]
	if ok {
		delete(s.pending, h)
		s.count.Store(int64(len(s.pending)))
	}
	return d, ok
}

// stalled wraps the server's error handler: a streamed request whose first
// body bytes did not come within its stall timeout is answered like one
// that stalled later, in its handler.
func (s *streams) stalled(next fiber.ErrorHandler) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		if s.count.Load() > 0 {
			if d, ok := s.take(&c.Context().Request.Header); ok && errors.Is(err, fiber.ErrRequestTimeout) {
				err = UploadStalled(d)
			}
		}
		return next(c, err)
	}
}

// lookup finds the streamed route h is for, matching as Fiber does with its
// default settings: the raw path, letter case and a trailing slash ignored.
func (s *streams) lookup(h *fasthttp.RequestHeader) (streamPattern, bool) {
	method := h.Method()
	candidate := false
	for _, r := range s.routes {
		candidate = candidate || string(method) == r.method
	}
	if !candidate {
		return streamPattern{}, false // the usual case, without parsing the URI
	}
	u := fasthttp.AcquireURI()
	defer fasthttp.ReleaseURI(u)
	if err := u.Parse(nil, h.RequestURI()); err != nil {
		return streamPattern{}, false
	}
	segs := splitPath(string(u.PathOriginal()))
	for _, r := range s.routes {
		if string(method) == r.method && matchSegments(r.segs, segs) {
			return r, true
		}
	}
	return streamPattern{}, false
}

func splitPath(p string) []string {
	return strings.Split(strings.Trim(strings.ToLower(p), "/"), "/")
}

// matchSegments reports whether path fits pattern: ":name" takes one
// non-empty segment, "*" or "+" the rest.
func matchSegments(pattern, path []string) bool {
	for i, p := range pattern {
		if p == "*" || p == "+" {
			return true
		}
		if i >= len(path) {
			return false
		}
		if strings.HasPrefix(p, ":") {
			if path[i] == "" {
				return false
			}
			continue
		}
		if p != path[i] {
			return false
		}
	}
	return len(path) == len(pattern)
}

const localBody = "veza.body"

// WatchBody prepares Body(c) for a streamed route's handler; the platform
// calls it in front of every route mounted with app.StreamBody.
func WatchBody(c *fiber.Ctx, stall time.Duration) {
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return
	}
	c.Locals(localBody, &bodyReader{r: stream, conn: c.Context().Conn(), stall: stall,
		ctx: c.UserContext(), want: int64(c.Request().Header.ContentLength())})
}

// Body is the request body of a streamed route, read as it arrives. It
// fails with io.ErrUnexpectedEOF when the client closes the connection
// before sending the Content-Length it announced (fasthttp reports that as
// the end of the body), and with UploadStalled when the route has a stall
// timeout and nothing arrives for that long. Outside streamed routes it is
// the body read whole.
func Body(c *fiber.Ctx) io.Reader {
	if b, ok := c.Locals(localBody).(*bodyReader); ok {
		return b
	}
	if stream := c.Context().RequestBodyStream(); stream != nil {
		return stream
	}
	return bytes.NewReader(c.Body())
}

// bodyReader is what Body returns on a streamed route.
type bodyReader struct {
	r     io.Reader
	conn  net.Conn
	stall time.Duration
	ctx   context.Context
	want  int64 // Content-Length; negative when chunked
	n     int64
	err   error // sticky: nothing comes after a failure
	// deadline is the connection's read deadline for the current read;
	// drainBy, once set, the end of the reading.
	deadline, drainBy time.Time
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	b.arm()
	n, err := b.r.Read(p)
	b.n += int64(n)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		if b.want >= 0 && b.n < b.want {
			err = fmt.Errorf("the body ended after %d of its %d bytes: %w", b.n, b.want, io.ErrUnexpectedEOF)
		}
	case b.expired():
		err = b.timeout()
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// arm gives the coming read until the stall timeout (or the handler's own
// deadline, if sooner): the limit is on silence, not on the whole upload,
// whose length the handler's deadline bounds. Once the handler is done, a
// drain of the rest (see drain) has a deadline of its own.
func (b *bodyReader) arm() {
	if b.conn == nil || (b.stall <= 0 && b.drainBy.IsZero()) {
		return // the server's read timeout stays
	}
	deadline := b.drainBy
	if b.stall > 0 {
		d := time.Now().Add(b.stall)
		if ctxDeadline, ok := b.ctx.Deadline(); ok && ctxDeadline.Before(d) {
			d = ctxDeadline
		}
		if deadline.IsZero() || d.Before(deadline) {
			deadline = d
		}
	}
	b.deadline = deadline
	_ = b.conn.SetReadDeadline(deadline)
}

// drain bounds what is left of the body's reading in time: after its
// handler, the body is only read to keep the connection usable, and a
// client trickling it must not hold the connection for the stall timeout
// again and again.
func (b *bodyReader) drain() io.Reader {
	if b.drainBy.IsZero() {
		b.drainBy = time.Now().Add(drainTime)
	}
	return b
}

// expired reports whether a failed read ran into the deadline arm set. The
// time is checked rather than the error: fasthttp wraps errors of chunked
// bodies in a type that hides the timeout from errors.As.
func (b *bodyReader) expired() bool {
	return !b.deadline.IsZero() && !time.Now().Before(b.deadline)
}

func (b *bodyReader) timeout() error {
	if err := b.ctx.Err(); err != nil {
		return err
	}
	return UploadStalled(b.stall)
}
