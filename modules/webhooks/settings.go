package webhooks

import (
	"errors"
	"fmt"
	"time"

	"github.com/veza/veza/platform/config"
)

// Settings of the webhooks module (modules.webhooks.settings).
type Settings struct {
	// RetrySchedule is the wait before each retry: its length is the number
	// of retries.
	RetrySchedule []time.Duration `yaml:"retry_schedule"`
	// RetryJitter spreads retries by up to this fraction either way, so that
	// a receiver coming back is not hit by every retry at once.
	RetryJitter float64 `yaml:"retry_jitter"`
	// DisableAfter disables an endpoint that has failed continuously this long.
	DisableAfter time.Duration `yaml:"disable_after"`
	// AllowPrivateTargets lets deliveries reach loopback and private
	// addresses (development and test only).
	AllowPrivateTargets bool `yaml:"allow_private_targets"`
	// Timeout bounds one delivery attempt.
	Timeout time.Duration `yaml:"timeout"`
	// RotationOverlap is how long the previous secret keeps signing after a
	// rotation.
	RotationOverlap time.Duration `yaml:"rotation_overlap"`
	// MaxEndpoints per owner.
	MaxEndpoints int `yaml:"max_endpoints"`
	// MaxRetryAfter caps a receiver's Retry-After.
	MaxRetryAfter time.Duration `yaml:"max_retry_after"`
}

func defaultSettings() any {
	return &Settings{
		RetrySchedule:   []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour},
		RetryJitter:     0.1,
		DisableAfter:    5 * 24 * time.Hour,
		Timeout:         15 * time.Second,
		RotationOverlap: 24 * time.Hour,
		MaxEndpoints:    25,
		MaxRetryAfter:   24 * time.Hour,
	}
}

// Validate refuses settings that cannot work, and private targets in
// production.
func (s *Settings) Validate(env config.Env) error {
	if len(s.RetrySchedule) > 25 {
		return errors.New("retry_schedule has more than 25 entries")
	}
	for i, d := range s.RetrySchedule {
		if d <= 0 {
			return fmt.Errorf("retry_schedule[%d] must be a positive duration like \"5s\"", i)
		}
	}
	switch {
	case s.RetryJitter < 0 || s.RetryJitter > 0.5:
		return errors.New("retry_jitter must be between 0 and 0.5")
	case s.DisableAfter <= 0:
		return errors.New("disable_after must be positive")
	case s.Timeout < time.Second || s.Timeout > time.Minute:
		return errors.New("timeout must be between 1s and 1m")
	case s.RotationOverlap < 0:
		return errors.New("rotation_overlap must not be negative")
	case s.MaxEndpoints < 1:
		return errors.New("max_endpoints must be at least 1")
	case s.AllowPrivateTargets && (env == config.Production || env == config.Staging):
		return fmt.Errorf("allow_private_targets is refused in %s: it would let users make the server call its own network", env)
	}
	return nil
}
