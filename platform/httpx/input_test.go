package httpx

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// serveRaw starts app on loopback and returns a function sending one raw
// request and reading the answer's status and error code.
func serveRaw(t *testing.T, app *fiber.App) func(raw string) (int, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return func(raw string) (int, string) {
		t.Helper()
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.Write([]byte(raw)); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		defer res.Body.Close()
		var env struct {
			Error struct {
				Code    string       `json:"code"`
				Details []FieldError `json:"details"`
			} `json:"error"`
		}
		_ = json.NewDecoder(res.Body).Decode(&env)
		return res.StatusCode, env.Error.Code
	}
}

// NUL bytes and invalid UTF-8 in the path, the query or a header never reach
// a handler: 400 bad_encoding, for matched and unmatched routes alike.
func TestCleanInput(t *testing.T) {
	app := fiber.New(fiber.Config{ErrorHandler: ErrorHandler(nil)})
	app.Use(RequestIDMiddleware(), Recover(nil), CleanInput())
	reached := 0
	app.Get("/things/:id", func(c *fiber.Ctx) error { reached++; return OK(c, c.Params("id")) })
	send := serveRaw(t, app)
	get := func(target string, headers ...string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + strings.Join(headers, "") + "Connection: close\r\n\r\n"
	}
	for _, tc := range []struct {
		name, raw string
		status    int
		code      string
	}{
		{"clean", get("/things/abc?q=caf%C3%A9&limit=2", "User-Agent: curl/8 \xc3\xa9\r\n"), 200, ""},
		{"NUL in query value", get("/things/abc?q=%00"), 400, "bad_encoding"},
		{"NUL in query name", get("/things/abc?a%00b=1"), 400, "bad_encoding"},
		{"invalid UTF-8 in query", get("/things/abc?q=%ff%fe"), 400, "bad_encoding"},
		{"raw invalid UTF-8 in query", get("/things/abc?q=\xff"), 400, "bad_encoding"},
		{"NUL in path parameter", get("/things/a%00b"), 400, "bad_encoding"},
		{"invalid UTF-8 in path parameter", get("/things/%c3%28"), 400, "bad_encoding"},
		{"NUL in path of no route", get("/nothing/%00"), 400, "bad_encoding"},
		{"invalid UTF-8 in a header", get("/things/abc", "User-Agent: \xff\xfe\r\n"), 400, "bad_encoding"},
		{"NUL in a header", get("/things/abc", "X-Verify-Token: a\x00b\r\n"), 400, "bad_encoding"},
	} {
		status, code := send(tc.raw)
		if status != tc.status || (tc.code != "" && code != tc.code) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, status, code, tc.status, tc.code)
		}
	}
	if reached != 1 {
		t.Fatalf("the handler ran %d times, want once (only the clean request)", reached)
	}
}

func TestRedactPath(t *testing.T) {
	for _, tc := range []struct{ pattern, path, want string }{
		{"/api/v1/tracks/shared/:token", "/api/v1/tracks/shared/abc123", "/api/v1/tracks/shared/[redacted]"},
		{"/api/v1/tracks/shared/:token/stream", "/api/v1/tracks/shared/abc/stream", "/api/v1/tracks/shared/[redacted]/stream"},
		{"/a/:id/b/:token?", "/a/1/b/sekrit", "/a/1/b/[redacted]"},
		{"/files/*", "/files/x/sekrit", "/files/[redacted]"},
	} {
		if got := redactPath(tc.pattern, tc.path, []string{"token"}); got != tc.want {
			t.Errorf("redactPath(%q, %q) = %q, want %q", tc.pattern, tc.path, got, tc.want)
		}
	}
}
