// Package e2e drives the veza binary from outside, as an operator would:
// start-up refusals, graceful shutdown under load, and the CLI. The binary is
// vezatest, veza with the fixture modules of test/fixtures.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/veza/veza/platform/testkit"
)

var bin struct{ veza, cycle string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "veza-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin.veza = filepath.Join(dir, "vezatest")
	bin.cycle = filepath.Join(dir, "vezacycle")
	for path, pkg := range map[string]string{bin.veza: "github.com/veza/veza/test/fixtures/cmd/vezatest", bin.cycle: "github.com/veza/veza/test/fixtures/cmd/vezacycle"} {
		out, err := exec.Command("go", "build", "-o", path, pkg).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is one run of the binary in its own folder with its own environment.
type proc struct {
	t    *testing.T
	dir  string
	env  map[string]string
	port int
}

const allButClash = "modules:\n  notes: {enabled: true}\n  feed: {enabled: true}\n  tap: {enabled: true}\n  clash: {enabled: false}\n"

// newProc prepares a folder with modules.yaml, a fresh database and a
// private Redis.
func newProc(t *testing.T, modulesYAML string) *proc {
	t.Helper()
	dir := t.TempDir()
	if modulesYAML != "" {
		if err := os.WriteFile(filepath.Join(dir, "modules.yaml"), []byte(modulesYAML), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	redis := testkit.NewRedis(t)
	p := &proc{t: t, dir: dir, port: testkit.FreePort(t), env: map[string]string{
		"APP_ENV":      "test",
		"DATABASE_URL": testkit.NewDatabase(t),
		"REDIS_URL":    redis.URL(),
		"LOG_LEVEL":    "warn",
	}}
	p.env["APP_PORT"] = fmt.Sprint(p.port)
	p.env["APP_HOST"] = "127.0.0.1"
	return p
}

func (p *proc) command(ctx context.Context, binary string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = p.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + p.dir}
	for k, v := range p.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the binary to completion (at most 60 s).
func (p *proc) run(args ...string) result {
	p.t.Helper()
	return p.runBinary(bin.veza, args...)
}

func (p *proc) runBinary(binary string, args ...string) result {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := p.command(ctx, binary, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatalf("run %v: %v", args, err)
	}
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// server is a running `veza serve`.
type server struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
	done   chan error
}

func (p *proc) serve(args ...string) *server {
	p.t.Helper()
	cmd := p.command(context.Background(), bin.veza, append([]string{"serve"}, args...)...)
	s := &server{cmd: cmd, url: fmt.Sprintf("http://127.0.0.1:%d", p.port), stderr: &bytes.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = s.stderr, s.stderr
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	p.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.port), 100*time.Millisecond); err == nil {
			c.Close()
			return s
		}
		select {
		case err := <-s.done:
			p.t.Fatalf("serve exited early (%v):\n%s", err, s.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	p.t.Fatalf("serve did not listen within 30s:\n%s", s.stderr)
	return nil
}

// stop sends SIGTERM and waits for the exit status.
func (s *server) stop(t *testing.T, within time.Duration) error {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-s.done:
		s.done <- err
		return err
	case <-time.After(within):
		t.Fatalf("serve did not exit within %s after SIGTERM:\n%s", within, s.stderr)
	}
	return nil
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}
