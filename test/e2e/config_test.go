package e2e

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The seed's own .env, copied next to the binary, starts Veza: enumerated
// values in any letter case with inline comments, and empty values meaning
// "use the default".
func TestSeedEnvFileStartsVeza(t *testing.T) {
	p := newProc(t, allButClash)
	delete(p.env, "LOG_LEVEL")
	p.env["APP_ENV"] = "Test"
	p.env["RATE_LIMIT_LIMIT"] = "" // empty: the default
	seed := "# Veza\nLOG_LEVEL=INFO # DEBUG|INFO|WARN|ERROR\nLOG_FORMAT=JSON\nMAIL_DRIVER=Log # smtp|log|dir\n" +
		"STORAGE_BACKEND=Local\nWORKER_CONCURRENCY=2 # jobs at once\nMIGRATE_ON_START=Yes\nSHUTDOWN_TIMEOUT=\n"
	if err := os.WriteFile(filepath.Join(p.dir, ".env"), []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := p.run("config", "check", "--offline"); r.code != 0 {
		t.Fatalf("config check with the seed's .env: exit %d\n%s", r.code, r.stderr)
	}
	srv := p.serve()
	res, err := http.Get(srv.url + "/health")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("health: %v %v\n%s", err, res, srv.stderr)
	}
	res.Body.Close()
	// LOG_LEVEL=INFO took effect: info lines are written (the default in
	// test is warn, which writes none at start-up).
	if err := srv.stop(t, 30e9); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if !strings.Contains(srv.stderr.String(), `"level":"info"`) {
		t.Fatalf("LOG_LEVEL=INFO from .env not applied:\n%s", srv.stderr)
	}

	// The real environment wins over the file, and its values are as
	// lenient.
	p.env["LOG_LEVEL"] = "Error"
	if r := p.run("config", "check", "--offline"); r.code != 0 || strings.Contains(r.stderr, `"level":"warn"`) {
		t.Fatalf("environment over .env: exit %d\n%s", r.code, r.stderr)
	}
	p.env["VEZA_ENV_FILE"] = "missing.env"
	if r := p.run("config", "check", "--offline"); r.code != 1 || !strings.Contains(r.stderr, "VEZA_ENV_FILE missing.env") {
		t.Fatalf("missing named env file: exit %d\n%s", r.code, r.stderr)
	}
}

// NUL bytes and invalid UTF-8 in a query string, a path parameter or a
// header never reach a handler's SQL: the binary answers 400 bad_encoding,
// on every route.
func TestBadEncodingRefused(t *testing.T) {
	p := newProc(t, allButClash)
	srv := p.serve()
	addr := strings.TrimPrefix(srv.url, "http://")
	for _, raw := range []string{
		"GET /api/v1/notes/00000000-0000-0000-0000-000000000000?q=%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /api/v1/notes/%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /api/v1/notes/%ff%fe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"POST /api/v1/notes HTTP/1.1\r\nHost: x\r\nUser-Agent: \xff\r\nContent-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"text\":\"x\"}",
	} {
		status, body := rawRequest(t, addr, raw)
		if status != 400 || !strings.Contains(body, `"code":"bad_encoding"`) {
			t.Errorf("%q: %d %s", raw, status, body)
		}
	}
	if n := psql(t, p, "SELECT count(*) FROM notes"); n != "0" {
		t.Fatalf("a refused request wrote %s notes", n)
	}
}

func rawRequest(t *testing.T, addr, raw string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
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
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
