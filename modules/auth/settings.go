package auth

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/veza/veza/platform/config"
)

// Settings of the auth module (modules.auth.settings in modules.yaml).
type Settings struct {
	// RequireVerifiedEmail refuses logins until the address is verified.
	RequireVerifiedEmail bool `yaml:"require_verified_email"`
	// AccessTTL is the lifetime of access tokens.
	AccessTTL time.Duration `yaml:"access_ttl" env:"JWT_ACCESS_TTL"`
	// RefreshTTL is how long a session lives without being refreshed.
	RefreshTTL time.Duration `yaml:"refresh_ttl" env:"JWT_REFRESH_TTL"`
	// VerificationTTL and ResetTTL bound the mailed tokens.
	VerificationTTL time.Duration `yaml:"verification_ttl"`
	ResetTTL        time.Duration `yaml:"reset_ttl"`
	// Issuer and Audience are the access tokens' iss and aud.
	Issuer   string `yaml:"issuer" env:"JWT_ISSUER"`
	Audience string `yaml:"audience" env:"JWT_AUDIENCE"`

	// Failed-login limits: past them, login answers 429 until the window
	// that saw the failures ends.
	MaxFailedLoginsPerAccount int           `yaml:"max_failed_logins_per_account"`
	MaxFailedLoginsPerIP      int           `yaml:"max_failed_logins_per_ip"`
	FailedLoginWindow         time.Duration `yaml:"failed_login_window"`

	// HashConcurrency bounds password hashes running at once (19 MiB each).
	HashConcurrency int `yaml:"hash_concurrency"`
	// TokenCacheTTL bounds how long a process trusts its cached view of a
	// user's token version when an invalidation message is missed.
	TokenCacheTTL time.Duration `yaml:"token_cache_ttl"`
}

func defaultSettings() any {
	return &Settings{
		RequireVerifiedEmail:      true,
		AccessTTL:                 15 * time.Minute,
		RefreshTTL:                30 * 24 * time.Hour,
		VerificationTTL:           24 * time.Hour,
		ResetTTL:                  time.Hour,
		Issuer:                    "veza",
		Audience:                  "veza-api",
		MaxFailedLoginsPerAccount: 10,
		MaxFailedLoginsPerIP:      50,
		FailedLoginWindow:         15 * time.Minute,
		HashConcurrency:           runtime.NumCPU(),
		TokenCacheTTL:             30 * time.Second,
	}
}

// Validate refuses settings that cannot work.
func (s *Settings) Validate(config.Env) error {
	switch {
	case s.AccessTTL < time.Minute || s.AccessTTL > 24*time.Hour:
		return fmt.Errorf("access_ttl %s must be between 1m and 24h", s.AccessTTL)
	case s.RefreshTTL < s.AccessTTL:
		return errors.New("refresh_ttl must be at least access_ttl")
	case s.VerificationTTL < time.Minute || s.ResetTTL < time.Minute:
		return errors.New("verification_ttl and reset_ttl must be at least 1m")
	case s.Issuer == "" || s.Audience == "":
		return errors.New("issuer and audience must be set")
	case s.MaxFailedLoginsPerAccount < 1 || s.MaxFailedLoginsPerIP < 1 || s.FailedLoginWindow < time.Second:
		return errors.New("failed-login limits must be positive")
	case s.HashConcurrency < 1:
		return errors.New("hash_concurrency must be at least 1")
	case s.TokenCacheTTL < 0:
		return errors.New("token_cache_ttl must not be negative")
	}
	return nil
}
