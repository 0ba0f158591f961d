// Package admin is the admin area of Veza: the audit log (entries, counts
// by action and day, suspicious activity), the administration of accounts
// through what auth exports (authapi.Accounts: list, role, ban), the
// modules of the deployment with their queues and failed jobs, profiling,
// and the asynq dashboard at /admin/jobs, which an admin opens in a browser
// after signing in on a page of its own. Every route needs the admin role;
// every change an admin makes is audited.
package admin

import (
	"github.com/veza/veza/app"
)

// Name is the module's name.
const Name = "admin"

// Module returns the admin module.
func Module() app.Module {
	return app.Module{
		Name:        Name,
		Description: "admin area: audit log, suspicious activity, accounts (role, ban), modules and queues, profiling, the job dashboard",
		Requires:    []string{"auth"},
		Settings:    defaultSettings,
		Provides:    []any{newStore, newQueues, newSessions, newDashboard, newHandler},
		Register:    register,
	}
}

func register(r *app.Registrar, h *handler, d *dashboard) {
	h.routes(r)
	d.routes(r)
}
