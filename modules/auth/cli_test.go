package auth_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/app/cli"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
)

// `veza user create` makes accounts, admins included, without mail; the
// account can log in at once and its role is enforced by other modules.
func TestUserCreateCommand(t *testing.T) {
	e := start(t, nil)
	env := map[string]string{"APP_ENV": "test", "DATABASE_URL": e.Config.DatabaseURL, "REDIS_URL": e.Redis.URL(),
		"MAIL_DIR": e.mailDir, "LOG_LEVEL": "error"}
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cli.Run(context.Background(), app.New(auth.Module(), gated()), args, cli.Streams{Out: &out, Err: &errOut,
			LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run("user", "create", "--email", "Root@Example.com", "--username", "root", "--password", strongPassword, "--role", "admin", "--verified")
	if code != 0 || !strings.Contains(out, "created user") || !strings.Contains(out, "role admin") {
		t.Fatalf("user create: %d %q %q", code, out, errOut)
	}
	admin := e.login(t, "root@example.com", strongPassword)
	if admin.User.Role != "admin" {
		t.Fatalf("role = %q", admin.User.Role)
	}
	if n := len(e.mails(t)); n != 0 {
		t.Fatalf("%d mails sent for an operator-made account", n)
	}
	code, _, errOut = run("user", "create", "--email", "root@example.com", "--username", "root2", "--password", strongPassword)
	if code != 1 || !strings.Contains(errOut, "email is already registered") {
		t.Fatalf("duplicate: %d %q", code, errOut)
	}
	code, _, errOut = run("user", "create", "--email", "x@example.com", "--username", "x1x", "--password", "password1234")
	if code != 1 || !strings.Contains(errOut, "password is too common") {
		t.Fatalf("weak password: %d %q", code, errOut)
	}
	code, _, errOut = run("user", "create", "--email", "x@example.com", "--username", "x1x", "--password", strongPassword, "--role", "emperor")
	if code != 1 || !strings.Contains(errOut, "role must be one of") {
		t.Fatalf("bad role: %d %q", code, errOut)
	}
	code, _, errOut = run("user", "create", "--email", "x@example.com")
	if code != 2 || !strings.Contains(errOut, "usage: veza user create") {
		t.Fatalf("missing flags: %d %q", code, errOut)
	}
	code, _, _ = run("user", "create", "--email", "c@example.com", "--username", "maker", "--password", strongPassword, "--verified")
	if code != 0 {
		t.Fatal("user not created")
	}
	early := e.login(t, "c@example.com", strongPassword)
	code, out, errOut = run("user", "set-role", "--email", "C@example.com", "--role", "creator")
	if code != 0 || !strings.Contains(out, "now has the role creator") {
		t.Fatalf("set-role: %d %q %q", code, out, errOut)
	}
	// The token minted with the old role stops working at once.
	e.Do(t, "GET", "/api/v1/auth/me", nil, bearer(early)...).ErrorCode(t, 401, "invalid_token")
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'auth.role_changed' AND meta->>'to' = 'creator'`); n != 1 {
		t.Fatalf("role change audited %d times", n)
	}
	if code, _, errOut = run("user", "set-role", "--email", "nobody@example.com", "--role", "creator"); code != 1 || !strings.Contains(errOut, "no account") {
		t.Fatalf("set-role of nobody: %d %q", code, errOut)
	}

	// Role helpers: the gated module's route admits creators and admins only.
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module(), gated()}, DatabaseURL: e.Config.DatabaseURL,
		RedisURL: e.Redis.URL(), Env: map[string]string{"MAIL_DIR": e.mailDir, "APP_PUBLIC_URL": "https://veza.test"}})
	other := &env2{srv}
	_, user := e.account(t, "plain")
	creator := e.login(t, "c@example.com", strongPassword)
	other.Do(t, "GET", "/api/v1/gated", nil, bearer(user)...).ErrorCode(t, 403, "forbidden")
	other.Do(t, "GET", "/api/v1/gated", nil, bearer(creator)...).Status(t, 200)
	other.Do(t, "GET", "/api/v1/gated", nil, bearer(admin)...).Status(t, 200)
	other.Do(t, "GET", "/api/v1/gated", nil).ErrorCode(t, 401, "unauthorized")
}

type env2 struct{ *apptest.Server }

// gated is a module with a route for creators, requiring auth.
func gated() app.Module {
	return app.Module{
		Name: "gated", Description: "test: a creators-only route", Requires: []string{"auth"},
		Register: func(r *app.Registrar) {
			r.Get("/gated", func(c *fiber.Ctx) error {
				return httpx.OK(c, fiber.Map{"role": authn.FromCtx(c).Role})
			}, app.RequireRoles(authn.RoleCreator), app.Summary("creators only"))
		},
	}
}
