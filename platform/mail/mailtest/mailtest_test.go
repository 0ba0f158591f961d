package mailtest

import (
	"crypto/tls"
	"net/smtp"
	"strings"
	"testing"
)

// The stdlib client is enough to check the server's own behaviour.
func TestRespondScriptsRepliesInOrder(t *testing.T) {
	srv := NewServer(t, Options{})
	srv.Respond("RCPT", "451 4.3.0 Try again later", 2)
	c, err := smtp.Dial(srv.Addr(StartTLS))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(&tls.Config{ServerName: "127.0.0.1", RootCAs: srv.CA().Pool}); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("a@example.com"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"451", "451", ""} {
		err := c.Rcpt("b@example.com")
		if (want == "") != (err == nil) || (err != nil && !strings.HasPrefix(err.Error(), want)) {
			t.Fatalf("RCPT %d: %v, want %q", i+1, err, want)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("Subject: hi\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8K\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.Quit()

	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].Text != "hello\n" || msgs[0].Subject() != "hi" || strings.Join(msgs[0].To, ",") != "b@example.com" {
		t.Fatalf("messages: %+v", msgs)
	}
	if got, want := srv.Attempts()[0].Verbs(), "EHLO STARTTLS EHLO/tls MAIL/tls RCPT/tls RCPT/tls RCPT/tls DATA/tls ./tls QUIT/tls"; got != want {
		t.Errorf("session:\n got %s\nwant %s", got, want)
	}
}
