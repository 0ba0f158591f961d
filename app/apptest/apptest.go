// Package apptest starts a Veza process inside a test: real PostgreSQL (a
// fresh database) and a private Redis unless given, the modules under test,
// an HTTP server on a free loopback port, and helpers to call it.
//
//	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{hello.Module()}})
//	res := srv.Do(t, "GET", "/api/v1/hello", nil)
//	res.Status(t, 200)
package apptest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/testkit"
)

// Options choose what the test process runs.
type Options struct {
	// Modules is the binary's module list.
	Modules []app.Module
	// ModulesYAML is the modules.yaml content; empty: every module enabled.
	ModulesYAML string
	// Role defaults to API and worker in one process.
	Role app.Role
	// Env sets configuration variables (APP_ENV defaults to test).
	Env map[string]string
	// DatabaseURL and RedisURL default to a fresh database and a private
	// Redis for this test.
	DatabaseURL string
	RedisURL    string
	// NoStart builds without starting (for tests of Build's refusals).
	NoStart bool
	// Logger receives the process's logs (an observer, to assert on them);
	// default Logger().
	Logger *zap.Logger
	// NoContractCheck stops Client from checking every answer against the
	// process's OpenAPI document (see contract.go); by default a 2xx the
	// document does not list, or a JSON body that breaks its schema, fails
	// the test.
	NoContractCheck bool
}

// Server is a started test process.
type Server struct {
	// URL is http://127.0.0.1:<port>, empty without the API role.
	URL     string
	Runtime *app.Runtime
	Config  *config.Config
	// Redis is the private server, nil when RedisURL was given.
	Redis  *testkit.Redis
	Client *http.Client
}

// Logger is what test processes log to: nothing, unless VEZA_TEST_LOG is set
// (zaptest would panic on logs from goroutines outliving the test).
func Logger() *zap.Logger {
	if os.Getenv("VEZA_TEST_LOG") != "" {
		l, _ := zap.NewDevelopment()
		return l
	}
	return zap.NewNop()
}

// Config builds the configuration a test process gets.
func Config(t testing.TB, o *Options) *config.Config {
	t.Helper()
	env := map[string]string{"APP_ENV": "test", "APP_PORT": "0", "APP_HOST": "127.0.0.1", "LOG_LEVEL": "warn"}
	if o.DatabaseURL == "" {
		o.DatabaseURL = testkit.NewDatabase(t)
	}
	env["DATABASE_URL"] = o.DatabaseURL
	if o.RedisURL != "" {
		env["REDIS_URL"] = o.RedisURL
	}
	for k, v := range o.Env {
		env[k] = v
	}
	cfg, err := config.Load(config.Options{
		Dir:       t.TempDir(),
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
	})
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	return cfg
}

// Plan resolves the modules file of o.
func Plan(t testing.TB, a *app.App, cfg *config.Config, o Options) (*app.Plan, error) {
	t.Helper()
	file := &app.ModulesFile{Missing: true}
	if o.ModulesYAML != "" {
		f, err := app.ParseModulesFile([]byte(o.ModulesYAML))
		if err != nil {
			return nil, err
		}
		file = f
	}
	return a.Plan(cfg.Env, file, func(k string) (string, bool) { v, ok := o.Env[k]; return v, ok })
}

// Start builds and starts a process, stopping it when the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	srv, err := TryStart(t, o)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	return srv
}

// TryStart is Start returning the error of a refused start.
func TryStart(t testing.TB, o Options) (*Server, error) {
	t.Helper()
	s := &Server{Client: &http.Client{Timeout: 30 * time.Second}}
	if o.RedisURL == "" {
		s.Redis = testkit.NewRedis(t)
		o.RedisURL = s.Redis.URL()
	}
	s.Config = Config(t, &o)
	a := app.New(o.Modules...)
	plan, err := Plan(t, a, s.Config, o)
	if err != nil {
		return nil, err
	}
	role := o.Role
	if role == 0 {
		role = app.RoleAPI | app.RoleWorker
	}
	log := o.Logger
	if log == nil {
		log = Logger()
	}
	rt, err := a.Build(app.BuildOptions{Config: s.Config, Plan: plan, Role: role, Logger: log})
	if err != nil {
		return nil, err
	}
	s.Runtime = rt
	if o.NoStart {
		t.Cleanup(func() { _ = rt.Stop(context.Background()) })
		return s, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rt.Start(ctx); err != nil {
		_ = rt.Stop(context.Background())
		return nil, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := rt.Stop(ctx); err != nil {
			t.Logf("apptest: stop: %v", err)
		}
	})
	if role.Has(app.RoleAPI) {
		_, port, err := net.SplitHostPort(rt.Addr())
		if err != nil {
			return nil, fmt.Errorf("server address %q: %w", rt.Addr(), err)
		}
		s.URL = "http://127.0.0.1:" + port
		if !o.NoContractCheck {
			k, err := newContract(rt.OpenAPIDocument(), s.URL, http.DefaultTransport)
			if err != nil {
				return nil, err
			}
			s.Client.Transport = k
			t.Cleanup(func() { k.report(t) })
		}
	}
	return s, nil
}

// Eventually polls cond every 20ms until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("apptest: %s did not happen within %s", what, timeout)
}

func trimPath(p string) string { return "/" + strings.TrimLeft(p, "/") }

// WaitOutbox waits until the relay has dispatched every outbox row (the
// process must run the worker role).
func (s *Server) WaitOutbox(t testing.TB, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, "outbox drained", func() bool {
		var n int
		err := s.Runtime.DB().Get(&n, `SELECT count(*) FROM outbox WHERE dispatched_at IS NULL`)
		return err == nil && n == 0
	})
}
