package testkit

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Redis is a private redis-server child process. Stop and Start let a test
// cut the connection and bring it back on the same address.
type Redis struct {
	Port int
	bin  string
	dir  string

	mu  sync.Mutex
	cmd *exec.Cmd
	out *bytes.Buffer
}

// URL is the redis:// address of the server, database 0.
func (r *Redis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.Port) }

// Addr is host:port.
func (r *Redis) Addr() string { return fmt.Sprintf("127.0.0.1:%d", r.Port) }

// StartRedis launches a redis-server on a free loopback port. The caller must
// Close it.
func StartRedis() (*Redis, error) {
	bin, err := redisBinary()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "veza-redis-")
	if err != nil {
		return nil, fmt.Errorf("redis temp dir: %w", err)
	}
	r := &Redis{Port: port, bin: bin, dir: dir}
	if err := r.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return r, nil
}

// NewRedis starts a private Redis for one test and stops it afterwards.
func NewRedis(t TB) *Redis {
	t.Helper()
	r, err := StartRedis()
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

// Start (re)starts the server on its port and waits until it accepts
// connections.
func (r *Redis) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return nil
	}
	r.out = &bytes.Buffer{}
	closeInheritedFDs()
	cmd := exec.Command(r.bin,
		"--port", strconv.Itoa(r.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir,
		"--databases", "16", "--protected-mode", "no")
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	r.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", r.Addr(), 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	r.cmd = nil
	return fmt.Errorf("redis-server on port %d did not answer within 10s: %s", r.Port, r.out.String())
}

// Stop kills the server abruptly, as an outage would.
func (r *Redis) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Close stops the server and removes its folder.
func (r *Redis) Close() {
	r.Stop()
	os.RemoveAll(r.dir)
}

func redisBinary() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("redis-server not found: run `make test` (it installs it) or `apt-get install redis-server`")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return p
}

// TempDir is os.MkdirTemp under the test's cleanup.
func TempDir(t TB, pattern string) string {
	t.Helper()
	d, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return filepath.Clean(d)
}

// closeInheritedFDs marks the descriptors this process inherited (not opened
// itself: Go opens everything close-on-exec) as close-on-exec, so that
// redis-server does not keep them. A fuzzing worker talks to its
// coordinator over inherited pipes: a redis-server holding them open kept
// the coordinator waiting for a worker that had exited.
func closeInheritedFDs() {
	for fd := 3; fd < 256; fd++ {
		syscall.CloseOnExec(fd)
	}
}
