package auth_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/veza/veza/app/apptest"
)

// Client addresses: the test process talks from 127.0.0.1, which it trusts
// as a proxy, so X-Forwarded-For names the client (as a load balancer in
// front of Veza would).
var trustLoopback = map[string]string{"TRUSTED_PROXIES": "127.0.0.1"}

func withVars(base map[string]string, more map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range []map[string]string{base, more} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// loginFrom tries a login from the client address ip.
func (e *env) loginFrom(t testing.TB, ip, email, pw string) *apptest.Response {
	t.Helper()
	return e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": pw}, "X-Forwarded-For", ip)
}

func (e *env) makeAdmin(t testing.TB, id string) {
	t.Helper()
	if _, err := e.Runtime.DB().Exec(`UPDATE users SET role = 'admin', token_version = token_version + 1 WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
}

// Ten wrong passwords for carol from one address refuse that address, not
// carol: her password works from anywhere else, an admin whose email is
// hammered still signs in, and the attacker's address, once over its own
// limit, is refused every account.
func TestLockoutFallsOnTheAttackerNotTheAccount(t *testing.T) {
	e := start(t, withVars(trustLoopback, map[string]string{
		"VEZA_AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT": "10", "VEZA_AUTH_MAX_FAILED_LOGINS_PER_IP": "15",
		"VEZA_AUTH_LOGIN_DELAY_AFTER": "3", "VEZA_AUTH_LOGIN_DELAY_BASE": "10ms", "VEZA_AUTH_LOGIN_DELAY_MAX": "40ms",
	}))
	e.account(t, "carol")
	e.account(t, "dave")
	boss, _ := e.account(t, "boss")
	e.makeAdmin(t, boss.ID)
	const attacker, elsewhere = "203.0.113.66", "198.51.100.7"

	for i := range 10 {
		e.loginFrom(t, attacker, "carol@example.com", fmt.Sprint("guess number ", i)).ErrorCode(t, 401, "invalid_credentials")
	}
	r := e.loginFrom(t, attacker, "carol@example.com", strongPassword)
	r.ErrorCode(t, 429, "too_many_attempts")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 15*60 {
		t.Fatalf("Retry-After %q, want 1..900 seconds", r.Header.Get("Retry-After"))
	}
	// Carol, from her phone on another network.
	var tk tokens
	e.loginFrom(t, elsewhere, "carol@example.com", strongPassword).Status(t, 200).Data(t, &tk)
	if tk.User.Email != "carol@example.com" {
		t.Fatalf("logged in as %+v", tk.User)
	}
	// The attacker's address is refused carol only, so far.
	e.loginFrom(t, attacker, "dave@example.com", strongPassword).Status(t, 200)

	// The admin, hammered from a third address, signs in from a fourth and
	// from the one she used before.
	for i := range 12 {
		want := 401
		if i >= 10 {
			want = 429
		}
		e.loginFrom(t, "192.0.2.99", "boss@example.com", fmt.Sprint("admin guess ", i)).Status(t, want)
	}
	var admin tokens
	e.loginFrom(t, "192.0.2.100", "boss@example.com", strongPassword).Status(t, 200).Data(t, &admin)
	if admin.User.Role != "admin" {
		t.Fatalf("admin logged in with role %q", admin.User.Role)
	}
	e.login(t, "boss@example.com", strongPassword) // from 127.0.0.1, where the account was made

	// Five more failures from the attacker (15 in all, against any
	// accounts): its address is refused everything now, dave included.
	for i := range 5 {
		e.loginFrom(t, attacker, fmt.Sprintf("nobody%d@example.com", i), "whatever whatever").ErrorCode(t, 401, "invalid_credentials")
	}
	e.loginFrom(t, attacker, "dave@example.com", strongPassword).ErrorCode(t, 429, "too_many_attempts")
	e.loginFrom(t, elsewhere, "dave@example.com", strongPassword).Status(t, 200)
	e.loginFrom(t, elsewhere, "carol@example.com", strongPassword).Status(t, 200)

	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'auth.login_blocked' AND ip = $1`, attacker); n != 2 {
		t.Fatalf("%d refusals of the attacker audited, want 2", n)
	}
}

// Guesses spread over many addresses (one failure each, so no address is
// ever refused) slow down every attempt on the account from an address it
// has not signed in from; the owner's correct password still gets in, from
// a new address too. Only the lower bound of each wait is asserted: a wait
// can take longer on a busy machine, never shorter.
func TestDistributedGuessingSlowsButNeverLocksOut(t *testing.T) {
	const base = 100 * time.Millisecond
	e := start(t, withVars(trustLoopback, map[string]string{
		"VEZA_AUTH_LOGIN_DELAY_AFTER": "2", "VEZA_AUTH_LOGIN_DELAY_BASE": base.String(), "VEZA_AUTH_LOGIN_DELAY_MAX": "400ms",
	}))
	e.account(t, "erin")
	// Attempt i follows i failures: no wait for the first 3, then 100ms,
	// 200ms, then 400ms, the maximum.
	want := []time.Duration{0, 0, 0, base, 2 * base, 4 * base, 4 * base, 4 * base}
	for i, min := range want {
		start := time.Now()
		e.loginFrom(t, fmt.Sprintf("198.51.100.%d", i+1), "erin@example.com", fmt.Sprint("botnet guess ", i)).
			ErrorCode(t, 401, "invalid_credentials")
		if took := time.Since(start); took < min {
			t.Fatalf("attempt %d took %s, want at least %s", i+1, took, min)
		}
	}
	start := time.Now()
	e.loginFrom(t, "192.0.2.1", "erin@example.com", strongPassword).Status(t, 200)
	if took := time.Since(start); took < 4*base {
		t.Fatalf("the owner's login from a new address took %s: it should wait like any unknown address", took)
	}
	// From where she signed in before, and again from the new address,
	// which her success made known.
	e.login(t, "erin@example.com", strongPassword)
	e.loginFrom(t, "192.0.2.1", "erin@example.com", strongPassword).Status(t, 200)
	// An unknown account is slowed the same way: the wait says nothing of
	// whether the address has an account.
	for i := range 4 {
		e.loginFrom(t, fmt.Sprintf("203.0.113.%d", i+1), "ghost@example.com", "botnet guess").ErrorCode(t, 401, "invalid_credentials")
	}
	start = time.Now()
	e.loginFrom(t, "203.0.113.200", "ghost@example.com", "botnet guess").ErrorCode(t, 401, "invalid_credentials")
	if took := time.Since(start); took < 2*base {
		t.Fatalf("attempt on an unknown account after 4 failures took %s, want at least %s", took, 2*base)
	}
}

// Behind a proxy that appends the address it received from, the client
// writes the left of X-Forwarded-For: varying it does not get an attacker a
// fresh address, since only the entry our proxy added is believed.
func TestLockoutNotDodgedBySpoofedForwardedFor(t *testing.T) {
	e := start(t, withVars(trustLoopback, map[string]string{
		"VEZA_AUTH_MAX_FAILED_LOGINS_PER_ACCOUNT": "5", "VEZA_AUTH_MAX_FAILED_LOGINS_PER_IP": "50",
		"VEZA_AUTH_LOGIN_DELAY_AFTER": "100",
	}))
	e.account(t, "carol")
	const attacker = "203.0.113.66" // what the proxy saw
	for i := range 5 {
		spoofed := fmt.Sprintf("198.51.100.%d, %s", i+1, attacker)
		e.loginFrom(t, spoofed, "carol@example.com", fmt.Sprint("guess ", i)).ErrorCode(t, 401, "invalid_credentials")
	}
	e.loginFrom(t, "198.51.100.200, "+attacker, "carol@example.com", "guess again").ErrorCode(t, 429, "too_many_attempts")
	e.loginFrom(t, "198.51.100.201", "carol@example.com", strongPassword).Status(t, 200) // carol herself
}
