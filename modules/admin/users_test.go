package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/admin"
	"github.com/veza/veza/modules/auth"
)

// Only admins reach the admin API: no token is 401, another role 403.
func TestAdminRoutesNeedTheAdminRole(t *testing.T) {
	e := start(t, nil)
	e.user(t, "root", "admin")
	plain := e.user(t, "plain", "user")
	for _, p := range []string{"/api/v1/admin/users", "/api/v1/admin/audit/logs", "/api/v1/admin/audit/stats",
		"/api/v1/admin/audit/suspicious", "/api/v1/admin/modules", "/api/v1/admin/debug/pprof/"} {
		e.Do(t, "GET", p, nil).ErrorCode(t, 401, "unauthorized")
		e.Do(t, "GET", p, nil, plain.bearer()...).ErrorCode(t, 403, "forbidden")
	}
	e.Do(t, "PUT", "/api/v1/admin/users/"+plain.ID+"/role", map[string]string{"role": "admin"}, plain.bearer()...).ErrorCode(t, 403, "forbidden")
	e.Do(t, "POST", "/api/v1/admin/users/"+plain.ID+"/unban", nil, plain.bearer()...).ErrorCode(t, 403, "forbidden")
}

// The list searches usernames and emails in any case, filters by role and
// status, and walks every account once, newest first.
func TestListUsers(t *testing.T) {
	e := start(t, nil)
	root := e.user(t, "root", "admin")
	for _, name := range []string{"alice", "Alicia", "bob", "carol", "dave"} {
		e.user(t, name, "user")
	}
	e.user(t, "maker", "creator")
	list := func(query string) []userView {
		t.Helper()
		var p pageOf[userView]
		e.Do(t, "GET", "/api/v1/admin/users?"+query, nil, root.bearer()...).Status(t, 200).Data(t, &p)
		return p.Items
	}
	names := func(us []userView) string {
		var out []string
		for _, u := range us {
			out = append(out, u.Username)
		}
		return strings.Join(out, ",")
	}
	if got := names(list("q=ALI")); got != "Alicia,alice" {
		t.Fatalf("q=ALI: %s", got)
	}
	if got := names(list("q=maker%40example")); got != "maker" {
		t.Fatalf("search by email: %s", got)
	}
	if got := names(list("role=creator")); got != "maker" {
		t.Fatalf("role=creator: %s", got)
	}
	if got := names(list("status=banned")); got != "" {
		t.Fatalf("status=banned: %s", got)
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		var p pageOf[userView]
		e.Do(t, "GET", "/api/v1/admin/users?limit=3"+cursor, nil, root.bearer()...).Status(t, 200).Data(t, &p)
		seen = append(seen, names(p.Items))
		if p.NextCursor == nil {
			break
		}
		cursor = "&cursor=" + *p.NextCursor
	}
	if got := strings.Join(seen, ","); got != "maker,dave,carol,bob,Alicia,alice,root" {
		t.Fatalf("pages: %s", got)
	}
	e.Do(t, "GET", "/api/v1/admin/users?role=emperor", nil, root.bearer()...).ErrorCode(t, 400, "bad_role")
	e.Do(t, "GET", "/api/v1/admin/users?status=asleep", nil, root.bearer()...).ErrorCode(t, 400, "bad_status")
	e.Do(t, "GET", "/api/v1/admin/users?cursor=bogus", nil, root.bearer()...).ErrorCode(t, 400, "bad_cursor")
}

// A role change answers the account, revokes its tokens at once and is
// audited; an unknown role is 422, an unknown account 404.
func TestSetRole(t *testing.T) {
	e := start(t, nil)
	root := e.user(t, "root", "admin")
	bob := e.user(t, "bob", "user")
	var u userView
	e.Do(t, "PUT", "/api/v1/admin/users/"+bob.ID+"/role", map[string]string{"role": "creator"}, root.bearer()...).Status(t, 200).Data(t, &u)
	if u.Role != "creator" || u.ID != bob.ID || u.Status != "active" {
		t.Fatalf("answer: %+v", u)
	}
	e.Do(t, "GET", "/api/v1/auth/me", nil, bob.bearer()...).ErrorCode(t, 401, "invalid_token")
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'auth.role_changed' AND actor_id = $1 AND target_id = $2
		AND meta->>'from' = 'user' AND meta->>'to' = 'creator' AND ip = '127.0.0.1'`, root.ID, bob.ID); n != 1 {
		t.Fatalf("role change audited %d times", n)
	}
	r := e.Do(t, "PUT", "/api/v1/admin/users/"+bob.ID+"/role", map[string]string{"role": "emperor"}, root.bearer()...)
	if env := r.ErrorCode(t, 422, "validation_failed"); len(env.Error.Details) != 1 || env.Error.Details[0].Field != "role" {
		t.Fatalf("details: %s", r.Body)
	}
	e.Do(t, "PUT", "/api/v1/admin/users/"+bob.ID+"/role", map[string]string{}, root.bearer()...).ErrorCode(t, 422, "validation_failed")
	e.Do(t, "PUT", "/api/v1/admin/users/0192f0c1-7a3b-7cde-8f00-1234567890ab/role", map[string]string{"role": "user"}, root.bearer()...).
		ErrorCode(t, 404, "not_found")
	e.Do(t, "PUT", "/api/v1/admin/users/not-a-uuid/role", map[string]string{"role": "user"}, root.bearer()...).ErrorCode(t, 404, "not_found")
}

// A banned account's existing token is refused at once, on this process and
// on another that cached it; its refresh tokens and password stop working,
// its profile leaves the other modules' copies (user.updated with an empty
// profile), and the ban is audited with its reason. An unban lets it sign
// in again.
func TestBanRefusesExistingTokensAtOnce(t *testing.T) {
	e := start(t, nil)
	other := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module(), admin.Module()}, Role: app.RoleAPI,
		DatabaseURL: e.Config.DatabaseURL, RedisURL: e.Redis.URL(),
		Env: map[string]string{"RATE_LIMIT_LIMIT": "1000000", "MAIL_DRIVER": "log", "VEZA_AUTH_TOKEN_CACHE_TTL": "10m"}})
	root := e.user(t, "root", "admin")
	mallory := e.user(t, "mallory", "user")
	var refresh struct {
		RefreshToken string `json:"refresh_token"`
	}
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": mallory.Email, "password": password}).Status(t, 200).Data(t, &refresh)
	e.Do(t, "GET", "/api/v1/auth/me", nil, mallory.bearer()...).Status(t, 200)
	other.Do(t, "GET", "/api/v1/auth/me", nil, mallory.bearer()...).Status(t, 200) // cached there for 10 minutes

	var u userView
	e.Do(t, "POST", "/api/v1/admin/users/"+mallory.ID+"/ban", map[string]string{"reason": "spam"}, root.bearer()...).Status(t, 200).Data(t, &u)
	if u.Status != "banned" || u.BanReason == nil || *u.BanReason != "spam" {
		t.Fatalf("answer: %+v", u)
	}
	e.Do(t, "GET", "/api/v1/auth/me", nil, mallory.bearer()...).ErrorCode(t, 403, "account_banned")
	began := time.Now()
	apptest.Eventually(t, 5*time.Second, "the ban on the other process", func() bool {
		return other.Do(t, "GET", "/api/v1/auth/me", nil, mallory.bearer()...).StatusCode == http.StatusForbidden
	})
	t.Logf("banned on the other process after %s", time.Since(began))
	e.Do(t, "POST", "/api/v1/auth/refresh", map[string]string{"refresh_token": refresh.RefreshToken}).ErrorCode(t, 401, "invalid_refresh_token")
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": mallory.Email, "password": password}).ErrorCode(t, 403, "account_banned")
	e.Do(t, "GET", "/api/v1/users/"+mallory.ID, nil).ErrorCode(t, 404, "not_found")

	var payload string
	if err := e.Runtime.DB().Get(&payload, `SELECT payload::text FROM outbox WHERE type = 'user.updated' AND $1::uuid = ANY(audience)
		ORDER BY created_at DESC LIMIT 1`, mallory.ID); err != nil {
		t.Fatalf("no user.updated for the ban: %v", err)
	}
	var ev struct {
		UserID   string `json:"user_id"`
		Username string `json:"username"`
	}
	if err := json.Unmarshal([]byte(payload), &ev); err != nil || ev.UserID != mallory.ID || ev.Username != "" {
		t.Fatalf("the ban's event: %s", payload)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'auth.banned' AND actor_id = $1 AND target_id = $2
		AND meta->>'reason' = 'spam'`, root.ID, mallory.ID); n != 1 {
		t.Fatalf("ban audited %d times", n)
	}
	// Banning again changes nothing; a reason too long or with controls is 422.
	e.Do(t, "POST", "/api/v1/admin/users/"+mallory.ID+"/ban", nil, root.bearer()...).Status(t, 200)
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'auth.banned'`); n != 1 {
		t.Fatalf("a second ban was recorded: %d", n)
	}
	e.Do(t, "POST", "/api/v1/admin/users/"+root.ID+"/ban", map[string]string{"reason": strings.Repeat("x", 501)}, root.bearer()...).
		ErrorCode(t, 422, "validation_failed")
	e.Do(t, "POST", "/api/v1/admin/users/"+root.ID+"/ban", map[string]string{"reason": "a\u202Eb"}, root.bearer()...).
		ErrorCode(t, 422, "validation_failed")
	e.Do(t, "POST", "/api/v1/admin/users/0192f0c1-7a3b-7cde-8f00-1234567890ab/ban", nil, root.bearer()...).ErrorCode(t, 404, "not_found")

	var banned pageOf[userView]
	e.Do(t, "GET", "/api/v1/admin/users?status=banned", nil, root.bearer()...).Status(t, 200).Data(t, &banned)
	if len(banned.Items) != 1 || banned.Items[0].ID != mallory.ID {
		t.Fatalf("banned accounts: %+v", banned.Items)
	}

	e.Do(t, "POST", "/api/v1/admin/users/"+mallory.ID+"/unban", nil, root.bearer()...).Status(t, 200).Data(t, &u)
	if u.Status != "active" || u.BanReason != nil {
		t.Fatalf("after the unban: %+v", u)
	}
	e.Do(t, "GET", "/api/v1/auth/me", nil, mallory.bearer()...).ErrorCode(t, 401, "invalid_token") // revoked for good
	again := e.login(t, mallory.Email)
	other.Do(t, "GET", "/api/v1/auth/me", nil, again.bearer()...).Status(t, 200)
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE type = 'user.updated' AND $1::uuid = ANY(audience)
		AND payload->>'username' = 'mallory'`, mallory.ID); n != 1 {
		t.Fatalf("the unban's user.updated with the profile: %d", n)
	}
	e.Do(t, "POST", "/api/v1/admin/users/0192f0c1-7a3b-7cde-8f00-1234567890ab/unban", nil, root.bearer()...).ErrorCode(t, 404, "not_found")
}

// The last admin can be neither demoted nor banned, by another admin, by
// itself or through the command line; with two, one may go.
func TestLastAdminStays(t *testing.T) {
	e := start(t, nil)
	root := e.user(t, "root", "admin")
	e.Do(t, "PUT", "/api/v1/admin/users/"+root.ID+"/role", map[string]string{"role": "user"}, root.bearer()...).ErrorCode(t, 409, "last_admin")
	e.Do(t, "POST", "/api/v1/admin/users/"+root.ID+"/ban", nil, root.bearer()...).ErrorCode(t, 409, "last_admin")
	e.Do(t, "PUT", "/api/v1/admin/users/"+root.ID+"/role", map[string]string{"role": "admin"}, root.bearer()...).Status(t, 200)
	if err := e.command(t, "user set-role", "--email", root.Email, "--role", "user"); err == nil || !strings.Contains(err.Error(), "last admin") {
		t.Fatalf("veza user set-role on the last admin: %v", err)
	}

	second := e.user(t, "second", "admin")
	e.Do(t, "POST", "/api/v1/admin/users/"+second.ID+"/ban", nil, root.bearer()...).Status(t, 200)
	// A banned admin is no admin for the count: root is the last one.
	e.Do(t, "PUT", "/api/v1/admin/users/"+root.ID+"/role", map[string]string{"role": "user"}, root.bearer()...).ErrorCode(t, 409, "last_admin")
	e.Do(t, "PUT", "/api/v1/admin/users/"+second.ID+"/role", map[string]string{"role": "user"}, root.bearer()...).Status(t, 200)
	if n := e.count(t, `SELECT count(*) FROM users WHERE role = 'admin' AND banned_at IS NULL`); n != 1 {
		t.Fatalf("%d live admins", n)
	}
}

// Two admins demoting each other at the same moment: both requests are
// authenticated and waiting in the database together, and exactly one
// wins; the other gets 409. The test holds both accounts' rows locked
// until both requests wait, so that neither can finish first by luck:
// without the lock on account administration, each would count the other
// as an admin and both would pass.
func TestLastAdminGuardUnderConcurrency(t *testing.T) {
	e := start(t, nil)
	a := e.user(t, "alpha", "admin")
	b := e.user(t, "bravo", "admin")
	db := e.Runtime.DB()
	hold, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(`SELECT 1 FROM users WHERE id IN ($1, $2) FOR UPDATE`, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, pair := range [][2]account{{a, b}, {b, a}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			actor, target := pair[0], pair[1]
			statuses[i] = e.Do(t, "PUT", "/api/v1/admin/users/"+target.ID+"/role", map[string]string{"role": "user"}, actor.bearer()...).StatusCode
		}()
	}
	apptest.Eventually(t, 10*time.Second, "both demotions waiting on locks", func() bool {
		return e.count(t, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) == 2
	})
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if !((statuses[0] == 200 && statuses[1] == 409) || (statuses[0] == 409 && statuses[1] == 200)) {
		t.Fatalf("statuses %v, want one 200 and one 409", statuses)
	}
	if n := e.count(t, `SELECT count(*) FROM users WHERE role = 'admin' AND banned_at IS NULL`); n != 1 {
		t.Fatalf("%d admins left", n)
	}
}
