package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Defaults < config.yaml < <env>.yaml < environment < overrides.
func TestLayers(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "config.yaml", "app_port: 9000\nlog_level: warn\nrate_limit_limit: 10\nhandler_timeout: 5s\n")
	write(t, dir, "staging.yaml", "log_level: error\nrate_limit_limit: 20\n")
	cfg, err := Load(Options{Dir: dir, LookupEnv: env(map[string]string{
		"APP_ENV": "staging", "RATE_LIMIT_LIMIT": "30", "DATABASE_URL": "postgres://db/veza",
		"JWT_SECRET": strings.Repeat("x", 32), "HANDLER_TIMEOUT": "7", "BODY_LIMIT": "2MiB",
		"CORS_ALLOWED_ORIGINS": "https://a.example, https://b.example", "APP_PUBLIC_URL": "https://veza.example",
	})})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 9000 || cfg.LogLevel != "error" || cfg.RateLimitLimit != 30 || cfg.Env != Staging {
		t.Fatalf("layers: %+v", cfg)
	}
	if cfg.HandlerTimeout != 7*time.Second || cfg.BodyLimit != 2<<20 {
		t.Fatalf("HANDLER_TIMEOUT seconds / BODY_LIMIT units: %v %v", cfg.HandlerTimeout, cfg.BodyLimit)
	}
	if len(cfg.CORSAllowedOrigins) != 2 || cfg.CORSAllowedOrigins[1] != "https://b.example" {
		t.Fatalf("origins: %q", cfg.CORSAllowedOrigins)
	}
	cfg, err = Load(Options{Dir: dir, LookupEnv: env(nil), Overrides: map[string]any{"app_port": 1234}})
	if err != nil || cfg.Port != 1234 || cfg.Env != Development {
		t.Fatalf("override: %v %+v", err, cfg)
	}
}

func TestDevelopmentNeedsNothing(t *testing.T) {
	cfg, err := Load(Options{Dir: t.TempDir(), LookupEnv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 8080 || cfg.DatabaseURL == "" || cfg.BodyLimit != 1<<20 || cfg.RateWindow() != time.Minute || !cfg.MigrateOnStart {
		t.Fatalf("development defaults: %+v", cfg)
	}
}

func TestRefusals(t *testing.T) {
	long := strings.Repeat("k", 40)
	cases := map[string]struct {
		env  map[string]string
		want string
	}{
		"short secret":            {map[string]string{"JWT_SECRET": "abc"}, "JWT_SECRET must be at least 32 characters (it has 3)"},
		"dev secret in prod":      {map[string]string{"APP_ENV": "production", "JWT_SECRET": DevJWTSecret, "DATABASE_URL": "postgres://x/y", "CORS_ALLOWED_ORIGINS": "https://a"}, "public development secret"},
		"no origins in prod":      {map[string]string{"APP_ENV": "production", "JWT_SECRET": long, "DATABASE_URL": "postgres://x/y"}, "CORS_ALLOWED_ORIGINS is empty"},
		"blank origins in prod":   {map[string]string{"APP_ENV": "production", "JWT_SECRET": long, "DATABASE_URL": "postgres://x/y", "CORS_ALLOWED_ORIGINS": " , "}, "CORS_ALLOWED_ORIGINS is empty"},
		"no database in staging":  {map[string]string{"APP_ENV": "staging", "JWT_SECRET": long}, "DATABASE_URL is not set"},
		"no secret in production": {map[string]string{"APP_ENV": "production", "DATABASE_URL": "postgres://x/y", "CORS_ALLOWED_ORIGINS": "https://a"}, "JWT_SECRET must be at least 32"},
		"bad env":                 {map[string]string{"APP_ENV": "qa"}, `APP_ENV="qa"`},
		"bad port":                {map[string]string{"APP_PORT": "70000"}, "APP_PORT=70000"},
		"bad duration":            {map[string]string{"HANDLER_TIMEOUT": "soon"}, `"soon" is not a duration`},
		"bad size":                {map[string]string{"BODY_LIMIT": "big"}, `"big" is not a size`},
		"zero window":             {map[string]string{"RATE_LIMIT_WINDOW": "0"}, "RATE_LIMIT_WINDOW must be at least 1"},
		"bad level":               {map[string]string{"LOG_LEVEL": "loud"}, `LOG_LEVEL="loud"`},
		"no public url in prod":   {map[string]string{"APP_ENV": "production", "JWT_SECRET": long, "DATABASE_URL": "postgres://x/y", "CORS_ALLOWED_ORIGINS": "https://a"}, "APP_PUBLIC_URL is not set; production needs"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(Options{Dir: t.TempDir(), LookupEnv: env(tc.env)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("not one line: %q", err)
			}
		})
	}
}

func TestUnknownKeyInFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "config.yaml", "app_prot: 9000\n")
	_, err := Load(Options{Dir: dir, LookupEnv: env(nil)})
	if err == nil || !strings.Contains(err.Error(), "app_prot") {
		t.Fatalf("err = %v", err)
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"1048576": 1 << 20, "1MiB": 1 << 20, "512KiB": 512 << 10, "10MB": 10e6, "2g": 2 << 30, " 3 kb ": 3000} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1XB", "MiB"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) accepted", bad)
		}
	}
	if s := ByteSize(1 << 20).String(); s != "1MiB" {
		t.Errorf("String() = %s", s)
	}
}
