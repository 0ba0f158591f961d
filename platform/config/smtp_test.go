package config

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veza/veza/platform/mail/mailtest"
)

func TestSMTPCAFile(t *testing.T) {
	ca := mailtest.NewCA(t)
	good := ca.WriteFile(t)
	cfg, err := Load(Options{Dir: t.TempDir(), LookupEnv: env(map[string]string{"SMTP_CA_FILE": good})})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := cfg.SMTPRootCAs()
	if err != nil || pool == nil || !pool.Equal(withSystem(t, ca.PEM)) {
		t.Fatalf("pool: %v", err)
	}

	cfg.SMTPCAFile = ""
	if pool, err := cfg.SMTPRootCAs(); pool != nil || err != nil {
		t.Errorf("unset: %v %v, want the system's (nil)", pool, err)
	}

	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		filepath.Join(t.TempDir(), "missing.pem"): "cannot be read",
		notPEM: "holds no PEM certificate",
	} {
		_, err := Load(Options{Dir: t.TempDir(), LookupEnv: env(map[string]string{"SMTP_CA_FILE": path})})
		if err == nil || !strings.Contains(err.Error(), "SMTP_CA_FILE") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", path, err, want)
		}
	}
}

// withSystem is the system's pool plus the certificates in pem.
func withSystem(t *testing.T, pem []byte) *x509.CertPool {
	t.Helper()
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pool.AppendCertsFromPEM(pem)
	return pool
}
