package e2e

import (
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
