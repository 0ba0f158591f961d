package modules_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules"
)

// FuzzGETRoutes sends arbitrary query strings and path parameters to every
// GET route of every built-in module, as an admin: whatever the bytes
// (NUL, invalid UTF-8, huge numbers, odd cursors), the answer is never a
// 5xx. The seed corpus runs in `make test`; to search further:
//
//	go test -run '^$' -fuzz FuzzGETRoutes -fuzztime 60s ./modules/
func FuzzGETRoutes(f *testing.F) {
	srv := apptest.Start(f, apptest.Options{Modules: modules.Builtin(), Env: map[string]string{
		"RATE_LIMIT_LIMIT": "10000000", "APP_PUBLIC_URL": "https://veza.test",
	}})
	token := adminToken(f, srv)
	var paths []string
	for _, r := range srv.Runtime.Contributions().Routes {
		if r.Method == http.MethodGet {
			paths = append(paths, r.Path)
		}
	}
	paths = append(paths, "/health", "/readyz", "/status", "/openapi.json", "/docs", "/api/v1/nowhere/:id")
	seeds := []struct{ query, param string }{
		{"q=%00", "x"},
		{"q=%ff%fe&genre=%c3%28", "%00"},
		{"limit=%00&cursor=%00", "\x00"},
		{"limit=99999999999999999999&cursor=" + strings.Repeat("A", 3000), "\xff"},
		{"sort=popular&user_id=not-a-uuid&visibility=%00", "00000000-0000-0000-0000-000000000000"},
		{"cursor=eyJ0IjoiMjAyNi0xMy0wMVQwMDowMDowMFoiLCJpIjoxfQ&limit=-1", "0192f0c1-7a3b-7cde-8f00-1234567890ab"},
		{"from=9999-99-99&to=%00&q=" + strings.Repeat("%E2%80%AE", 50), strings.Repeat("a", 500)},
		{"a%00b=1&&&=&q", ".."},
	}
	for i := range paths {
		for _, s := range seeds {
			f.Add(uint16(i), s.query, s.param)
		}
	}
	f.Fuzz(func(t *testing.T, route uint16, query, param string) {
		path := fill(paths[int(route)%len(paths)], param)
		status, err := get(srv, path, query, token)
		if err != nil {
			t.Fatalf("GET %s?%s: %v", path, query, err)
		}
		if status >= 500 {
			t.Fatalf("GET %s?%q: status %d", path, query, status)
		}
	})
}

// fill puts param, percent-encoded, in place of every path parameter.
func fill(pattern, param string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") || s == "*" {
			segs[i] = url.PathEscape(param)
		}
	}
	return strings.Join(segs, "/")
}

// get sends the request over a raw connection, so the fuzzed bytes reach
// the server as they are (Go's client refuses control characters).
func get(srv *apptest.Server, path, query, token string) (int, error) {
	target := path
	if query != "" {
		target += "?" + escapeControls(query)
	}
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(srv.URL, "http://"), 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: veza.test\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", target, token)
	if _, err := conn.Write([]byte(req)); err != nil {
		return 0, err
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	if n < 12 {
		return 0, fmt.Errorf("short answer %q: %v", buf[:n], err)
	}
	var status int
	if _, err := fmt.Sscanf(string(buf[9:12]), "%d", &status); err != nil {
		return 0, fmt.Errorf("answer %q", buf[:n])
	}
	return status, nil
}

// escapeControls percent-encodes what cannot appear raw in a request line
// (controls, space, '#'), keeping every other byte as the fuzzer made it.
func escapeControls(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// adminToken creates an admin with the auth module's own command and signs
// in over HTTP.
func adminToken(t testing.TB, srv *apptest.Server) string {
	t.Helper()
	var create *app.Command
	for _, c := range srv.Runtime.Contributions().Commands {
		if c.Name == "user create" {
			create = &c
		}
	}
	if create == nil {
		t.Fatal("the auth module has no user create command")
	}
	const pw = "a long enough fuzzing password"
	var out bytes.Buffer
	err := create.Run(context.Background(), []string{"--email", "fuzz@veza.test", "--username", "fuzzer",
		"--password", pw, "--role", "admin", "--verified"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		AccessToken string `json:"access_token"`
	}
	srv.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "fuzz@veza.test", "password": pw}).Status(t, 200).Data(t, &login)
	return login.AccessToken
}
