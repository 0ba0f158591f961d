package auth_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/cli"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/platform/jobs"
)

// fieldError fails unless env's details hold field with a message
// containing part.
func fieldError(t *testing.T, what string, details []struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}, field, part string) {
	t.Helper()
	for _, d := range details {
		if d.Field == field && strings.Contains(d.Message, part) && d.Message != "" {
			return
		}
	}
	t.Fatalf("%s: details %+v lack field %s (%q)", what, details, field, part)
}

// An address no mail server can deliver to cannot register (422 naming the
// field and the fix), whether through the API or the CLI; resend and reset
// treat it as an unknown address. An internationalised domain is fine: it
// is stored and mailed in its punycode form.
func TestEmailAddressesMustBeMailable(t *testing.T) {
	e := start(t, nil)
	refused := map[string]string{
		"cyrillic local part":    "іван@example.com",
		"cyrillic look-alike":    "pаypal@example.com", // the a is U+0430
		"accented local part":    "josé@example.com",
		"fullwidth local part":   "ａｄａ@example.com",
		"bidi control in domain": "ada@exa\u202emple.com",
		"underscore in domain":   "ada@ex_ample.com",
		"no dot in domain":       "ada@localhost",
		"quoted local part":      `"ada lovelace"@example.com`,
		"local part over 64":     strings.Repeat("a", 65) + "@example.com",
		"label over 63":          "ada@" + strings.Repeat("a", 64) + ".com",
	}
	for name, email := range refused {
		t.Run(name, func(t *testing.T) {
			env := e.Do(t, "POST", "/api/v1/auth/register", map[string]string{"username": "someone", "email": email, "password": strongPassword}).
				ErrorCode(t, 422, "validation_failed")
			fieldError(t, email, env.Error.Details, "email", "")
		})
	}
	env := e.Do(t, "POST", "/api/v1/auth/register", map[string]string{"username": "ivan", "email": "іван@example.com", "password": strongPassword}).
		ErrorCode(t, 422, "validation_failed")
	fieldError(t, "cyrillic", env.Error.Details, "email", "ASCII")

	// Resend and reset: accepted, nothing queued.
	before := e.count(t, `SELECT count(*) FROM outbox WHERE type = $1`, auth.SendEmailJob)
	for _, p := range []string{"/api/v1/auth/resend-verification", "/api/v1/auth/password/reset-request"} {
		e.Do(t, "POST", p, map[string]string{"email": "іван@example.com"}).Status(t, 202)
		e.Do(t, "POST", p, map[string]string{"email": "not-an-email"}).ErrorCode(t, 422, "validation_failed")
		e.Do(t, "POST", p, map[string]string{}).ErrorCode(t, 422, "validation_failed")
	}
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE type = $1`, auth.SendEmailJob); n != before {
		t.Fatalf("%d mail jobs queued for an unmailable address", n-before)
	}

	// An IDN domain registers in punycode, is mailed there, and logs in by
	// either spelling.
	u := e.register(t, "buecher", "Ada@Bücher.example", strongPassword)
	if u.Email != "ada@xn--bcher-kva.example" {
		t.Fatalf("stored email %q, want the punycode form", u.Email)
	}
	e.verify(t, "ada@xn--bcher-kva.example")
	e.login(t, "ada@bücher.example", strongPassword)
	e.login(t, "ada@xn--bcher-kva.example", strongPassword)
	e.Do(t, "POST", "/api/v1/auth/register", map[string]string{"username": "buecher2", "email": "ada@xn--bcher-kva.example", "password": strongPassword}).
		ErrorCode(t, 409, "email_taken")

	// The CLI refuses the same addresses with the same words.
	var out, errOut bytes.Buffer
	code := cli.Run(context.Background(), app.New(auth.Module()), []string{"user", "create", "--email", "іван@example.com",
		"--username", "ivan", "--password", strongPassword}, cli.Streams{Out: &out, Err: &errOut, LookupEnv: func(k string) (string, bool) {
		v, ok := map[string]string{"APP_ENV": "test", "DATABASE_URL": e.Config.DatabaseURL, "REDIS_URL": e.Redis.URL(),
			"MAIL_DIR": e.mailDir, "LOG_LEVEL": "error"}[k]
		return v, ok
	}})
	if code != 1 || !strings.Contains(errOut.String(), "email the part before @ must use only ASCII") {
		t.Fatalf("user create with a Cyrillic address: %d %q %q", code, out.String(), errOut.String())
	}
}

// A message that cannot be built (an address stored before these checks,
// which the sender refuses) fails its mail job for good at once: archived,
// never retried.
func TestUnbuildableMailIsNotRetried(t *testing.T) {
	e := start(t, nil)
	db := e.Runtime.DB()
	var id string
	if err := db.Get(&id, `INSERT INTO users (id, username, email, password_hash) VALUES (gen_random_uuid(), 'petr', 'пётр@example.com', 'x') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	q := jobs.NewEnqueuer("auth", nil)
	if err := q.EnqueueTx(context.Background(), db, auth.SendEmailJob, 1, map[string]string{"kind": "verify_email", "user_id": id}, jobs.MaxRetry(8)); err != nil {
		t.Fatal(err)
	}
	info := e.waitQueue(t, "the mail task failed", func(q *asynq.QueueInfo) bool { return q.Archived+q.Retry > 0 })
	if info.Archived != 1 || info.Retry != 0 {
		t.Fatalf("queue %+v, want the task archived without a retry", info)
	}
	archived, err := e.inspector().ListArchivedTasks("auth")
	if err != nil || len(archived) != 1 || archived[0].Retried != 0 || !strings.Contains(archived[0].LastErr, "invalid message") {
		t.Fatalf("archived %+v %v, want one task, not retried, failed as an invalid message", archived, err)
	}
	if n := len(e.mails(t)); n != 0 {
		t.Fatalf("%d mails written", n)
	}
}
