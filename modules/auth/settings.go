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

	// Failed logins (see loginGuard). A client address is an IPv4 address
	// or an IPv6 /64; a count lives FailedLoginWindow from its first
	// failure. Past MaxFailedLoginsPerIP failures against any accounts, an
	// address is refused every login (429 with Retry-After) until its count
	// expires; past MaxFailedLoginsPerAccount failures against one account,
	// it is refused that account only. No count ever refuses the account
	// itself: the owner signs in from another address.
	MaxFailedLoginsPerAccount int           `yaml:"max_failed_logins_per_account"`
	MaxFailedLoginsPerIP      int           `yaml:"max_failed_logins_per_ip"`
	FailedLoginWindow         time.Duration `yaml:"failed_login_window"`
	// Past LoginDelayAfter failures against one account in the window,
	// from all addresses together, a login to it from an address that has
	// not signed in to it within KnownAddressTTL waits LoginDelayBase
	// before its password is checked, twice as long after each further
	// failure, at most LoginDelayMax: guessing spread over many addresses
	// slows down, the owner still gets in. KnownAddressTTL 0 slows every
	// address.
	LoginDelayAfter int           `yaml:"login_delay_after"`
	LoginDelayBase  time.Duration `yaml:"login_delay_base"`
	LoginDelayMax   time.Duration `yaml:"login_delay_max"`
	KnownAddressTTL time.Duration `yaml:"known_address_ttl"`

	// MailBudget is how many verification mails, and how many reset mails,
	// one address receives at most per MailBudgetWindow (a sliding window;
	// registration's mail included); requests beyond it are accepted (202)
	// and mail nothing, so nobody can flood a mailbox through Veza.
	// Requests for an address without an account spend nothing.
	MailBudget       int           `yaml:"mail_budget_per_address"`
	MailBudgetWindow time.Duration `yaml:"mail_budget_window"`

	// HashConcurrency bounds password hashes running at once (19 MiB each).
	HashConcurrency int `yaml:"hash_concurrency"`
	// TokenCacheTTL bounds how long a process trusts its cached view of a
	// user's token version when an invalidation message is missed.
	TokenCacheTTL time.Duration `yaml:"token_cache_ttl"`
}

// maxLoginDelay bounds login_delay_max well under the default
// HANDLER_TIMEOUT (30s): a login that waits must still be answered.
const maxLoginDelay = 10 * time.Second

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
		LoginDelayAfter:           5,
		LoginDelayBase:            250 * time.Millisecond,
		LoginDelayMax:             3 * time.Second,
		KnownAddressTTL:           30 * 24 * time.Hour,
		MailBudget:                3,
		MailBudgetWindow:          time.Hour,
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
	case s.LoginDelayAfter < 0 || s.KnownAddressTTL < 0:
		return errors.New("login_delay_after and known_address_ttl must not be negative")
	case s.LoginDelayBase <= 0 || s.LoginDelayMax < s.LoginDelayBase || s.LoginDelayMax > maxLoginDelay:
		return fmt.Errorf("login_delay_base must be positive and login_delay_max between it and %s (a longer wait nears the handler timeout)", maxLoginDelay)
	case s.MailBudget < 1 || s.MailBudgetWindow < time.Minute:
		return errors.New("mail_budget_per_address must be at least 1 and mail_budget_window at least 1m")
	case s.HashConcurrency < 1:
		return errors.New("hash_concurrency must be at least 1")
	case s.TokenCacheTTL < 0:
		return errors.New("token_cache_ttl must not be negative")
	}
	return nil
}
