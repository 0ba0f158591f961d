package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Every refusal: exit code 1, one line on stderr naming the problem and the
// fix, and the port never accepted a connection.
func TestStartupRefusals(t *testing.T) {
	long := strings.Repeat("s", 40)
	cases := []struct {
		name    string
		binary  string
		modules string
		env     map[string]string
		args    []string
		want    string
	}{
		{name: "short JWT secret", modules: allButClash, env: map[string]string{"JWT_SECRET": "short"},
			want: "JWT_SECRET must be at least 32 characters"},
		{name: "production without CORS origins", modules: allButClash,
			env:  map[string]string{"APP_ENV": "production", "JWT_SECRET": long},
			want: "CORS_ALLOWED_ORIGINS is empty"},
		{name: "production without DATABASE_URL", modules: allButClash,
			env:  map[string]string{"APP_ENV": "production", "JWT_SECRET": long, "CORS_ALLOWED_ORIGINS": "https://a.example", "DATABASE_URL": ""},
			want: "DATABASE_URL is not set"},
		{name: "production without APP_PUBLIC_URL", modules: allButClash,
			env:  map[string]string{"APP_ENV": "Production", "JWT_SECRET": long, "CORS_ALLOWED_ORIGINS": "https://a.example", "DATABASE_URL": "postgres://x/y"},
			want: "APP_PUBLIC_URL is not set; production needs"},
		{name: "unknown environment", modules: allButClash, env: map[string]string{"APP_ENV": "qa"},
			want: `APP_ENV="qa" must be development, test, staging or production (any letter case)`},
		{name: "unknown log level", modules: allButClash, env: map[string]string{"LOG_LEVEL": "LOUD # DEBUG|INFO"},
			want: `LOG_LEVEL="LOUD # DEBUG|INFO" must be debug, info, warn or error`},
		{name: "unknown module", modules: "modules:\n  trakcs: {enabled: true}\n",
			want: `unknown module "trakcs" in modules.trakcs`},
		{name: "unknown module in an edition", modules: "edition: small\neditions:\n  small: [notes, blog]\n",
			want: `unknown module "blog" in editions.small`},
		{name: "unknown edition", modules: "edition: huge\neditions:\n  small: [notes]\n",
			want: `edition "huge" is not defined`},
		{name: "requirement disabled", modules: "modules:\n  notes: {enabled: false}\n  feed: {enabled: true}\n",
			want: "module feed requires notes, which is disabled; fix: enable notes (modules.notes.enabled: true) or disable feed"},
		{name: "cycle", binary: bin.cycle, modules: "modules:\n  chicken: {enabled: true}\n",
			want: "dependency cycle chicken -> egg -> chicken"},
		{name: "invalid settings", modules: "modules:\n  notes: {enabled: true, settings: {max_length: 0}}\n",
			want: "modules.notes.settings: max_length must be at least 1"},
		{name: "unknown setting", modules: "modules:\n  notes: {enabled: true, settings: {max_len: 3}}\n",
			want: "modules.notes.settings"},
		{name: "malformed modules file", modules: "modules: [notes\n", want: "modules.yaml"},
		{name: "route and job conflicts", modules: "modules:\n  notes: {enabled: true}\n  clash: {enabled: true}\n",
			want: "modules clash and notes both register GET /api/v1/notes/:id; fix: change one path or disable one module; module clash registers job type clash:sync twice"},
		{name: "missing modules file named by flag", modules: allButClash, args: []string{"--modules", "nowhere.yaml"},
			want: "modules file: open nowhere.yaml: no such file or directory"},
		{name: "missing modules file named by environment", modules: allButClash, env: map[string]string{"VEZA_MODULES_FILE": "nowhere.yaml"},
			want: "modules file: open nowhere.yaml"},
		{name: "port taken", modules: allButClash, want: "address already in use"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newProc(t, tc.modules)
			for k, v := range tc.env {
				p.env[k] = v
			}
			if tc.name == "port taken" {
				ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p.port))
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
			}
			binary := bin.veza
			if tc.binary != "" {
				binary = tc.binary
			}
			cmd := p.command(t.Context(), binary, append([]string{"serve"}, tc.args...)...)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			listened := false
		wait:
			for {
				select {
				case err = <-done:
					break wait
				case <-time.After(5 * time.Millisecond):
					if tc.name != "port taken" {
						if c, derr := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.port), 50*time.Millisecond); derr == nil {
							c.Close()
							listened = true
						}
					}
				case <-time.After(30 * time.Second):
					_ = cmd.Process.Kill()
					t.Fatal("veza serve did not refuse within 30s")
				}
			}
			if err == nil || cmd.ProcessState.ExitCode() != 1 {
				t.Fatalf("exit: %v (code %d), want code 1; stderr:\n%s", err, cmd.ProcessState.ExitCode(), stderr.String())
			}
			if listened {
				t.Fatal("the port accepted a connection before the refusal")
			}
			var refusal []string
			for _, l := range lines(stderr.String()) {
				if strings.HasPrefix(l, "veza: ") {
					refusal = append(refusal, l)
				}
			}
			if len(refusal) != 1 || !strings.Contains(refusal[0], tc.want) {
				t.Fatalf("stderr refusal lines %q, want one containing %q; stderr:\n%s", refusal, tc.want, stderr.String())
			}
			// config check refuses the same way, without starting anything.
			if tc.name != "port taken" {
				r := p.runBinary(binary, append([]string{"config", "check", "--offline"}, tc.args...)...)
				if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
					t.Fatalf("config check: code %d, stderr %q; want code 1 and %q", r.code, r.stderr, tc.want)
				}
			}
		})
	}
}

func TestConfigCheckAccepts(t *testing.T) {
	p := newProc(t, allButClash)
	r := p.run("config", "check")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ok: test environment, 3 module(s) enabled (notes, feed, tap)") {
		t.Fatalf("config check: code %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	p.env["REDIS_URL"] = "redis://127.0.0.1:1/0"
	r = p.run("config", "check")
	if r.code != 1 || !strings.Contains(r.stderr, "REDIS_URL does not answer") {
		t.Fatalf("config check with Redis down: code %d stderr %s", r.code, r.stderr)
	}
}

// SIGTERM while requests are in flight: every one of them is answered, new
// connections are refused, and the process exits 0.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	p := newProc(t, allButClash)
	srv := p.serve()
	const n = 20
	var wg sync.WaitGroup
	statuses := make(chan string, n)
	client := &http.Client{Timeout: 30 * time.Second}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := client.Get(srv.url + "/api/v1/notes-slow?for=1500ms")
			if err != nil {
				statuses <- err.Error()
				return
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			statuses <- fmt.Sprintf("%d %s", res.StatusCode, body)
		}()
	}
	time.Sleep(400 * time.Millisecond) // all 20 are inside the handler
	stopped := make(chan error, 1)
	go func() { stopped <- srv.stop(t, 30*time.Second) }()
	time.Sleep(200 * time.Millisecond)
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(srv.url, "http://"), 200*time.Millisecond); err == nil {
		c.Close()
		t.Error("a new connection was accepted after SIGTERM")
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if !strings.HasPrefix(s, "200 ") || !strings.Contains(s, `"slept":"1.5s"`) {
			t.Errorf("in-flight request: %s", s)
		}
	}
	if err := <-stopped; err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, srv.stderr)
	}
}

// In test and production, serve runs no worker unless --with-worker.
func TestServeWithWorkerFlag(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		handled bool
	}{{nil, false}, {[]string{"--with-worker"}, true}} {
		t.Run(fmt.Sprint(tc.args), func(t *testing.T) {
			p := newProc(t, allButClash)
			srv := p.serve(tc.args...)
			res, err := http.Post(srv.url+"/api/v1/notes", "application/json", strings.NewReader(`{"text":"x"}`))
			if err != nil || res.StatusCode != 201 {
				t.Fatalf("POST: %v %v", err, res)
			}
			res.Body.Close()
			time.Sleep(2 * time.Second)
			r := p.run("migrate", "status") // the binary still answers commands while serving
			if r.code != 0 {
				t.Fatalf("migrate status: %s", r.stderr)
			}
			pending := psql(t, p, "SELECT count(*) FROM outbox WHERE dispatched_at IS NULL")
			if handled := pending == "0"; handled != tc.handled {
				t.Fatalf("args %v: pending outbox rows %s, want handled=%v", tc.args, pending, tc.handled)
			}
		})
	}
}
