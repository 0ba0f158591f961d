package auth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
)

// waitMailsDone waits until every outbox row is relayed and the auth queue
// has run everything it was given.
func (e *env) waitMailsDone(t *testing.T) {
	t.Helper()
	e.WaitOutbox(t, 20*time.Second)
	e.waitQueue(t, "the mail jobs done", func(q *asynq.QueueInfo) bool {
		return q.Pending == 0 && q.Active == 0 && q.Scheduled == 0 && q.Retry == 0
	})
}

// Ten requests in a row for one address are all accepted, and mail it at
// most mail_budget_per_address (3) times per kind, registration's mail
// included, whichever of two worker processes runs the jobs: the budget is
// kept in Redis. Requests for an address without an account spend none of
// its budget, so they cannot stop the mail of the owner's registration.
func TestMailBudgetPerAddress(t *testing.T) {
	e := start(t, nil)
	apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module()}, Role: app.RoleWorker,
		DatabaseURL: e.Config.DatabaseURL, RedisURL: e.Redis.URL(),
		Env: map[string]string{"MAIL_DRIVER": "dir", "MAIL_DIR": e.mailDir, "APP_PUBLIC_URL": "https://veza.test"}})

	e.account(t, "resetme") // one verification mail
	e.register(t, "flooded", "flooded@example.com", strongPassword)
	for range 10 {
		e.Do(t, "POST", "/api/v1/auth/resend-verification", map[string]string{"email": "flooded@example.com"}).Status(t, 202)
		e.Do(t, "POST", "/api/v1/auth/password/reset-request", map[string]string{"email": "resetme@example.com"}).Status(t, 202)
		e.Do(t, "POST", "/api/v1/auth/resend-verification", map[string]string{"email": "later@example.com"}).Status(t, 202)
	}
	e.waitMailsDone(t)
	e.register(t, "later", "later@example.com", strongPassword)
	e.waitMailsDone(t)

	counts := map[string]int{}
	for _, m := range e.mails(t) {
		if sub := tokenLink.FindStringSubmatch(m.body); sub != nil {
			counts[m.to+" "+sub[1]]++
		}
	}
	want := map[string]int{
		"flooded@example.com /verify-email":   3,
		"resetme@example.com /reset-password": 3,
		"resetme@example.com /verify-email":   1,
		"later@example.com /verify-email":     1,
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s: %d mails, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'auth.password_reset_requested'`); n != 3 {
		t.Errorf("%d reset requests audited, want the 3 mailed", n)
	}
}

// A resend or reset request does the same work whether the address has an
// account or not: it never reads the users table (it answers while the
// table is locked) and writes exactly one outbox row of the same type and
// shape, the address as given in canonical form. The account is looked up
// by the job, on a worker, where its timing reaches nobody.
// (bench/auth_mail_test.go measures the latencies of both paths.)
func TestMailRequestsDoTheSameWorkForAnyAddress(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module()}, Role: app.RoleAPI,
		Env: map[string]string{"MAIL_DRIVER": "dir", "MAIL_DIR": t.TempDir(), "RATE_LIMIT_LIMIT": "100000", "HANDLER_TIMEOUT": "5s"}})
	e := &env{Server: srv}
	e.register(t, "known", "known@example.com", strongPassword)
	db := srv.Runtime.DB()
	if _, err := db.Exec(`DELETE FROM outbox`); err != nil { // the registration's rows
		t.Fatal(err)
	}

	ctx := context.Background()
	lock, err := db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback()
	if _, err := lock.Exec(`LOCK TABLE users IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	paths := []string{"/api/v1/auth/password/reset-request", "/api/v1/auth/resend-verification"}
	addresses := []string{"known@example.com", "ghost@example.com", " Known@Example.COM "}
	for _, p := range paths {
		for _, a := range addresses {
			res := e.Do(t, "POST", p, map[string]string{"email": a})
			if res.StatusCode != http.StatusAccepted {
				t.Fatalf("POST %s for %q with the users table locked: %d %s (the request reads users)", p, a, res.StatusCode, res.Body)
			}
		}
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}

	var rows []struct {
		Type    string `db:"type"`
		Kind    string `db:"kind"`
		Payload string `db:"payload"`
	}
	if err := db.Select(&rows, `SELECT type, kind, payload::text AS payload FROM outbox ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(paths)*len(addresses) {
		t.Fatalf("%d outbox rows for %d requests, want one each", len(rows), len(paths)*len(addresses))
	}
	var shapes [][]string
	for i, r := range rows {
		var payload struct {
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal([]byte(r.Payload), &payload); err != nil {
			t.Fatal(err)
		}
		wantEmail := "known@example.com"
		if i%len(addresses) == 1 {
			wantEmail = "ghost@example.com"
		}
		if r.Kind != "job" || r.Type != auth.SendEmailJob || payload.Data["email"] != wantEmail || payload.Data["user_id"] != nil {
			t.Fatalf("row %d: %s %s %s, want a %s job for %s naming no user", i, r.Kind, r.Type, r.Payload, auth.SendEmailJob, wantEmail)
		}
		var keys []string
		for k := range payload.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		shapes = append(shapes, keys)
	}
	for i := range shapes {
		if !slices.Equal(shapes[i], shapes[0]) {
			t.Fatalf("payload shapes differ: %v and %v", shapes[0], shapes[i])
		}
	}
}
