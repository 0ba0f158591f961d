package admin

// The audit actions the admin module writes itself. Account changes are
// auth's (auth.role_changed, auth.banned, auth.unbanned), written in the
// transaction of the change.
const (
	// ActionProfiled: a profile of the process was read. A profile shows
	// the process's memory and code, so each read is recorded.
	ActionProfiled = "admin.profiled"
	// ActionSignIn: an account signed in to the job dashboard (success),
	// or gave the right password without being an admin (failure). Wrong
	// passwords are auth's auth.login_failed.
	ActionSignIn = "admin.dashboard_sign_in"
	// ActionSignOut: a dashboard session was ended by its admin.
	ActionSignOut = "admin.dashboard_sign_out"
	// ActionJobsChanged: an action taken in the job dashboard (a task run,
	// deleted or archived, a queue paused...), with its method, path and
	// status.
	ActionJobsChanged = "admin.jobs_changed"
)
