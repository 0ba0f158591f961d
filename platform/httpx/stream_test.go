package httpx

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// The server finds a streamed route before Fiber routes the request, as
// Fiber would: raw path, any letter case, a trailing slash or a query.
func TestStreamLookup(t *testing.T) {
	s := newStreams([]StreamedRoute{
		{Method: "POST", Path: "/api/v1/tracks", Stall: time.Second},
		{Method: "PUT", Path: "/api/v1/files/:id/content", Stall: 2 * time.Second},
	})
	cases := []struct {
		method, uri string
		stall       time.Duration
	}{
		{"POST", "/api/v1/tracks", time.Second},
		{"POST", "/API/v1/Tracks/", time.Second},
		{"POST", "/api/v1/tracks?x=1", time.Second},
		{"POST", "http://veza.test/api/v1/tracks", time.Second},
		{"PUT", "/api/v1/files/abc/content", 2 * time.Second},
		{"GET", "/api/v1/tracks", 0},
		{"POST", "/api/v1/tracks/x", 0},
		{"POST", "/api/v1", 0},
		{"PUT", "/api/v1/files//content", 0},
		{"POST", "/api/v1/./tracks", 0}, // Fiber does not route it either
	}
	for _, c := range cases {
		var h fasthttp.RequestHeader
		h.SetMethod(c.method)
		h.SetRequestURI(c.uri)
		r, ok := s.lookup(&h)
		if ok != (c.stall > 0) || r.stall != c.stall {
			t.Errorf("%s %s: found %v with stall %s, want stall %s", c.method, c.uri, ok, r.stall, c.stall)
		}
	}
}

// The body of a streamed route fails, instead of ending, when the
// connection closes before the announced Content-Length.
func TestBodyReaderShortBody(t *testing.T) {
	b := &bodyReader{r: strings.NewReader("hello"), want: 10, ctx: t.Context()}
	got, err := io.ReadAll(b)
	if string(got) != "hello" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read %q, %v; want the bytes and io.ErrUnexpectedEOF", got, err)
	}
	if n, err := b.Read(make([]byte, 4)); n != 0 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a read after the failure: %d, %v", n, err)
	}
	b = &bodyReader{r: strings.NewReader("hello"), want: 5, ctx: t.Context()}
	if got, err := io.ReadAll(b); string(got) != "hello" || err != nil {
		t.Fatalf("a whole body: %q, %v", got, err)
	}
	b = &bodyReader{r: strings.NewReader("chunked"), want: -1, ctx: t.Context()}
	if got, err := io.ReadAll(b); string(got) != "chunked" || err != nil {
		t.Fatalf("a chunked body: %q, %v", got, err)
	}
}
