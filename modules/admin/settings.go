package admin

import (
	"errors"
	"time"

	"github.com/veza/veza/platform/config"
)

// Settings of the admin module (modules.admin.settings, or
// VEZA_ADMIN_<SETTING>).
type Settings struct {
	// DashboardReadOnly hides, in the job dashboard, the actions that
	// delete, run, archive or cancel tasks or pause queues, and refuses
	// them (403 dashboard_read_only). Unset: true in production, false
	// elsewhere.
	DashboardReadOnly *bool `yaml:"dashboard_read_only"`
	// SuspiciousWindow is how far back GET /admin/audit/suspicious looks
	// when ?from= is not given.
	SuspiciousWindow time.Duration `yaml:"suspicious_window"`
	// The thresholds of GET /admin/audit/suspicious, within the window:
	// failed logins from one client address, failed logins to one account,
	// client addresses one account signed in from, and 403 answers to one
	// caller (an account, or an address when anonymous).
	FailedLoginsPerIP      int `yaml:"suspicious_failed_logins_per_ip"`
	FailedLoginsPerAccount int `yaml:"suspicious_failed_logins_per_account"`
	LoginIPsPerAccount     int `yaml:"suspicious_login_ips_per_account"`
	ForbiddenPerCaller     int `yaml:"suspicious_forbidden_per_caller"`
	// FailedJobs is how many failed jobs GET /admin/modules lists per
	// module, newest first.
	FailedJobs int `yaml:"failed_jobs_listed"`
}

func defaultSettings() any {
	return &Settings{
		SuspiciousWindow:       time.Hour,
		FailedLoginsPerIP:      10,
		FailedLoginsPerAccount: 5,
		LoginIPsPerAccount:     3,
		ForbiddenPerCaller:     20,
		FailedJobs:             10,
	}
}

// Validate refuses settings that cannot work, each message naming the fix.
func (s *Settings) Validate(config.Env) error {
	switch {
	case s.SuspiciousWindow < time.Minute || s.SuspiciousWindow > maxWindow:
		return errors.New("suspicious_window must be from 1m to 744h (31 days); fix: set modules.admin.settings.suspicious_window or VEZA_ADMIN_SUSPICIOUS_WINDOW (\"1h\")")
	case s.FailedLoginsPerIP < 1 || s.FailedLoginsPerAccount < 1 || s.LoginIPsPerAccount < 2 || s.ForbiddenPerCaller < 1:
		return errors.New("the suspicious_* thresholds must be at least 1 (suspicious_login_ips_per_account at least 2); fix: correct modules.admin.settings or the VEZA_ADMIN_SUSPICIOUS_* variables")
	case s.FailedJobs < 0 || s.FailedJobs > 100:
		return errors.New("failed_jobs_listed must be from 0 to 100; fix: set modules.admin.settings.failed_jobs_listed or VEZA_ADMIN_FAILED_JOBS_LISTED")
	}
	return nil
}

// readOnly reports whether the dashboard's actions are hidden and refused
// in env.
func (s *Settings) readOnly(env config.Env) bool {
	if s.DashboardReadOnly != nil {
		return *s.DashboardReadOnly
	}
	return env == config.Production
}
