package mail

import (
	"context"
	"crypto/x509"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/veza/veza/platform/mail/mailtest"
)

const (
	testUser = "mailer"
	testPass = "s3cret pass"
)

func newServer(t *testing.T) *mailtest.Server {
	return mailtest.NewServer(t, mailtest.Options{Username: testUser, Password: testPass})
}

// smtpConfig reaches listener m of srv, trusting its CA.
func smtpConfig(srv *mailtest.Server, m mailtest.Mode, sec Security) SMTPConfig {
	return SMTPConfig{
		Host:        "127.0.0.1",
		Port:        srv.Port(m),
		Username:    testUser,
		Password:    testPass,
		Security:    sec,
		RootCAs:     srv.CA().Pool,
		SendTimeout: 5 * time.Second,
	}
}

func send(t *testing.T, cfg SMTPConfig, m Message) (string, error) {
	t.Helper()
	s, err := NewSMTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s.Send(context.Background(), m)
}

// onlyAttempt returns the server's single connection.
func onlyAttempt(t *testing.T, srv *mailtest.Server) mailtest.Attempt {
	t.Helper()
	atts := srv.Attempts()
	if len(atts) != 1 {
		t.Fatalf("%d connections, want 1", len(atts))
	}
	return atts[0]
}

func TestSMTPStartTLSAuthAndDelivery(t *testing.T) {
	srv := newServer(t)
	m := testMessage()
	m.Headers = map[string]string{"Message-ID": "<fixed-for-comparison@veza.local>", "Auto-Submitted": "auto-generated"}

	id, err := send(t, smtpConfig(srv, mailtest.StartTLS, StartTLS), m)
	if err != nil {
		t.Fatal(err)
	}
	if id != "<fixed-for-comparison@veza.local>" {
		t.Errorf("id = %q", id)
	}
	const want = "EHLO STARTTLS EHLO/tls AUTH/tls MAIL/tls RCPT/tls RCPT/tls DATA/tls ./tls QUIT/tls"
	if got := onlyAttempt(t, srv).Verbs(); got != want {
		t.Errorf("session:\n got %s\nwant %s", got, want)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages delivered", len(msgs))
	}
	got := msgs[0]
	if got.From != "no-reply@veza.local" || strings.Join(got.To, ",") != "zoe@example.com,ops@example.org" {
		t.Errorf("envelope: from %q to %q", got.From, got.To)
	}
	checkHeaders(t, got, m, id)
	if got.Text != m.Text {
		t.Errorf("text:\n got %q\nwant %q", got.Text, m.Text)
	}
	// ...and lines starting with a dot were stuffed on the wire.
	if !strings.Contains(string(got.Wire), "\r\n..a line that starts with a dot\r\n..\r\n") {
		t.Errorf("lines starting with a dot were not stuffed:\n%s", got.Wire)
	}
}

// hasReply tells whether err shows the server's reply (code, then text).
func hasReply(err error, reply string) bool {
	code, text, _ := strings.Cut(reply, " ")
	return err != nil && strings.Contains(err.Error(), code) && strings.Contains(err.Error(), text)
}

func checkHeaders(t *testing.T, got mailtest.Message, m Message, id string) {
	t.Helper()
	if got.Subject() != m.Subject {
		t.Errorf("Subject = %q, want %q", got.Subject(), m.Subject)
	}
	if got.Header.Get("Message-ID") != id || got.Header.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("headers: %v", got.Header)
	}
	to, err := got.Header.AddressList("To")
	if err != nil || len(to) != 2 || to[0].Name != "Zoë Durand" || to[1].Address != "ops@example.org" {
		t.Errorf("To: %v %v", to, err)
	}
	from, err := mail.ParseAddress(got.Header.Get("From"))
	if err != nil || from.String() != `"Veza" <no-reply@veza.local>` {
		t.Errorf("From: %v %v", from, err)
	}
	if _, err := got.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if ua := got.Header.Get("User-Agent") + got.Header.Get("X-Mailer"); ua != "" {
		t.Errorf("the message advertises its mailer: %q", ua)
	}
}

func TestSMTPHTMLAlternative(t *testing.T) {
	srv := newServer(t)
	m := testMessage()
	m.HTML = "<p>Bonjour Zoë</p>"
	if _, err := send(t, smtpConfig(srv, mailtest.StartTLS, StartTLS), m); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()[0]
	if !strings.HasPrefix(got.Header.Get("Content-Type"), "multipart/alternative") ||
		got.Text != m.Text || strings.TrimSpace(got.HTML) != m.HTML {
		t.Errorf("alternative: %q text %q html %q", got.Header.Get("Content-Type"), got.Text, got.HTML)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	srv := newServer(t)
	if _, err := send(t, smtpConfig(srv, mailtest.Implicit, ImplicitTLS), testMessage()); err != nil {
		t.Fatal(err)
	}
	if got, want := onlyAttempt(t, srv).Verbs(), "EHLO/tls AUTH/tls MAIL/tls RCPT/tls RCPT/tls DATA/tls ./tls QUIT/tls"; got != want {
		t.Errorf("session:\n got %s\nwant %s", got, want)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages delivered", n)
	}
}

func TestSMTPStartTLSModeRefusesPlaintext(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{Username: testUser, Password: testPass, PlainAuth: true})
	_, err := send(t, smtpConfig(srv, mailtest.Plain, StartTLS), testMessage())
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want a refusal naming STARTTLS", err)
	}
	if IsPermanent(err) {
		t.Errorf("a relay without STARTTLS is fixed by the operator, not permanent")
	}
	if got := onlyAttempt(t, srv).Verbs(); got != "EHLO" {
		t.Errorf("sent more than EHLO before refusing: %s", got)
	}
}

func TestSMTPOpportunistic(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{Username: testUser, Password: testPass, PlainAuth: true})

	// Without STARTTLS on offer: plaintext, AUTH included.
	if _, err := send(t, smtpConfig(srv, mailtest.Plain, Opportunistic), testMessage()); err != nil {
		t.Fatal(err)
	}
	// With it: upgraded.
	if _, err := send(t, smtpConfig(srv, mailtest.StartTLS, Opportunistic), testMessage()); err != nil {
		t.Fatal(err)
	}
	atts := srv.Attempts()
	if len(atts) != 2 || len(srv.Messages()) != 2 {
		t.Fatalf("%d connections, %d messages", len(atts), len(srv.Messages()))
	}
	if got, want := atts[0].Verbs(), "EHLO AUTH MAIL RCPT RCPT DATA . QUIT"; got != want {
		t.Errorf("plaintext session:\n got %s\nwant %s", got, want)
	}
	if got, want := atts[1].Verbs(), "EHLO STARTTLS EHLO/tls AUTH/tls MAIL/tls RCPT/tls RCPT/tls DATA/tls ./tls QUIT/tls"; got != want {
		t.Errorf("upgraded session:\n got %s\nwant %s", got, want)
	}
}

func TestSMTPNoAuthWithoutCredentials(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{})
	cfg := smtpConfig(srv, mailtest.StartTLS, StartTLS)
	cfg.Username, cfg.Password = "", ""
	if _, err := send(t, cfg, testMessage()); err != nil {
		t.Fatal(err)
	}
	if got := onlyAttempt(t, srv).Verbs(); strings.Contains(got, "AUTH") {
		t.Errorf("authenticated without credentials: %s", got)
	}
}

func TestSMTPVerifiesCertificates(t *testing.T) {
	for _, tc := range []struct {
		mode mailtest.Mode
		sec  Security
	}{{mailtest.StartTLS, Opportunistic}, {mailtest.StartTLS, StartTLS}, {mailtest.Implicit, ImplicitTLS}} {
		t.Run(string(tc.sec), func(t *testing.T) {
			srv := newServer(t)
			cfg := smtpConfig(srv, tc.mode, tc.sec)
			cfg.RootCAs = x509.NewCertPool() // does not trust the server
			_, err := send(t, cfg, testMessage())
			var unknown x509.UnknownAuthorityError
			if !errors.As(err, &unknown) {
				t.Fatalf("err = %v, want a certificate verification error", err)
			}
			for _, a := range srv.Attempts() {
				if v := a.Verbs(); strings.Contains(v, "AUTH") || strings.Contains(v, "MAIL") {
					t.Errorf("went on after a failed handshake: %s", v)
				}
			}
		})
	}
}

func TestSMTPWrongCredentials(t *testing.T) {
	srv := newServer(t)
	cfg := smtpConfig(srv, mailtest.StartTLS, StartTLS)
	cfg.Password = "wrong"
	_, err := send(t, cfg, testMessage())
	if !hasReply(err, "535 5.7.8 Authentication credentials invalid") {
		t.Fatalf("err = %v, want the server's 535 reply", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks the password: %v", err)
	}
	if IsPermanent(err) {
		t.Errorf("bad credentials are fixed by the operator, not permanent")
	}
	if v := onlyAttempt(t, srv).Verbs(); strings.Contains(v, "MAIL") {
		t.Errorf("MAIL sent after failed AUTH: %s", v)
	}
}

// The server's verdict on the message: 5xx is final, 4xx and an
// authentication demand are not.
func TestSMTPRepliesPermanentOrNot(t *testing.T) {
	for _, tc := range []struct {
		command, reply string
		permanent      bool
	}{
		{"RCPT", "550 5.1.1 <zoe@example.com>: Recipient address rejected: User unknown", true},
		{"RCPT", "451 4.3.0 Try again later", false},
		{"MAIL", "553 5.1.8 Sender address rejected", true},
		{"MAIL", "530 5.7.0 Authentication required", false},
		{"MAIL", "421 4.3.2 Service shutting down", false},
		{"DATA", "554 5.5.1 No valid recipients", true},
		{".", "554 5.7.1 Message rejected as spam", true},
		{".", "451 4.7.1 Greylisted, try again", false},
	} {
		t.Run(tc.command+" "+tc.reply[:3], func(t *testing.T) {
			srv := newServer(t)
			srv.Respond(tc.command, tc.reply, mailtest.Always)
			_, err := send(t, smtpConfig(srv, mailtest.StartTLS, StartTLS), testMessage())
			if !hasReply(err, tc.reply) {
				t.Fatalf("err = %v, want the server's reply", err)
			}
			if IsPermanent(err) != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v (%v)", !tc.permanent, tc.permanent, err)
			}
			if n := len(srv.Messages()); n != 0 {
				t.Errorf("%d messages delivered", n)
			}
		})
	}
}

func TestSMTPSilentServerTimesOut(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{Silent: true})
	within := func(t *testing.T, start time.Time) {
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v", d)
		}
	}

	t.Run("SendTimeout", func(t *testing.T) {
		cfg := smtpConfig(srv, mailtest.StartTLS, StartTLS)
		cfg.SendTimeout = 300 * time.Millisecond
		start := time.Now()
		_, err := send(t, cfg, testMessage())
		if !errors.Is(err, context.DeadlineExceeded) || IsPermanent(err) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		within(t, start)
	})
	t.Run("ConnectTimeout", func(t *testing.T) {
		// A TLS handshake that never ends is part of connecting.
		cfg := smtpConfig(srv, mailtest.Implicit, ImplicitTLS)
		cfg.ConnectTimeout, cfg.SendTimeout = 300*time.Millisecond, time.Minute
		start := time.Now()
		_, err := send(t, cfg, testMessage())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		within(t, start)
	})
	t.Run("ContextDeadline", func(t *testing.T) {
		cfg := smtpConfig(srv, mailtest.StartTLS, StartTLS)
		cfg.SendTimeout = time.Minute
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		s, _ := NewSMTP(cfg)
		if _, err := s.Send(ctx, testMessage()); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want DeadlineExceeded", err)
		}
		within(t, start)
	})
	t.Run("ContextCancel", func(t *testing.T) {
		cfg := smtpConfig(srv, mailtest.StartTLS, StartTLS)
		cfg.SendTimeout = time.Minute
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		s, _ := NewSMTP(cfg)
		if _, err := s.Send(ctx, testMessage()); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want Canceled", err)
		}
		within(t, start)
	})
}

func TestSMTPRefusesBeforeConnecting(t *testing.T) {
	srv := newServer(t)
	m := testMessage()
	m.Subject = "hi\r\nBcc: victim@example.com"
	_, err := send(t, smtpConfig(srv, mailtest.StartTLS, StartTLS), m)
	if !errors.Is(err, ErrInvalidMessage) || !IsPermanent(err) {
		t.Errorf("err = %v", err)
	}
	if n := len(srv.Attempts()); n != 0 {
		t.Errorf("connected anyway: %d connections", n)
	}
	for _, bad := range []SMTPConfig{
		{},
		{Host: "smtp.example.com", Port: 70000},
		{Host: "smtp.example.com", Password: "p"},
		{Host: "smtp.example.com", Security: "ssl3"},
	} {
		if _, err := NewSMTP(bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
