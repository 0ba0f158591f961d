package admin_test

import (
	"bytes"
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/admin"
	"github.com/veza/veza/modules/auth"
)

const password = "correct horse battery staple"

// env is a process running auth and admin.
type env struct {
	*apptest.Server
	vars map[string]string
}

// baseVars: the test talks from 127.0.0.1, trusted as a proxy, so that
// X-Forwarded-For names the client address a request comes from.
var baseVars = map[string]string{"RATE_LIMIT_LIMIT": "1000000", "MAIL_DRIVER": "log", "APP_PUBLIC_URL": "https://veza.test",
	"TRUSTED_PROXIES": "127.0.0.1"}

func start(t testing.TB, extra map[string]string) *env {
	t.Helper()
	vars := maps.Clone(baseVars)
	maps.Copy(vars, extra)
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module(), admin.Module()}, Env: vars})
	return &env{Server: srv, vars: vars}
}

// account is a signed-in account.
type account struct {
	ID, Email, Token string
}

func (a account) bearer() []string { return []string{"Authorization", "Bearer " + a.Token} }

// user creates a verified account with role through auth's own command and
// signs it in.
func (e *env) user(t testing.TB, name, role string) account {
	t.Helper()
	email := name + "@example.com"
	if err := e.command(t, "user create", "--email", email, "--username", name, "--password", password,
		"--role", role, "--verified"); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return e.login(t, email)
}

// command runs a module command of the process, as `veza <name> args...`.
func (e *env) command(t testing.TB, name string, args ...string) error {
	t.Helper()
	for _, c := range e.Runtime.Contributions().Commands {
		if c.Name == name {
			return c.Run(context.Background(), args, &bytes.Buffer{})
		}
	}
	t.Fatalf("no command %q", name)
	return nil
}

// login signs email in and returns its id and a new access token.
func (e *env) login(t testing.TB, email string) account {
	t.Helper()
	var tk struct {
		AccessToken string `json:"access_token"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password}).Status(t, 200).Data(t, &tk)
	return account{ID: tk.User.ID, Email: email, Token: tk.AccessToken}
}

func (e *env) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.Runtime.DB().Get(&n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// userView is an account in the admin API's answers.
type userView struct {
	ID        string  `json:"id"`
	Username  string  `json:"username"`
	Email     string  `json:"email"`
	Role      string  `json:"role"`
	Status    string  `json:"status"`
	BanReason *string `json:"ban_reason"`
}

type pageOf[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func contains(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
