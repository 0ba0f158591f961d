package auth_test

import (
	"maps"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/platform/mail/mailtest"
)

// These tests send the module's mail over SMTP, to a mailtest relay, through
// the platform's Sender as a deployment would.

// startSMTP starts the module with vars on top of the relay's listener m.
func startSMTP(t *testing.T, srv *mailtest.Server, m mailtest.Mode, vars map[string]string) *env {
	t.Helper()
	all := map[string]string{"APP_PUBLIC_URL": "https://veza.test", "RATE_LIMIT_LIMIT": "100000"}
	maps.Copy(all, srv.Env(m))
	maps.Copy(all, vars)
	for k, v := range all {
		if v == "" {
			delete(all, k) // unset, not empty
		}
	}
	return &env{Server: apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module()}, Env: all})}
}

var anyLink = regexp.MustCompile(`(https?://[^/\s]+)(/[a-z-]+)\?token=([A-Za-z0-9_\-]+)`)

// link returns the link in a mail: its base URL, path and token.
func link(t *testing.T, m mailtest.Message) (base, path, token string) {
	t.Helper()
	sub := anyLink.FindStringSubmatch(m.Text)
	if sub == nil {
		t.Fatalf("no link in the mail:\n%s", m.Text)
	}
	return sub[1], sub[2], sub[3]
}

// transmitted lists the messages whose content reached the relay, delivered
// or refused, one per attempt at most.
func transmitted(atts []mailtest.Attempt) []mailtest.Message {
	var out []mailtest.Message
	for _, a := range atts {
		out = append(out, a.Messages...)
	}
	return out
}

func (e *env) inspector() *asynq.Inspector {
	return asynq.NewInspectorFromRedisClient(e.Runtime.Redis())
}

// waitQueue waits until the auth queue's counts satisfy cond.
func (e *env) waitQueue(t *testing.T, what string, cond func(*asynq.QueueInfo) bool) *asynq.QueueInfo {
	t.Helper()
	var info *asynq.QueueInfo
	apptest.Eventually(t, 20*time.Second, what, func() bool {
		var err error
		info, err = e.inspector().GetQueueInfo("auth")
		return err == nil && cond(info)
	})
	return info
}

func (e *env) emailTokens(t *testing.T, userID, purpose string) int {
	t.Helper()
	return e.count(t, `SELECT count(*) FROM auth_email_tokens WHERE user_id = $1 AND purpose = $2`, userID, purpose)
}

// A relay that refuses the recipient for good (550) gets one attempt: the
// task is archived at once instead of retried, and mints no second token.
func TestMailPermanentRefusalIsNotRetried(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{})
	srv.Respond("RCPT", "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown", mailtest.Always)
	e := startSMTP(t, srv, mailtest.StartTLS, nil)
	u := e.register(t, "nobody", "nobody@example.com", strongPassword)

	info := e.waitQueue(t, "the mail task failed", func(q *asynq.QueueInfo) bool { return q.Archived+q.Retry > 0 })
	if info.Archived != 1 || info.Retry != 0 || info.Pending != 0 || info.Active != 0 || info.Scheduled != 0 {
		t.Fatalf("queue after the refusal: %+v, want only the archived task", info)
	}
	archived, err := e.inspector().ListArchivedTasks("auth")
	if err != nil || len(archived) != 1 {
		t.Fatalf("archived: %v %v", archived, err)
	}
	if task := archived[0]; task.Type != auth.SendEmailJob || task.Retried != 0 || !strings.Contains(task.LastErr, "550") {
		t.Errorf("archived task: type %s, retried %d, last error %q", task.Type, task.Retried, task.LastErr)
	}
	atts := srv.Attempts()
	if len(atts) != 1 || !strings.Contains(atts[0].Verbs(), "RCPT") || len(srv.Messages()) != 0 {
		t.Fatalf("%d SMTP attempts (%v), %d delivered; want one refused attempt", len(atts), atts, len(srv.Messages()))
	}
	if n := e.emailTokens(t, u.ID, "verify_email"); n > 1 {
		t.Errorf("%d verification tokens stored", n)
	}
}

// A temporary refusal (451 after the content) is retried with the same link,
// stored once, and that link verifies the address.
func TestMailTemporaryRefusalRetriesTheSameLink(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{})
	srv.Respond(".", "451 4.7.1 Greylisted, try again later", 1)
	e := startSMTP(t, srv, mailtest.StartTLS, nil)
	u := e.register(t, "greylisted", "greylisted@example.com", strongPassword)

	e.waitQueue(t, "the mail task waiting for its retry", func(q *asynq.QueueInfo) bool { return q.Retry == 1 })
	// Run the retry now rather than after asynq's backoff (15 s or more):
	// the same task, so the same task id, as a real retry.
	retries, err := e.inspector().ListRetryTasks("auth")
	if err != nil || len(retries) != 1 || retries[0].Retried != 1 {
		t.Fatalf("retry queue: %v %v", retries, err)
	}
	if err := e.inspector().RunTask("auth", retries[0].ID); err != nil {
		t.Fatal(err)
	}
	delivered := srv.WaitMessages(t, 1, 20*time.Second)

	msgs := transmitted(srv.Attempts())
	if len(srv.Attempts()) != 2 || len(msgs) != 2 || msgs[0].Delivered() || !msgs[1].Delivered() {
		t.Fatalf("%d attempts, %d messages transmitted; want a refused one, then a delivered one", len(srv.Attempts()), len(msgs))
	}
	_, _, first := link(t, msgs[0])
	_, path, token := link(t, delivered[0])
	if first != token || path != "/verify-email" {
		t.Fatalf("the retry mailed another link: %s then %s (%s)", first, token, path)
	}
	if n := e.emailTokens(t, u.ID, "verify_email"); n != 1 {
		t.Errorf("%d verification tokens stored, want 1", n)
	}
	e.Do(t, "POST", "/api/v1/auth/verify-email", map[string]string{"token": token}).Status(t, 200)
	e.login(t, "greylisted@example.com", strongPassword)
}

// SMTP_TLS=implicit reaches a relay that speaks TLS from the first byte,
// trusted through SMTP_CA_FILE, with AUTH.
func TestMailImplicitTLS(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{Username: "veza", Password: "relay secret"})
	e := startSMTP(t, srv, mailtest.Implicit, nil)
	e.register(t, "tlsuser", "tlsuser@example.com", strongPassword)

	m := srv.WaitMessages(t, 1, 20*time.Second)[0]
	att := srv.Attempts()[0]
	if att.Mode != mailtest.Implicit || !att.Commands[0].TLS || !strings.Contains(att.Verbs(), "AUTH/tls") {
		t.Errorf("session: %s on %s", att.Verbs(), att.Mode)
	}
	if m.From != "no-reply@veza.localhost" || strings.Join(m.To, ",") != "tlsuser@example.com" || m.Subject() != "Verify your email address" {
		t.Errorf("mail: from %s to %v, subject %q", m.From, m.To, m.Subject())
	}
	_, _, token := link(t, m)
	e.Do(t, "POST", "/api/v1/auth/verify-email", map[string]string{"token": token}).Status(t, 200)
}

// Without APP_PUBLIC_URL, the mailed link is this server's own address,
// http://<APP_HOST or localhost>:<APP_PORT>, and it works.
func TestMailLinkWithoutPublicURL(t *testing.T) {
	port := freePort(t)
	srv := mailtest.NewServer(t, mailtest.Options{})
	e := startSMTP(t, srv, mailtest.StartTLS, map[string]string{
		"APP_PUBLIC_URL": "", "APP_HOST": "127.0.0.1", "APP_PORT": strconv.Itoa(port),
	})
	e.register(t, "local", "local@example.com", strongPassword)

	base, path, token := link(t, srv.WaitMessages(t, 1, 20*time.Second)[0])
	if want := "http://127.0.0.1:" + strconv.Itoa(port); base != want || e.URL != want || path != "/verify-email" {
		t.Fatalf("link base %s (path %s), server at %s; want %s", base, path, e.URL, want)
	}
	e.Do(t, "POST", "/api/v1/auth/verify-email", map[string]string{"token": token}).Status(t, 200)
}

// freePort returns a loopback port nobody listens on (for a moment).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
