package mail

import (
	"context"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/mail/mailtest"
)

// loadConfig is the platform configuration of a test process with vars.
func loadConfig(t *testing.T, vars map[string]string, validate bool) *config.Config {
	t.Helper()
	opts := config.Options{Dir: t.TempDir(), LookupEnv: func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}}
	read := config.Read
	if validate {
		read = config.Load
	}
	cfg, err := read(opts)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestNewPicksTheDriver(t *testing.T) {
	if s, err := New(loadConfig(t, map[string]string{"MAIL_DRIVER": "Log"}, true), zap.NewNop()); err != nil || s == nil {
		t.Errorf("log: %v", err)
	}
	if s, err := New(loadConfig(t, map[string]string{"MAIL_DIR": t.TempDir()}, true), nil); err != nil || s == nil {
		t.Errorf("dir (the default): %v", err)
	}
	srv := mailtest.NewServer(t, mailtest.Options{})
	if s, err := New(loadConfig(t, srv.Env(mailtest.StartTLS), true), nil); err != nil || s.(*smtpSender).cfg.Security != StartTLS {
		t.Errorf("smtp: %v", err)
	}
}

// SMTP_TLS=implicit with SMTP_CA_FILE reaches a relay with a private
// certificate, from the configuration alone.
func TestNewImplicitTLSWithCAFile(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{Username: "u", Password: "p"})
	s, err := New(loadConfig(t, srv.Env(mailtest.Implicit), true), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || !srv.Attempts()[0].Commands[0].TLS {
		t.Fatalf("%d messages, first command %+v", len(msgs), srv.Attempts()[0].Commands[0])
	}
}

func TestNewRefusesUnusableConfiguration(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{})
	for name, tc := range map[string]struct {
		vars map[string]string
		want string
	}{
		"bad MAIL_FROM":     {map[string]string{"MAIL_DRIVER": "log", "MAIL_FROM": "Veza <no reply>"}, "MAIL_FROM"},
		"smtp without host": {map[string]string{"MAIL_DRIVER": "smtp"}, "SMTP_HOST"},
		"unknown driver":    {map[string]string{"MAIL_DRIVER": "smtp"}, "MAIL_DRIVER"},
		"unreadable CA":     {mergeVars(srv.Env(mailtest.StartTLS), map[string]string{"SMTP_CA_FILE": filepath.Join(t.TempDir(), "missing.pem")}), "SMTP_CA_FILE"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := loadConfig(t, tc.vars, false)
			if name == "unknown driver" {
				cfg.MailDriver = "sendmail"
			}
			_, err := New(cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func mergeVars(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	maps.Copy(out, b)
	return out
}
