package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/app/moduletest"
	"github.com/veza/veza/modules/auth"
)

func TestModuleContract(t *testing.T) {
	moduletest.Check(t, auth.Module(), moduletest.Env(map[string]string{"MAIL_DIR": t.TempDir()}))
}

// The whole story: register, read the mail, verify, log in, me, refresh,
// reuse detection, logout.
func TestAccountStory(t *testing.T) {
	e := start(t, nil)
	u := e.register(t, "Ada_L", "  Ada@Example.COM ", strongPassword)
	if u.Email != "ada@example.com" || u.Username != "Ada_L" || u.Role != "user" {
		t.Fatalf("registered %+v", u)
	}
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "ada@example.com", "password": strongPassword}).
		ErrorCode(t, 403, "email_not_verified")

	token := e.mailTo(t, "ada@example.com", "/verify-email", 0)
	m := e.mails(t)[0]
	if m.subject != "Verify your email address" || m.header.Get("Message-Id") == "" || m.header.Get("Date") == "" {
		t.Fatalf("mail headers: %+v", m)
	}
	var verified user
	e.Do(t, "POST", "/api/v1/auth/verify-email", nil, "X-Verify-Token", token).Status(t, 200).Data(t, &verified)
	if !verified.EmailVerified {
		t.Fatal("not verified after verify-email")
	}
	e.Do(t, "POST", "/api/v1/auth/verify-email", map[string]string{"token": token}).ErrorCode(t, 400, "invalid_token")

	tk := e.login(t, "ADA@example.com", strongPassword)
	if tk.TokenType != "Bearer" || tk.ExpiresIn != 900 || !strings.HasPrefix(tk.RefreshToken, "vzr_") || tk.User.ID != u.ID {
		t.Fatalf("login answer %+v", tk)
	}
	var me user
	e.Do(t, "GET", "/api/v1/auth/me", nil, bearer(tk)...).Status(t, 200).Data(t, &me)
	if me.ID != u.ID || me.Email != "ada@example.com" || !me.EmailVerified {
		t.Fatalf("me = %+v", me)
	}

	var next tokens
	e.Do(t, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tk.RefreshToken}).Status(t, 200).Data(t, &next)
	if next.RefreshToken == tk.RefreshToken || next.AccessToken == "" {
		t.Fatal("refresh did not rotate")
	}
	e.Do(t, "GET", "/api/v1/auth/me", nil, bearer(next)...).Status(t, 200)

	// The spent token again: the whole family (session) is revoked.
	e.Do(t, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tk.RefreshToken}).ErrorCode(t, 401, "refresh_token_reused")
	e.Do(t, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": next.RefreshToken}).ErrorCode(t, 401, "invalid_refresh_token")
	e.Do(t, "GET", "/api/v1/auth/me", nil, bearer(next)...).ErrorCode(t, 401, "invalid_token")

	// A new login, then logout ends that session at once.
	tk = e.login(t, "ada@example.com", strongPassword)
	e.Do(t, "POST", "/api/v1/auth/logout", nil, bearer(tk)...).Status(t, 204)
	e.Do(t, "GET", "/api/v1/auth/me", nil, bearer(tk)...).ErrorCode(t, 401, "invalid_token")
	e.Do(t, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tk.RefreshToken}).ErrorCode(t, 401, "invalid_refresh_token")

	// Events and audit entries were recorded.
	for _, ev := range []string{"user.registered", "user.verified"} {
		if n := e.count(t, `SELECT count(*) FROM outbox WHERE type = $1 AND $2::uuid = ANY(audience)`, ev, u.ID); n != 1 {
			t.Errorf("%s events: %d", ev, n)
		}
	}
	for action, want := range map[string]int{"auth.register": 1, "auth.email_verified": 1, "auth.login": 2, "auth.refresh_reuse": 1, "auth.logout": 1} {
		if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = $1 AND actor_id = $2`, action, u.ID); n != want {
			t.Errorf("audit %s: %d, want %d", action, n, want)
		}
	}
}

func TestLogoutAllAndSessions(t *testing.T) {
	e := start(t, nil)
	_, phone := e.account(t, "multi")
	laptop := e.login(t, "multi@example.com", strongPassword)
	var list []struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
	}
	e.Do(t, "GET", "/api/v1/auth/sessions", nil, bearer(laptop)...).Status(t, 200).Data(t, &list)
	if len(list) != 2 {
		t.Fatalf("sessions = %+v", list)
	}
	var phoneSession string
	for _, s := range list {
		if !s.Current {
			phoneSession = s.ID
		}
	}
	// Another user cannot end it.
	_, other := e.account(t, "other")
	e.Do(t, "DELETE", "/api/v1/auth/sessions/"+phoneSession, nil, bearer(other)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "GET", "/api/v1/auth/me", nil, bearer(phone)...).Status(t, 200)
	e.Do(t, "DELETE", "/api/v1/auth/sessions/"+phoneSession, nil, bearer(laptop)...).Status(t, 204)
	e.Do(t, "GET", "/api/v1/auth/me", nil, bearer(phone)...).ErrorCode(t, 401, "invalid_token")
	e.Do(t, "GET", "/api/v1/auth/me", nil, bearer(laptop)...).Status(t, 200)

	tablet := e.login(t, "multi@example.com", strongPassword)
	e.Do(t, "POST", "/api/v1/auth/logout", map[string]bool{"all": true}, bearer(laptop)...).Status(t, 204)
	for _, tk := range []tokens{laptop, tablet} {
		e.Do(t, "GET", "/api/v1/auth/me", nil, bearer(tk)...).ErrorCode(t, 401, "invalid_token")
		e.Do(t, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tk.RefreshToken}).ErrorCode(t, 401, "invalid_refresh_token")
	}
	e.Do(t, "GET", "/api/v1/auth/me", nil, bearer(other)...).Status(t, 200)
}

func TestPasswordReset(t *testing.T) {
	e := start(t, nil)
	u, tk := e.account(t, "forgetful")
	e.Do(t, "POST", "/api/v1/auth/password/reset-request", map[string]string{"email": "nobody@example.com"}).Status(t, 202)
	r := e.Do(t, "POST", "/api/v1/auth/password/reset-request", map[string]string{"email": "Forgetful@example.com"}).Status(t, 202)
	if string(r.Body) != `{"success":true,"data":{}}` {
		t.Fatalf("reset-request says more than accepted: %s", r.Body)
	}
	token := e.mailTo(t, "forgetful@example.com", "/reset-password", 0)
	for _, m := range e.mails(t) {
		if m.to == "nobody@example.com" {
			t.Fatal("a mail went to an address without an account")
		}
	}
	e.Do(t, "POST", "/api/v1/auth/password/reset", map[string]string{"token": token, "password": "password1234"}).
		ErrorCode(t, 422, "validation_failed")
	e.Do(t, "POST", "/api/v1/auth/password/reset", map[string]string{"token": token, "password": "a new long passphrase"}).Status(t, 200)
	e.Do(t, "POST", "/api/v1/auth/password/reset", map[string]string{"token": token, "password": "another long passphrase"}).
		ErrorCode(t, 400, "invalid_token")
	// The old access token stops working at once, the old refresh token too.
	e.Do(t, "GET", "/api/v1/auth/me", nil, bearer(tk)...).ErrorCode(t, 401, "invalid_token")
	e.Do(t, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": tk.RefreshToken}).ErrorCode(t, 401, "invalid_refresh_token")
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "forgetful@example.com", "password": strongPassword}).
		ErrorCode(t, 401, "invalid_credentials")
	e.login(t, "forgetful@example.com", "a new long passphrase")
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE type = 'user.password_changed' AND $1::uuid = ANY(audience)`, u.ID); n != 1 {
		t.Fatalf("password_changed events: %d", n)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'auth.password_reset' AND actor_id = $1`, u.ID); n != 1 {
		t.Fatalf("audit password_reset: %d", n)
	}
}

// A logout on one API process revokes the token on every other at once:
// their caches are invalidated through Redis, well before token_cache_ttl.
func TestRevocationReachesOtherProcesses(t *testing.T) {
	e := start(t, nil)
	other := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module()}, Role: app.RoleAPI,
		DatabaseURL: e.Config.DatabaseURL, RedisURL: e.Redis.URL(),
		Env: map[string]string{"MAIL_DIR": e.mailDir, "VEZA_AUTH_TOKEN_CACHE_TTL": "10m"}})
	_, tk := e.account(t, "roamer")
	other.Do(t, "GET", "/api/v1/auth/me", nil, bearer(tk)...).Status(t, 200) // cached there now
	e.Do(t, "POST", "/api/v1/auth/logout", map[string]bool{"all": true}, bearer(tk)...).Status(t, 204)
	start := time.Now()
	apptest.Eventually(t, 5*time.Second, "revocation on the other process", func() bool {
		return other.Do(t, "GET", "/api/v1/auth/me", nil, bearer(tk)...).StatusCode == 401
	})
	t.Logf("revoked on the other process after %s", time.Since(start))
}
