// Package config loads Veza's process configuration: defaults, then
// config/config.yaml, then config/<APP_ENV>.yaml, then the environment, each
// layer overriding the one before. Module settings live in modules.yaml and are
// handled by package app; this package only knows the platform's own keys.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// Env is the deployment environment named by APP_ENV.
type Env string

// The environments Veza knows. Development and test get working defaults so
// that `make run` needs no set-up; staging and production must be configured.
const (
	Development Env = "development"
	Test        Env = "test"
	Staging     Env = "staging"
	Production  Env = "production"
)

// Valid reports whether e is one of the four known environments.
func (e Env) Valid() bool {
	switch e {
	case Development, Test, Staging, Production:
		return true
	}
	return false
}

// IsLocal reports whether e is development or test, where convenience
// defaults (a local database, a development JWT secret) are allowed.
func (e Env) IsLocal() bool { return e == Development || e == Test }

// Config is the platform's configuration. Every field is read from the key in
// its mapstructure tag; the environment variable is the same name upper-cased
// (database_url -> DATABASE_URL).
type Config struct {
	Env       Env    `mapstructure:"app_env"`
	Host      string `mapstructure:"app_host"`
	Port      int    `mapstructure:"app_port"`
	PublicURL string `mapstructure:"app_public_url"`

	DatabaseURL             string        `mapstructure:"database_url"`
	DatabaseMaxOpenConns    int           `mapstructure:"database_max_open_conns"`
	DatabaseMaxIdleConns    int           `mapstructure:"database_max_idle_conns"`
	DatabaseConnMaxLifetime time.Duration `mapstructure:"database_conn_max_lifetime"`
	MigrateOnStart          bool          `mapstructure:"migrate_on_start"`

	RedisURL string `mapstructure:"redis_url"`

	JWTSecret string `mapstructure:"jwt_secret"`

	CORSAllowedOrigins []string `mapstructure:"cors_allowed_origins"`
	TrustedProxies     []string `mapstructure:"trusted_proxies"`
	// RateLimitLimit requests per RateLimitWindow seconds per client IP.
	RateLimitLimit  int `mapstructure:"rate_limit_limit"`
	RateLimitWindow int `mapstructure:"rate_limit_window"`
	// RateLimitSync is how often each process shares its counts through Redis.
	RateLimitSync  time.Duration `mapstructure:"rate_limit_sync"`
	HandlerTimeout time.Duration `mapstructure:"handler_timeout"`
	BodyLimit      ByteSize      `mapstructure:"body_limit"`
	// ShutdownTimeout bounds the whole graceful stop: HTTP drain, job
	// workers, relay and pools together.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`

	LogLevel  string `mapstructure:"log_level"`
	LogFormat string `mapstructure:"log_format"`

	UploadDir string `mapstructure:"upload_dir"`

	WorkerConcurrency int `mapstructure:"worker_concurrency"`
	// WorkerPollInterval is how often an idle worker looks for new tasks.
	WorkerPollInterval time.Duration `mapstructure:"worker_poll_interval"`
	// RelayPollInterval is how often an idle relay looks for outbox rows.
	RelayPollInterval time.Duration `mapstructure:"relay_poll_interval"`
	// OutboxRetention is how long dispatched outbox rows are kept.
	OutboxRetention time.Duration `mapstructure:"outbox_retention"`

	// ModulesFile is the modules.yaml to read (VEZA_MODULES_FILE).
	ModulesFile string `mapstructure:"veza_modules_file"`
}

// DevJWTSecret is the secret used when JWT_SECRET is unset in development or
// test. It is public, so production refuses to start without a secret of its own.
const DevJWTSecret = "veza-development-secret-do-not-use-in-production"

func defaults() map[string]any {
	return map[string]any{
		"app_env":                    string(Development),
		"app_host":                   "",
		"app_port":                   8080,
		"app_public_url":             "",
		"database_url":               "",
		"database_max_open_conns":    25,
		"database_max_idle_conns":    25,
		"database_conn_max_lifetime": "30m",
		"migrate_on_start":           true,
		"redis_url":                  "redis://127.0.0.1:6379/0",
		"jwt_secret":                 "",
		"cors_allowed_origins":       "",
		"trusted_proxies":            "",
		"rate_limit_limit":           300,
		"rate_limit_window":          60,
		"rate_limit_sync":            "250ms",
		"handler_timeout":            "30s",
		"body_limit":                 "1MiB",
		"shutdown_timeout":           "25s",
		"log_level":                  "info",
		"log_format":                 "json",
		"upload_dir":                 "var/uploads",
		"worker_concurrency":         10,
		"worker_poll_interval":       "100ms",
		"relay_poll_interval":        "100ms",
		"outbox_retention":           "168h",
		"veza_modules_file":          "modules.yaml",
	}
}

// localDefaults apply in development and test only.
func localDefaults(env Env) map[string]any {
	db := "postgres://postgres@127.0.0.1:5432/veza?sslmode=disable"
	if env == Test {
		db = "postgres://postgres@127.0.0.1:5432/veza_test?sslmode=disable"
	}
	m := map[string]any{
		"database_url":         db,
		"jwt_secret":           DevJWTSecret,
		"cors_allowed_origins": "*",
		"app_public_url":       "http://localhost:8080",
	}
	if env == Development {
		m["log_format"] = "console"
	}
	return m
}

// Options controls where Load reads from. The zero value reads ./config and
// the process environment.
type Options struct {
	// Dir holds config.yaml and <env>.yaml; default VEZA_CONFIG_DIR or "config".
	Dir string
	// LookupEnv replaces os.LookupEnv, so tests can configure a process
	// without touching the real environment.
	LookupEnv func(string) (string, bool)
	// Overrides win over everything else (command-line flags).
	Overrides map[string]any
}

// Load reads and validates the configuration. A returned error is one line
// naming the setting at fault and how to fix it.
func Load(opts Options) (*Config, error) {
	cfg, err := Read(opts)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Read loads the layers without validating them; Load is what start-up uses.
func Read(opts Options) (*Config, error) {
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	dir := opts.Dir
	if dir == "" {
		dir = "config"
		if d, ok := lookup("VEZA_CONFIG_DIR"); ok && d != "" {
			dir = d
		}
	}
	v := viper.New()
	for k, val := range defaults() {
		v.SetDefault(k, val)
	}
	if err := mergeFile(v, filepath.Join(dir, "config.yaml")); err != nil {
		return nil, err
	}
	env := Env(v.GetString("app_env"))
	if e, ok := lookup("APP_ENV"); ok && e != "" {
		env = Env(e)
	}
	if o, ok := opts.Overrides["app_env"]; ok {
		env = Env(fmt.Sprint(o))
	}
	if !env.Valid() {
		return nil, fmt.Errorf("config: APP_ENV=%q is not one of development, test, staging, production", env)
	}
	if env.IsLocal() {
		for k, val := range localDefaults(env) {
			v.SetDefault(k, val)
		}
	}
	if err := mergeFile(v, filepath.Join(dir, string(env)+".yaml")); err != nil {
		return nil, err
	}
	for k := range defaults() {
		if val, ok := lookup(strings.ToUpper(k)); ok {
			v.Set(k, val)
		}
	}
	for k, val := range opts.Overrides {
		v.Set(k, val)
	}
	v.Set("app_env", string(env))

	var cfg Config
	err := v.UnmarshalExact(&cfg, viper.DecodeHook(DecodeHook()))
	if err != nil {
		return nil, fmt.Errorf("config: %s", oneLine(err))
	}
	return &cfg, nil
}

func mergeFile(v *viper.Viper, path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	v.SetConfigFile(path)
	if err := v.MergeInConfig(); err != nil {
		return fmt.Errorf("config: read %s: %s", path, oneLine(err))
	}
	return nil
}

// Validate refuses configurations that must not start. The messages name the
// environment variable, because that is what an operator sets.
func (c *Config) Validate() error {
	if len(c.JWTSecret) < 32 {
		return fmt.Errorf("config: JWT_SECRET must be at least 32 characters (it has %d); generate one with `openssl rand -base64 48`", len(c.JWTSecret))
	}
	if !c.Env.IsLocal() && c.JWTSecret == DevJWTSecret {
		return fmt.Errorf("config: JWT_SECRET is the public development secret; set a secret of your own in %s", c.Env)
	}
	if c.Env == Production && len(c.CORSAllowedOrigins) == 0 {
		return errors.New("config: CORS_ALLOWED_ORIGINS is empty; production needs the frontend origins, comma-separated (e.g. https://app.example.com)")
	}
	if c.DatabaseURL == "" {
		return fmt.Errorf("config: DATABASE_URL is not set; %s needs it (e.g. postgres://user:pass@host:5432/veza?sslmode=require)", c.Env)
	}
	if c.RedisURL == "" {
		return errors.New("config: REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("config: APP_PORT=%d is not a TCP port (0-65535)", c.Port)
	}
	checks := []struct {
		bad  bool
		name string
		want string
	}{
		{c.RateLimitLimit < 1, "RATE_LIMIT_LIMIT", "at least 1"},
		{c.RateLimitWindow < 1, "RATE_LIMIT_WINDOW", "at least 1 (seconds)"},
		{c.RateLimitSync <= 0, "RATE_LIMIT_SYNC", "a positive duration"},
		{c.HandlerTimeout <= 0, "HANDLER_TIMEOUT", "a positive duration (e.g. 30s)"},
		{c.BodyLimit < 1, "BODY_LIMIT", "a positive size (e.g. 1MiB)"},
		{c.ShutdownTimeout < time.Second, "SHUTDOWN_TIMEOUT", "at least 1s"},
		{c.DatabaseMaxOpenConns < 1, "DATABASE_MAX_OPEN_CONNS", "at least 1"},
		{c.WorkerConcurrency < 1, "WORKER_CONCURRENCY", "at least 1"},
		{c.WorkerPollInterval < time.Millisecond, "WORKER_POLL_INTERVAL", "at least 1ms"},
		{c.RelayPollInterval < time.Millisecond, "RELAY_POLL_INTERVAL", "at least 1ms"},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("config: %s must be %s", ch.name, ch.want)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: LOG_LEVEL=%q must be debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "json", "console":
	default:
		return fmt.Errorf("config: LOG_FORMAT=%q must be json or console", c.LogFormat)
	}
	return nil
}

// Addr is the listen address for the HTTP server.
func (c *Config) Addr() string { return c.Host + ":" + strconv.Itoa(c.Port) }

// RateWindow is RATE_LIMIT_WINDOW as a duration.
func (c *Config) RateWindow() time.Duration { return time.Duration(c.RateLimitWindow) * time.Second }

// durationHook accepts Go durations ("30s") and bare numbers of seconds ("30"),
// because the seed's variables are in seconds.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(time.Duration(0)) {
		return data, nil
	}
	switch d := data.(type) {
	case string:
		s := strings.TrimSpace(d)
		if n, err := strconv.ParseFloat(s, 64); err == nil {
			return time.Duration(n * float64(time.Second)), nil
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration (e.g. 30s, 5m, or seconds)", d)
		}
		return dur, nil
	case int:
		return time.Duration(d) * time.Second, nil
	case int64:
		return time.Duration(d) * time.Second, nil
	case float64:
		return time.Duration(d * float64(time.Second)), nil
	}
	return data, nil
}

func byteSizeHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(ByteSize(0)) {
		return data, nil
	}
	switch d := data.(type) {
	case string:
		return ParseByteSize(d)
	case int:
		return ByteSize(d), nil
	case int64:
		return ByteSize(d), nil
	case float64:
		return ByteSize(d), nil
	}
	return data, nil
}

// splitHook reads a comma-separated string into any slice ("5s,5m" into
// []time.Duration): the elements are then decoded one by one.
func splitHook(from, to reflect.Type, data any) (any, error) {
	if from.Kind() != reflect.String || to.Kind() != reflect.Slice {
		return data, nil
	}
	s := data.(string)
	if strings.TrimSpace(s) == "" {
		return []string{}, nil
	}
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts, nil
}

// trimSliceHook drops blanks around comma-separated items ("a, b" -> [a b]).
func trimSliceHook(from, to reflect.Type, data any) (any, error) {
	if to.Kind() != reflect.Slice || to.Elem().Kind() != reflect.String {
		return data, nil
	}
	items, ok := data.([]string)
	if !ok {
		return data, nil
	}
	out := items[:0:0]
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

// DecodeHook is the conversion the platform applies to every setting: Go
// durations or seconds, byte sizes, comma-separated lists. Module settings are
// decoded with it too.
func DecodeHook() mapstructure.DecodeHookFunc {
	return mapstructure.ComposeDecodeHookFunc(durationHook, byteSizeHook, splitHook, trimSliceHook)
}

// EnvNames lists the environment variables the platform reads, sorted.
func EnvNames() []string {
	names := []string{"VEZA_CONFIG_DIR"}
	for k := range defaults() {
		names = append(names, strings.ToUpper(k))
	}
	sort.Strings(names)
	return names
}
