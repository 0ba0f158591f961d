// Package config loads Veza's process configuration: defaults, then
// config/config.yaml, then config/<APP_ENV>.yaml, then the environment, each
// layer overriding the one before. Module settings live in modules.yaml and are
// handled by package app; this package only knows the platform's own keys.
package config

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
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
	Env  Env    `mapstructure:"app_env"`
	Host string `mapstructure:"app_host"`
	Port int    `mapstructure:"app_port"`
	// PublicURL is where clients reach this server (links in mail). It
	// defaults to http://<APP_HOST or localhost>:<APP_PORT>.
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

	LogLevel  string `mapstructure:"log_level" enum:"debug,info,warn|warning,error"`
	LogFormat string `mapstructure:"log_format" enum:"json,console|text"`

	// Storage is the platform's file store, shared by every module.
	StorageBackend string `mapstructure:"storage_backend" enum:"local,s3"`
	UploadDir      string `mapstructure:"upload_dir"`
	S3Endpoint     string `mapstructure:"s3_endpoint"`
	S3Bucket       string `mapstructure:"s3_bucket"`
	S3Region       string `mapstructure:"s3_region"`
	S3AccessKey    string `mapstructure:"s3_access_key"`
	S3SecretKey    string `mapstructure:"s3_secret_key"`
	S3UseSSL       bool   `mapstructure:"s3_use_ssl"`
	S3PathStyle    bool   `mapstructure:"s3_path_style"`
	// S3PresignTTL is how long a presigned download URL stays valid.
	S3PresignTTL time.Duration `mapstructure:"s3_presign_ttl"`
	// StorageTmpMaxAge is how long a local staging file may go unwritten
	// before it counts as left by a write that died with its process.
	StorageTmpMaxAge time.Duration `mapstructure:"storage_tmp_max_age"`
	// StorageTmpSweepInterval is how often each process removes such files.
	StorageTmpSweepInterval time.Duration `mapstructure:"storage_tmp_sweep_interval"`

	// Mail is the platform's outgoing mail, shared by every module.
	MailDriver   string `mapstructure:"mail_driver" enum:"smtp,log,dir"`
	MailDir      string `mapstructure:"mail_dir"`
	MailFrom     string `mapstructure:"mail_from"`
	SMTPHost     string `mapstructure:"smtp_host"`
	SMTPPort     int    `mapstructure:"smtp_port"`
	SMTPUsername string `mapstructure:"smtp_username"`
	SMTPPassword string `mapstructure:"smtp_password"`
	// SMTPTLS is how the connection is protected: starttls (required),
	// implicit (TLS from the first byte, port 465) or opportunistic
	// (STARTTLS when offered: local relays only). Empty: implicit on port
	// 465, starttls otherwise.
	SMTPTLS string `mapstructure:"smtp_tls" enum:",starttls,implicit|ssl|tls,opportunistic"`
	// SMTPInsecure is the older spelling of SMTP_TLS=opportunistic.
	SMTPInsecure bool `mapstructure:"smtp_insecure"`
	// SMTPCAFile is a PEM file of CA certificates trusted for the relay's
	// certificate besides the system's (a private relay). Certificates are
	// always verified.
	SMTPCAFile string `mapstructure:"smtp_ca_file"`

	WorkerConcurrency int `mapstructure:"worker_concurrency"`
	// WorkerPollInterval is how often an idle worker looks for new tasks.
	WorkerPollInterval time.Duration `mapstructure:"worker_poll_interval"`
	// RelayPollInterval is how often an idle relay looks for outbox rows.
	RelayPollInterval time.Duration `mapstructure:"relay_poll_interval"`
	// OutboxRetention is how long dispatched outbox rows are kept.
	OutboxRetention time.Duration `mapstructure:"outbox_retention"`

	// MetricsAddr is where /metrics is served on a listener of its own
	// ("127.0.0.1:9090", ":9090"); "off" serves it nowhere. Unset: on the
	// API port in development and test, on :9090 in staging and
	// production, where the API port never serves it.
	MetricsAddr string `mapstructure:"metrics_addr"`

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
		"storage_backend":            "local",
		"upload_dir":                 "var/uploads",
		"s3_endpoint":                "",
		"s3_bucket":                  "",
		"s3_region":                  "",
		"s3_access_key":              "",
		"s3_secret_key":              "",
		"s3_use_ssl":                 true,
		"s3_path_style":              false,
		"s3_presign_ttl":             "15m",
		"storage_tmp_max_age":        "1h",
		"storage_tmp_sweep_interval": "10m",
		"mail_driver":                "dir",
		"mail_dir":                   "var/mail",
		"mail_from":                  "Veza <no-reply@veza.localhost>",
		"smtp_host":                  "",
		"smtp_port":                  587,
		"smtp_username":              "",
		"smtp_password":              "",
		"smtp_tls":                   "",
		"smtp_insecure":              false,
		"smtp_ca_file":               "",
		"worker_concurrency":         10,
		"worker_poll_interval":       "100ms",
		"relay_poll_interval":        "100ms",
		"outbox_retention":           "168h",
		"veza_modules_file":          "modules.yaml",
		"metrics_addr":               "",
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
// An environment variable set to the empty string counts as unset, so a
// blank line copied from an example file keeps the default.
func Read(opts Options) (*Config, error) {
	lookup := nonEmpty(opts.LookupEnv)
	dir := opts.Dir
	if dir == "" {
		dir = "config"
		if d, ok := lookup("VEZA_CONFIG_DIR"); ok {
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
	raw := v.GetString("app_env")
	if e, ok := lookup("APP_ENV"); ok {
		raw = e
	}
	if o, ok := opts.Overrides["app_env"]; ok {
		raw = fmt.Sprint(o)
	}
	env, err := ParseEnv(raw)
	if err != nil {
		return nil, err
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
	if err := v.UnmarshalExact(&cfg, viper.DecodeHook(DecodeHook())); err != nil {
		return nil, fmt.Errorf("config: %s", oneLine(err))
	}
	if err := NormalizeEnums(&cfg, envName); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if cfg.PublicURL == "" && env.IsLocal() {
		cfg.PublicURL = cfg.localURL()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &cfg, nil
}

// ParseEnv reads APP_ENV in any letter case ("Production", " dev ").
func ParseEnv(s string) (Env, error) {
	choices := parseEnumTag("development|dev,test,staging,production|prod")
	name, ok := canonical(choices, stripComment(s))
	if !ok {
		return "", fmt.Errorf("config: APP_ENV=%q must be %s (any letter case)", s, describeChoices(choices))
	}
	return Env(name), nil
}

// envName is the environment variable behind a Config field.
func envName(f reflect.StructField) string {
	return strings.ToUpper(f.Tag.Get("mapstructure"))
}

// nonEmpty wraps lookup (os.LookupEnv when nil) so that empty values count
// as unset.
func nonEmpty(lookup func(string) (string, bool)) func(string) (string, bool) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	return func(k string) (string, bool) {
		v, ok := lookup(k)
		if strings.TrimSpace(v) == "" {
			return "", false
		}
		return v, ok
	}
}

// localURL is the address this process answers on, as a browser on the
// same machine reaches it: the default of APP_PUBLIC_URL.
func (c *Config) localURL() string {
	host := c.Host
	switch host {
	case "", "0.0.0.0", "::", "[::]":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(c.Port))
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
	if c.PublicURL == "" {
		return fmt.Errorf("config: APP_PUBLIC_URL is not set; %s needs the address clients reach this server at, for the links in mail (e.g. https://veza.example.com)", c.Env)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("config: APP_PUBLIC_URL=%q must be an absolute http or https URL (e.g. https://veza.example.com)", c.PublicURL)
	}
	if addr, _ := c.MetricsListener(); addr != "" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("config: METRICS_ADDR=%q must be host:port (\":9090\", \"127.0.0.1:9090\") or off", c.MetricsAddr)
		}
	}
	if err := c.validateStorage(); err != nil {
		return err
	}
	return c.validateMail()
}

func (c *Config) validateStorage() error {
	if c.StorageBackend == "local" && c.UploadDir == "" {
		return errors.New("config: STORAGE_BACKEND=local needs UPLOAD_DIR (a folder for uploaded files)")
	}
	if c.StorageBackend == "s3" && (c.S3Endpoint == "" || c.S3Bucket == "" || c.S3AccessKey == "" || c.S3SecretKey == "") {
		return errors.New("config: STORAGE_BACKEND=s3 needs S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY and S3_SECRET_KEY")
	}
	if c.S3PresignTTL < time.Second || c.S3PresignTTL > 7*24*time.Hour {
		return errors.New("config: S3_PRESIGN_TTL must be between 1s and 168h (S3's limit)")
	}
	// An upload pauses between chunks for at most its stall timeout (tracks:
	// 30s by default); a minute leaves no live staging file in reach.
	if c.StorageTmpMaxAge < time.Minute {
		return errors.New("config: STORAGE_TMP_MAX_AGE must be at least 1m: a shorter age could remove the file of an upload in progress")
	}
	if c.StorageTmpSweepInterval < 10*time.Millisecond {
		return errors.New("config: STORAGE_TMP_SWEEP_INTERVAL must be at least 10ms (e.g. 10m)")
	}
	return nil
}

func (c *Config) validateMail() error {
	if c.MailFrom == "" {
		return errors.New("config: MAIL_FROM must be set (e.g. \"Veza <no-reply@example.com>\")")
	}
	switch c.MailDriver {
	case "dir":
		if c.MailDir == "" {
			return errors.New("config: MAIL_DRIVER=dir needs MAIL_DIR (the folder the .eml files go to)")
		}
	case "smtp":
		if c.SMTPHost == "" || c.SMTPPort < 1 || c.SMTPPort > 65535 {
			return errors.New("config: MAIL_DRIVER=smtp needs SMTP_HOST and SMTP_PORT (1-65535)")
		}
		if c.SMTPPassword != "" && c.SMTPUsername == "" {
			return errors.New("config: SMTP_PASSWORD is set without SMTP_USERNAME")
		}
		if c.SMTPSecurity() == "opportunistic" && c.Env == Production {
			return errors.New("config: SMTP_TLS=opportunistic (or SMTP_INSECURE) is refused in production: mail could travel in plaintext; use starttls or implicit")
		}
	}
	_, err := c.SMTPRootCAs()
	return err
}

// SMTPRootCAs is the pool the relay's certificate is verified against: the
// system's, plus SMTP_CA_FILE's certificates when it is set. A nil pool
// (SMTP_CA_FILE unset) means the system's, as in tls.Config.RootCAs.
func (c *Config) SMTPRootCAs() (*x509.CertPool, error) {
	if c.SMTPCAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(c.SMTPCAFile)
	if err != nil {
		return nil, fmt.Errorf("config: SMTP_CA_FILE cannot be read (%s); point it at a readable PEM file of CA certificates, or unset it", oneLine(err))
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		// No system store (a scratch container): the file's CAs alone.
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("config: SMTP_CA_FILE=%s holds no PEM certificate; it must contain \"-----BEGIN CERTIFICATE-----\" blocks", c.SMTPCAFile)
	}
	return pool, nil
}

// SMTPSecurity is SMTP_TLS with its default filled in: implicit on port
// 465, opportunistic when SMTP_INSECURE is set, starttls otherwise.
func (c *Config) SMTPSecurity() string {
	switch {
	case c.SMTPTLS != "":
		return c.SMTPTLS
	case c.SMTPInsecure:
		return "opportunistic"
	case c.SMTPPort == 465:
		return "implicit"
	}
	return "starttls"
}

// DefaultMetricsAddr is where staging and production serve /metrics when
// METRICS_ADDR is unset.
const DefaultMetricsAddr = ":9090"

// MetricsListener says where /metrics is served: on a listener of its own
// at addr, or (onAPI) on the API port; neither when METRICS_ADDR is "off".
func (c *Config) MetricsListener() (addr string, onAPI bool) {
	switch {
	case strings.EqualFold(c.MetricsAddr, "off"):
		return "", false
	case c.MetricsAddr != "":
		return c.MetricsAddr, false
	case c.Env.IsLocal():
		return "", true
	}
	return DefaultMetricsAddr, false
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
		s := stripComment(d)
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
		return ParseByteSize(stripComment(d))
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
	return mapstructure.ComposeDecodeHookFunc(durationHook, byteSizeHook, boolHook, numberHook, splitHook, trimSliceHook)
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

// IsKey reports whether key (as written in config/*.yaml: mail_driver) is a
// platform setting.
func IsKey(key string) bool {
	_, ok := defaults()[key]
	return ok
}
