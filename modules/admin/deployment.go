package admin

import (
	"context"
	"sort"
	"time"

	"github.com/gofiber/fiber/v2"
	"go.uber.org/zap"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/migrate"
)

// ModuleView is one module of the binary, as GET /admin/modules shows it.
type ModuleView struct {
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	Enabled       bool     `json:"enabled"`
	Requires      []string `json:"requires"`
	Routes        []string `json:"routes" doc:"\"METHOD /path\" as mounted; empty for a disabled module"`
	Jobs          []string `json:"jobs"`
	Schedules     []string `json:"schedules" doc:"\"<spec> <job type>\""`
	Subscriptions []string `json:"subscriptions"`
	Events        []string `json:"events" doc:"the event types it publishes"`
	// Migrations, as veza modules list shows them.
	MigrationVersion *uint `json:"migration_version" doc:"null when the module has no migrations or the database did not answer"`
	LatestMigration  uint  `json:"latest_migration"`
	Dirty            bool  `json:"dirty"`
	// The module's queue (its name), for enabled modules.
	Queue      *QueueView  `json:"queue" doc:"null for a disabled module, and when Redis did not answer"`
	QueueError string      `json:"queue_error,omitempty" doc:"why queue is null for an enabled module"`
	FailedJobs []FailedJob `json:"failed_jobs" doc:"the newest failed tasks of the queue (waiting for a retry, or archived), newest first, at most failed_jobs_listed"`
}

// queueTimeout bounds the reading of the queues: a Redis that does not
// answer leaves the rest of the answer intact.
const queueTimeout = 3 * time.Second

func (h *handler) modules(c *fiber.Ctx) error {
	ctx := c.UserContext()
	out := h.moduleViews(ctx)
	h.addQueues(ctx, out)
	return httpx.OK(c, out)
}

// moduleViews describes every module of the binary: the enabled ones in
// dependency order, then the others by name.
func (h *handler) moduleViews(ctx context.Context) []ModuleView {
	var out []ModuleView
	for _, m := range h.plan.Enabled {
		out = append(out, h.moduleView(ctx, m, true))
	}
	var off []string
	for name := range h.plan.Known {
		if !h.plan.IsEnabled(name) {
			off = append(off, name)
		}
	}
	sort.Strings(off)
	for _, name := range off {
		out = append(out, h.moduleView(ctx, h.plan.Known[name], false))
	}
	return out
}

func (h *handler) moduleView(ctx context.Context, m app.Module, enabled bool) ModuleView {
	contrib := h.inv.Module(m.Name)
	v := ModuleView{Name: m.Name, Description: m.Description, Enabled: enabled, Requires: nonNil(m.Requires),
		Routes: contrib.Routes, Jobs: contrib.Jobs, Schedules: contrib.Schedules, Subscriptions: contrib.Subscriptions,
		Events: []string{}, FailedJobs: []FailedJob{}}
	for _, e := range m.Events {
		v.Events = append(v.Events, e.Type)
	}
	src := app.ModuleSource(m)
	if src.FS == nil {
		return v
	}
	st, err := migrate.NewRunner(h.pool, h.log).Status(ctx, src)
	v.LatestMigration = st.Latest
	if err != nil {
		h.log.Warn("migration status unknown", zap.String("of", m.Name), zap.Error(err))
		return v
	}
	version := st.Version
	v.MigrationVersion, v.Dirty = &version, st.Dirty
	return v
}

// addQueues fills the queue and failed jobs of the enabled modules.
func (h *handler) addQueues(ctx context.Context, views []ModuleView) {
	ctx, cancel := context.WithTimeout(ctx, queueTimeout)
	defer cancel()
	states, err := h.queues.states(ctx, h.plan.Names())
	for i := range views {
		if !views[i].Enabled {
			continue
		}
		if err != nil {
			views[i].QueueError = "the queues could not be read: Redis did not answer"
			continue
		}
		st := states[views[i].Name]
		views[i].Queue, views[i].FailedJobs = &st.view, st.failed
	}
	if err != nil {
		h.log.Warn("queues unknown", zap.Error(err))
	}
}
