package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestLogDriver(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	s := NewLog(zap.New(core))

	const token = "tok_5f2a9c0d1e"
	m := testMessage()
	m.Text = "Open https://veza.local/verify?token=" + token + " to verify.\n"
	m.HTML = `<a href="https://veza.local/verify?token=` + token + `">verify</a>`
	id, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}

	entries := logs.AllUntimed()
	if len(entries) != 1 {
		t.Fatalf("%d log entries, want 1", len(entries))
	}
	e := entries[0]
	if e.Level != zapcore.InfoLevel {
		t.Errorf("level %v, want info", e.Level)
	}
	fields := e.ContextMap()
	if got := fmt.Sprint(fields["to"]); got != "[zoe@example.com ops@example.org]" {
		t.Errorf("to = %s", got)
	}
	if fields["subject"] != m.Subject {
		t.Errorf("subject = %v", fields["subject"])
	}
	if fields["message_id"] != id || id == "" {
		t.Errorf("message_id = %v, Send returned %q", fields["message_id"], id)
	}
	all := e.Message + fmt.Sprint(fields)
	for _, secret := range []string{token, "verify?", "to verify"} {
		if strings.Contains(all, secret) {
			t.Errorf("log line contains %q: %s", secret, all)
		}
	}
	for k := range fields {
		if k != "to" && k != "subject" && k != "message_id" {
			t.Errorf("unexpected field %q", k)
		}
	}

	// Invalid messages fail as they would with smtp, and log nothing.
	m.To = []string{"a@example.com\r\nBcc: victim@example.com"}
	if _, err := s.Send(context.Background(), m); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("err = %v", err)
	}
	if logs.Len() != 1 {
		t.Errorf("invalid message was logged")
	}

	if _, err := NewLog(nil).Send(context.Background(), testMessage()); err != nil {
		t.Errorf("nil logger: %v", err)
	}
}
