package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/veza/veza/platform/testkit"
)

func scrape(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// The gauges an operator alerts on are served, with values that follow
// what happens: a note written while no worker runs waits in the outbox.
func TestOperatorMetrics(t *testing.T) {
	p := newProc(t, allButClash)
	srv := p.serve() // test environment: no worker inside serve
	res, err := http.Post(srv.url+"/api/v1/notes", "application/json", strings.NewReader(`{"text":"waiting"}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("POST: %v %v", err, res)
	}
	res.Body.Close()
	time.Sleep(1100 * time.Millisecond)
	status, body := scrape(t, srv.url+"/metrics")
	if status != 200 {
		t.Fatalf("/metrics on the API port in test: %d", status)
	}
	for _, want := range []string{
		`veza_build_info{go_version="go1.`,
		`veza_db_connections{state="in_use"}`,
		`veza_db_connections{state="idle"}`,
		`veza_db_wait_seconds_total `,
		`veza_jobs_queue_size{queue="platform",state="pending"} 0`,
		`veza_jobs_queue_size{queue="notes",state="archived"} 0`,
		`veza_outbox_backlog 2`, // note.created and notes:index, unrelayed
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	age := regexp.MustCompile(`veza_outbox_oldest_age_seconds ([0-9.e+]+)`).FindStringSubmatch(body)
	if age == nil || age[1] == "0" {
		t.Errorf("the oldest unrelayed row should be over a second old: %v", age)
	}
}

// In production the API port never serves /metrics: METRICS_ADDR does, in
// API and worker processes alike.
func TestMetricsOnTheirOwnListener(t *testing.T) {
	p := newProc(t, allButClash)
	for k, v := range map[string]string{"APP_ENV": "production", "JWT_SECRET": strings.Repeat("s", 40),
		"CORS_ALLOWED_ORIGINS": "https://app.example", "APP_PUBLIC_URL": "https://veza.example"} {
		p.env[k] = v
	}
	metricsPort := testkit.FreePort(t)
	p.env["METRICS_ADDR"] = fmt.Sprintf("127.0.0.1:%d", metricsPort)
	srv := p.serve()
	if status, _ := scrape(t, srv.url+"/metrics"); status != 404 {
		t.Fatalf("/metrics on the API port in production: %d, want 404", status)
	}
	status, body := scrape(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort))
	if status != 200 || !strings.Contains(body, "veza_http_requests_total") {
		t.Fatalf("METRICS_ADDR: %d\n%.300s", status, body)
	}
	if status, _ := scrape(t, srv.url+"/health"); status != 200 {
		t.Fatalf("health: %d", status)
	}

	// A worker-only process has no API port; its job metrics are served on
	// its own METRICS_ADDR.
	workerPort := testkit.FreePort(t)
	p.env["METRICS_ADDR"] = fmt.Sprintf("127.0.0.1:%d", workerPort)
	w := p.start("worker")
	waitListening(t, workerPort, w)
	if status, body := scrape(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", workerPort)); status != 200 || !strings.Contains(body, "veza_build_info") {
		t.Fatalf("worker metrics: %d", status)
	}
}

// The console format writes no colour codes into a file or a pipe, and the
// started line names the version.
func TestConsoleLogsWithoutColoursInPipes(t *testing.T) {
	p := newProc(t, allButClash)
	p.env["APP_ENV"] = "development"
	p.env["LOG_LEVEL"] = "info"
	p.env["LOG_FORMAT"] = "console"
	srv := p.serve("--with-worker=false")
	if err := srv.stop(t, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	out := srv.stderr.String()
	if strings.Contains(out, "\x1b[") {
		t.Fatalf("colour codes in a pipe:\n%q", out)
	}
	if !regexp.MustCompile(`INFO\s.*started.*"version": "`).MatchString(out) {
		t.Fatalf("no started line with the version:\n%s", out)
	}
}

// start runs the binary with args in the background until the test ends.
func (p *proc) start(args ...string) *server {
	p.t.Helper()
	cmd := p.command(context.Background(), bin.veza, args...)
	s := &server{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.stderr, s.stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	p.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
	})
	return s
}

// waitListening waits until something accepts connections on port, failing
// if s exits first.
func waitListening(t *testing.T, port int, s *server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		select {
		case err := <-s.done:
			s.done <- err
			t.Fatalf("the process exited (%v) before listening on %d:\n%s", err, port, s.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("nothing listens on %d after 30s", port)
}

// The alert rules in deploy/prometheus pass promtool's checks and its unit
// tests, and every series they use is one the binary serves.
func TestAlertRules(t *testing.T) {
	rules, err := filepath.Abs("../../deploy/prometheus")
	if err != nil {
		t.Fatal(err)
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		// make test installs it (deploy/local/toolchain.sh --test); a
		// machine without root may not have it.
		t.Skip("promtool is not installed (apt-get install prometheus); the rules are not checked")
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yaml"}, {"test", "rules", "alerts_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = rules
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	src, err := os.ReadFile(filepath.Join(rules, "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p := newProc(t, allButClash)
	srv := p.serve("--with-worker") // the relay is a background loop
	scrape(t, srv.url+"/health")    // counters appear with their first value
	_, body := scrape(t, srv.url+"/metrics")
	seen := map[string]bool{}
	for _, name := range regexp.MustCompile(`veza_[a-z_]+`).FindAllString(string(src), -1) {
		if !seen[name] && !strings.Contains(body, "# TYPE "+name+" ") {
			t.Errorf("alerts.yaml uses %s, which the binary does not serve", name)
		}
		seen[name] = true
	}
}
