package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The seed's .env writes `LOG_LEVEL=INFO # DEBUG|INFO|WARN|ERROR`: every
// enumerated setting takes any letter case, an inline comment after a typed
// value is dropped, and an empty value means unset.
func TestEnumeratedSettingsTakeAnyCase(t *testing.T) {
	cfg, err := Load(Options{Dir: t.TempDir(), LookupEnv: env(map[string]string{
		"APP_ENV":          "Development",
		"LOG_LEVEL":        "INFO # DEBUG|INFO|WARN|ERROR",
		"LOG_FORMAT":       " JSON ",
		"MAIL_DRIVER":      "Log",
		"STORAGE_BACKEND":  "LOCAL",
		"SMTP_TLS":         "SSL",
		"RATE_LIMIT_SYNC":  "1s # how often",
		"APP_PORT":         "9090 # the API",
		"S3_USE_SSL":       "No",
		"MIGRATE_ON_START": "OFF",
	})})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Env != Development || cfg.LogLevel != "info" || cfg.LogFormat != "json" || cfg.MailDriver != "log" ||
		cfg.StorageBackend != "local" || cfg.SMTPTLS != "implicit" || cfg.RateLimitSync != time.Second ||
		cfg.Port != 9090 || cfg.S3UseSSL || cfg.MigrateOnStart {
		t.Fatalf("normalised: %+v", cfg)
	}
	for raw, want := range map[string]Env{"PRODUCTION": Production, "prod": Production, "Test": Test, "dev": Development, "Staging ": Staging} {
		if got, err := ParseEnv(raw); err != nil || got != want {
			t.Errorf("ParseEnv(%q) = %q, %v", raw, got, err)
		}
	}
	cfg, err = Load(Options{Dir: t.TempDir(), LookupEnv: env(map[string]string{"LOG_LEVEL": "Warning"})})
	if err != nil || cfg.LogLevel != "warn" {
		t.Fatalf("alias: %v %v", cfg, err)
	}
}

func TestEmptyValueMeansUnset(t *testing.T) {
	cfg, err := Load(Options{Dir: t.TempDir(), LookupEnv: env(map[string]string{
		"APP_ENV": "", "LOG_LEVEL": "", "APP_PORT": " ", "JWT_SECRET": "", "DATABASE_URL": "", "RATE_LIMIT_LIMIT": "",
	})})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Env != Development || cfg.LogLevel != "info" || cfg.Port != 8080 || cfg.JWTSecret != DevJWTSecret || cfg.RateLimitLimit != 300 {
		t.Fatalf("defaults expected: %+v", cfg)
	}
}

func TestEnumRefusalNamesTheChoices(t *testing.T) {
	for name, want := range map[string]string{
		"MAIL_DRIVER":     `MAIL_DRIVER="pigeon" must be smtp, log or dir (any letter case)`,
		"STORAGE_BACKEND": `STORAGE_BACKEND="pigeon" must be local or s3`,
		"LOG_FORMAT":      `LOG_FORMAT="pigeon" must be json or console`,
		"APP_ENV":         `APP_ENV="pigeon" must be development, test, staging or production`,
		"S3_USE_SSL":      `"pigeon" is not a boolean`,
	} {
		_, err := Load(Options{Dir: t.TempDir(), LookupEnv: env(map[string]string{name: "pigeon"})})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", name, err, want)
		}
	}
}

// Mail links must point at this server: APP_PUBLIC_URL follows
// APP_HOST/APP_PORT unless set.
func TestPublicURLFollowsHostAndPort(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "http://localhost:8080"},
		{map[string]string{"APP_PORT": "9123"}, "http://localhost:9123"},
		{map[string]string{"APP_HOST": "0.0.0.0", "APP_PORT": "9123"}, "http://localhost:9123"},
		{map[string]string{"APP_HOST": "127.0.0.1", "APP_PORT": "9123"}, "http://127.0.0.1:9123"},
		{map[string]string{"APP_HOST": "::1", "APP_PORT": "9123"}, "http://[::1]:9123"},
		{map[string]string{"APP_PORT": "9123", "APP_PUBLIC_URL": "https://veza.example/"}, "https://veza.example"},
	}
	for _, tc := range cases {
		cfg, err := Load(Options{Dir: t.TempDir(), LookupEnv: env(tc.env)})
		if err != nil || cfg.PublicURL != tc.want {
			t.Errorf("%v: PublicURL = %q, %v; want %q", tc.env, cfg.PublicURL, err, tc.want)
		}
	}
	_, err := Load(Options{Dir: t.TempDir(), LookupEnv: env(map[string]string{"APP_PUBLIC_URL": "veza.example"})})
	if err == nil || !strings.Contains(err.Error(), "APP_PUBLIC_URL") {
		t.Fatalf("relative URL accepted: %v", err)
	}
}

func TestSMTPSecurityDefaults(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "starttls"},
		{map[string]string{"SMTP_PORT": "465"}, "implicit"},
		{map[string]string{"SMTP_INSECURE": "true"}, "opportunistic"},
		{map[string]string{"SMTP_PORT": "465", "SMTP_TLS": "STARTTLS"}, "starttls"},
	} {
		cfg, err := Load(Options{Dir: t.TempDir(), LookupEnv: env(tc.env)})
		if err != nil || cfg.SMTPSecurity() != tc.want {
			t.Errorf("%v: %v %v, want %s", tc.env, cfg, err, tc.want)
		}
	}
	_, err := Load(Options{Dir: t.TempDir(), LookupEnv: env(map[string]string{"APP_ENV": "production", "JWT_SECRET": strings.Repeat("k", 40),
		"DATABASE_URL": "postgres://x/y", "CORS_ALLOWED_ORIGINS": "https://a", "MAIL_DRIVER": "smtp", "SMTP_HOST": "mail", "SMTP_INSECURE": "1",
		"APP_PUBLIC_URL": "https://veza.example"})})
	if err == nil || !strings.Contains(err.Error(), "refused in production") {
		t.Fatalf("plaintext SMTP in production: %v", err)
	}
}

func TestEnvFile(t *testing.T) {
	vars, err := ParseEnvFile(strings.NewReader(`# the seed's .env
LOG_LEVEL=INFO # DEBUG|INFO|WARN|ERROR
export APP_PORT=9000
SMTP_PASSWORD='p#ss $HOME'
MAIL_FROM="Veza \"bot\" <a@b.c>" # quoted
URL=http://x/#frag
EMPTY=
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"LOG_LEVEL": "INFO", "APP_PORT": "9000", "SMTP_PASSWORD": "p#ss $HOME",
		"MAIL_FROM": `Veza "bot" <a@b.c>`, "URL": "http://x/#frag", "EMPTY": ""}
	for k, v := range want {
		if vars[k] != v {
			t.Errorf("%s = %q, want %q", k, vars[k], v)
		}
	}
	for _, bad := range []string{"NOEQUALS\n", "1X=2\n", "A='open\n", `A="x" y` + "\n"} {
		if _, err := ParseEnvFile(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "my.env")
	if err := os.WriteFile(path, []byte("LOG_LEVEL=ERROR\nAPP_PORT=9000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lookup, err := WithEnvFile(env(map[string]string{"VEZA_ENV_FILE": path, "APP_PORT": "9001"}))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(Options{Dir: dir, LookupEnv: lookup})
	if err != nil || cfg.LogLevel != "error" || cfg.Port != 9001 {
		t.Fatalf("env file under the environment: %+v %v", cfg, err)
	}
	if _, err := WithEnvFile(env(map[string]string{"VEZA_ENV_FILE": filepath.Join(dir, "missing.env")})); err == nil {
		t.Fatal("a named env file that is missing was accepted")
	}
}
