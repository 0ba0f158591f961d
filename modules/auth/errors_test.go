package auth_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/veza/veza/platform/config"
)

func TestRegisterRefusals(t *testing.T) {
	e := start(t, nil)
	e.register(t, "taken", "taken@example.com", strongPassword)
	cases := []struct {
		name                   string
		body                   map[string]any
		status                 int
		code, field, inMessage string
	}{
		{"short username", map[string]any{"username": "ab", "email": "a@example.com", "password": strongPassword}, 422, "validation_failed", "username", "3 to 30"},
		{"long username", map[string]any{"username": strings.Repeat("a", 31), "email": "a@example.com", "password": strongPassword}, 422, "validation_failed", "username", ""},
		{"bad username chars", map[string]any{"username": "ada lovelace", "email": "a@example.com", "password": strongPassword}, 422, "validation_failed", "username", ""},
		{"bad email", map[string]any{"username": "ada", "email": "not-an-email", "password": strongPassword}, 422, "validation_failed", "email", ""},
		{"email with name", map[string]any{"username": "ada", "email": "Ada <a@example.com>", "password": strongPassword}, 422, "validation_failed", "email", ""},
		{"short password", map[string]any{"username": "ada", "email": "a@example.com", "password": "Sh0rt!pw"}, 422, "validation_failed", "password", "at least 12"},
		{"long password", map[string]any{"username": "ada", "email": "a@example.com", "password": strings.Repeat("x7$", 43)}, 422, "validation_failed", "password", "at most 128"},
		{"common password1234", map[string]any{"username": "ada", "email": "a@example.com", "password": "password1234"}, 422, "validation_failed", "password", "common"},
		{"common 123456789012", map[string]any{"username": "ada", "email": "a@example.com", "password": "123456789012"}, 422, "validation_failed", "password", "common"},
		{"common qwertyuiop123", map[string]any{"username": "ada", "email": "a@example.com", "password": "QwertyUiop123"}, 422, "validation_failed", "password", "common"},
		{"duplicate email", map[string]any{"username": "fresh", "email": "TAKEN@example.com", "password": strongPassword}, 409, "email_taken", "email", ""},
		{"duplicate username", map[string]any{"username": "Taken", "email": "fresh@example.com", "password": strongPassword}, 409, "username_taken", "username", ""},
		{"wrong type", map[string]any{"username": 5, "email": "a@example.com", "password": strongPassword}, 422, "validation_failed", "username", ""},
		{"unknown field", map[string]any{"username": "ada", "email": "a@example.com", "password": strongPassword, "role": "admin"}, 422, "validation_failed", "role", "unknown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := e.Do(t, "POST", "/api/v1/auth/register", tc.body).ErrorCode(t, tc.status, tc.code)
			found := false
			for _, d := range env.Error.Details {
				if d.Field == tc.field && strings.Contains(d.Message, tc.inMessage) {
					found = true
				}
			}
			if !found {
				t.Fatalf("details %+v lack field %s (%q)", env.Error.Details, tc.field, tc.inMessage)
			}
		})
	}
	e.Do(t, "POST", "/api/v1/auth/register", []byte(`{"username":`), "Content-Type", "application/json").ErrorCode(t, 400, "malformed_json")
	if n := e.count(t, `SELECT count(*) FROM users`); n != 1 {
		t.Fatalf("%d users after refusals, want 1", n)
	}
	var avail struct{ Available bool }
	e.Do(t, "GET", "/api/v1/auth/check-username?username=TAKEN", nil).Status(t, 200).Data(t, &avail)
	if avail.Available {
		t.Fatal("taken username reported available")
	}
	e.Do(t, "GET", "/api/v1/auth/check-username?username=freebird", nil).Status(t, 200).Data(t, &avail)
	if !avail.Available {
		t.Fatal("free username reported taken")
	}
	e.Do(t, "GET", "/api/v1/auth/check-username?username=a", nil).ErrorCode(t, 422, "validation_failed")
}

func TestLoginRefusals(t *testing.T) {
	e := start(t, nil)
	u, _ := e.account(t, "known")
	e.register(t, "unverified", "unverified@example.com", strongPassword)
	unknown := e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "nobody@example.com", "password": strongPassword}).ErrorCode(t, 401, "invalid_credentials")
	wrong := e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "known@example.com", "password": "not the password at all"}).ErrorCode(t, 401, "invalid_credentials")
	if unknown.Error.Message != wrong.Error.Message {
		t.Fatal("unknown email and wrong password answer differently")
	}
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "unverified@example.com", "password": strongPassword}).ErrorCode(t, 403, "email_not_verified")
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "known@example.com"}).ErrorCode(t, 422, "validation_failed")

	if _, err := e.Runtime.DB().Exec(`UPDATE users SET banned_at = now() WHERE id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "known@example.com", "password": strongPassword}).ErrorCode(t, 403, "account_banned")
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'auth.login_failed'`); n != 2 {
		t.Fatalf("audited failures: %d, want 2", n)
	}
}

func TestVerificationOptional(t *testing.T) {
	e := start(t, map[string]string{"VEZA_AUTH_REQUIRE_VERIFIED_EMAIL": "false"})
	e.register(t, "eager", "eager@example.com", strongPassword)
	e.login(t, "eager@example.com", strongPassword)
}

func TestFailedLoginLimits(t *testing.T) {
	e := start(t, map[string]string{"VEZA_AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT": "3", "VEZA_AUTH_MAX_FAILED_LOGINS_PER_IP": "5"})
	e.account(t, "target")
	for i := 0; i < 3; i++ {
		e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "target@example.com", "password": "wrong guess number " + fmt.Sprint(i)}).ErrorCode(t, 401, "invalid_credentials")
	}
	r := e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "target@example.com", "password": strongPassword})
	r.ErrorCode(t, 429, "too_many_attempts")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// The per-IP limit: failures against other accounts add up.
	for i := 0; i < 2; i++ {
		e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": fmt.Sprintf("n%d@example.com", i), "password": "whatever whatever"}).ErrorCode(t, 401, "invalid_credentials")
	}
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": "fresh@example.com", "password": "whatever whatever"}).ErrorCode(t, 429, "too_many_attempts")
}

func TestVerificationTokens(t *testing.T) {
	e := start(t, nil)
	e.register(t, "twice", "twice@example.com", strongPassword)
	first := e.mailTo(t, "twice@example.com", "/verify-email", 0)
	e.Do(t, "POST", "/api/v1/auth/resend-verification", map[string]string{"email": "twice@example.com"}).Status(t, 202)
	e.Do(t, "POST", "/api/v1/auth/resend-verification", map[string]string{"email": "ghost@example.com"}).Status(t, 202)
	second := e.mailTo(t, "twice@example.com", "/verify-email", 1, first)
	if first == second {
		t.Fatal("resend reused the token")
	}
	e.Do(t, "POST", "/api/v1/auth/verify-email", map[string]string{"token": "forged" + second}).ErrorCode(t, 400, "invalid_token")
	e.Do(t, "POST", "/api/v1/auth/verify-email", map[string]string{}).ErrorCode(t, 422, "validation_failed")
	e.Do(t, "POST", "/api/v1/auth/verify-email", map[string]string{"token": second}).Status(t, 200)
	// Using one token spends its siblings.
	e.Do(t, "POST", "/api/v1/auth/verify-email", map[string]string{"token": first}).ErrorCode(t, 400, "invalid_token")
	// An expired token is refused.
	e.register(t, "late", "late@example.com", strongPassword)
	late := e.mailTo(t, "late@example.com", "/verify-email", 0)
	if _, err := e.Runtime.DB().Exec(`UPDATE auth_email_tokens SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	e.Do(t, "POST", "/api/v1/auth/verify-email", map[string]string{"token": late}).ErrorCode(t, 400, "invalid_token")
}

// Access tokens that are tampered with, expired, unsigned, for another
// audience or issuer, or signed another way are refused.
func TestForgedTokens(t *testing.T) {
	e := start(t, nil)
	_, tk := e.account(t, "victim")
	secret := []byte(config.DevJWTSecret)
	parsed, _, err := jwt.NewParser().ParseUnverified(tk.AccessToken, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	good := parsed.Claims.(jwt.MapClaims)
	with := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{}
		for k, v := range good {
			c[k] = v
		}
		change(c)
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// Sanity: re-signing the same claims with the secret works, so each
	// refusal below is due to its one change.
	e.Do(t, "GET", "/api/v1/auth/me", nil, "Authorization", "Bearer "+sign(jwt.SigningMethodHS256, secret, with(func(jwt.MapClaims) {}))).Status(t, 200)

	parts := strings.Split(tk.AccessToken, ".")
	tamperedPayload := with(func(c jwt.MapClaims) { c["role"] = "admin" })
	reencoded := strings.Split(sign(jwt.SigningMethodHS256, []byte("x"), tamperedPayload), ".")
	now := time.Now()
	forged := map[string]string{
		"tampered payload":   parts[0] + "." + reencoded[1] + "." + parts[2],
		"tampered signature": parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"alg none":           sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, with(func(jwt.MapClaims) {})),
		"other algorithm":    sign(jwt.SigningMethodHS512, secret, with(func(jwt.MapClaims) {})),
		"wrong secret":       sign(jwt.SigningMethodHS256, []byte(strings.Repeat("k", 40)), with(func(jwt.MapClaims) {})),
		"expired": sign(jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) {
			c["exp"] = now.Add(-time.Minute).Unix()
			c["iat"] = now.Add(-20 * time.Minute).Unix()
		})),
		"no expiry":        sign(jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { delete(c, "exp") })),
		"wrong audience":   sign(jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["aud"] = []string{"someone-else"} })),
		"wrong issuer":     sign(jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["iss"] = "evil" })),
		"issued in future": sign(jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Hour).Unix() })),
		"stale version":    sign(jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["token_version"] = 0 })),
		"unknown user":     sign(jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["sub"] = uuid.NewString() })),
		"unknown session":  sign(jwt.SigningMethodHS256, secret, with(func(c jwt.MapClaims) { c["sid"] = uuid.NewString() })),
		"garbage":          "not.a.jwt",
	}
	for name, token := range forged {
		t.Run(name, func(t *testing.T) {
			e.Do(t, "GET", "/api/v1/auth/me", nil, "Authorization", "Bearer "+token).ErrorCode(t, 401, "invalid_token")
		})
	}
	e.Do(t, "GET", "/api/v1/auth/me", nil).ErrorCode(t, 401, "unauthorized")
	e.Do(t, "GET", "/api/v1/auth/me", nil, "Authorization", "Basic "+tk.AccessToken).ErrorCode(t, 401, "unauthorized")
}

func TestProfiles(t *testing.T) {
	e := start(t, nil)
	a, ta := e.account(t, "alice")
	b, tb := e.account(t, "bob")
	var got user
	e.Do(t, "PUT", "/api/v1/users/"+a.ID, map[string]any{"display_name": "Alice A.", "bio": "plays cello", "links": []string{"https://alice.example"}}, bearer(ta)...).Status(t, 200).Data(t, &got)
	if got.DisplayName != "Alice A." || got.Bio != "plays cello" {
		t.Fatalf("updated %+v", got)
	}
	// Bob cannot edit Alice.
	e.Do(t, "PUT", "/api/v1/users/"+a.ID, map[string]any{"bio": "hacked"}, bearer(tb)...).ErrorCode(t, 403, "forbidden")
	e.Do(t, "PUT", "/api/v1/users/"+a.ID, map[string]any{"bio": "hacked"}).ErrorCode(t, 401, "unauthorized")
	// Nobody changes role, verification or ban this way.
	for _, field := range []string{"role", "email_verified", "banned_at", "email"} {
		e.Do(t, "PUT", "/api/v1/users/"+b.ID, map[string]any{field: "admin"}, bearer(tb)...).ErrorCode(t, 422, "validation_failed")
	}
	e.Do(t, "PUT", "/api/v1/users/"+b.ID, map[string]any{"avatar_url": "javascript:alert(1)"}, bearer(tb)...).ErrorCode(t, 422, "validation_failed")
	var pub map[string]any
	e.Do(t, "GET", "/api/v1/users/"+a.ID, nil).Status(t, 200).Data(t, &pub)
	if pub["bio"] != "plays cello" || pub["email"] != nil || pub["role"] != "user" {
		t.Fatalf("public profile leaks or lacks: %+v", pub)
	}
	e.Do(t, "GET", "/api/v1/users/by-username/ALICE", nil).Status(t, 200)
	e.Do(t, "GET", "/api/v1/users/by-username/nobody", nil).ErrorCode(t, 404, "not_found")
	e.Do(t, "GET", "/api/v1/users/"+uuid.NewString(), nil).ErrorCode(t, 404, "not_found")
	e.Do(t, "GET", "/api/v1/users/not-a-uuid", nil).ErrorCode(t, 404, "not_found")

	var comp struct {
		Percentage int      `json:"percentage"`
		Missing    []string `json:"missing"`
	}
	e.Do(t, "GET", "/api/v1/users/"+a.ID+"/completion", nil, bearer(ta)...).Status(t, 200).Data(t, &comp)
	if comp.Percentage != 66 || fmt.Sprint(comp.Missing) != "[avatar_url location]" {
		t.Fatalf("completion %+v", comp)
	}
	e.Do(t, "GET", "/api/v1/users/"+a.ID+"/completion", nil, bearer(tb)...).ErrorCode(t, 403, "forbidden")

	// An admin may edit anyone's profile.
	if _, err := e.Runtime.DB().Exec(`UPDATE users SET role = 'admin', token_version = token_version + 1 WHERE id = $1`, b.ID); err != nil {
		t.Fatal(err)
	}
	admin := e.login(t, "bob@example.com", strongPassword)
	e.Do(t, "PUT", "/api/v1/users/"+a.ID, map[string]any{"location": "Paris"}, bearer(admin)...).Status(t, 200)
	if n := e.count(t, `SELECT count(*) FROM users WHERE id = $1 AND role = 'user' AND location = 'Paris'`, a.ID); n != 1 {
		t.Fatal("admin edit did not land, or changed the role")
	}
}
