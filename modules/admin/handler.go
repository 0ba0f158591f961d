package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/auth/authapi"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/page"
)

// handler serves the admin API under /api/v1/admin.
type handler struct {
	store    *store
	accounts authapi.Accounts
	queues   *queues
	plan     *app.Plan
	inv      *app.Inventory
	pool     *sqlx.DB
	settings *Settings
	log      *zap.Logger
	now      func() time.Time
}

func newHandler(st *store, accounts authapi.Accounts, q *queues, plan *app.Plan, inv *app.Inventory, pool *sqlx.DB,
	s *Settings, log *zap.Logger) *handler {
	return &handler{store: st, accounts: accounts, queues: q, plan: plan, inv: inv, pool: pool, settings: s, log: log, now: time.Now}
}

func (h *handler) routes(r *app.Registrar) {
	admin := app.RequireRoles(authn.RoleAdmin)
	h.auditRoutes(r, admin)
	h.userRoutes(r, admin)
	r.Get("/admin/modules", h.modules, admin, app.Summary("every module of the binary: enabled, requires, routes, jobs, migration version, queue and failed jobs"),
		app.Description("Disabled modules are listed too, with what they would need; their queue is null. queue is also null, with queue_error saying why, when Redis does not answer."),
		app.Response(200, "the modules, enabled ones first in dependency order", []ModuleView{}))
	h.pprofRoutes(r, admin)
}

func (h *handler) auditRoutes(r *app.Registrar, admin app.RouteOption) {
	r.Get("/admin/audit/logs", h.auditLogs, admin, app.Summary("the audit log, newest first"),
		app.Description("Every module's audited actions, and the platform's: 403 answers (platform.forbidden), audit purges (platform.audit_purged)."),
		app.QueryUUID("actor_id", "only the entries of this account"),
		app.Query("action", "only this action, e.g. auth.login_failed", false),
		app.Query("module", "only this module's entries", false),
		app.QueryParam("from", "only entries at or after this time (RFC 3339)", false, map[string]any{"type": "string", "format": "date-time"}),
		app.QueryParam("to", "only entries before this time (RFC 3339)", false, map[string]any{"type": "string", "format": "date-time"}),
		app.Paged(),
		app.Response(200, "a page of entries", httpx.PageData[Entry]{}))
	r.Get("/admin/audit/stats", h.auditStats, admin, app.Summary("audit entries counted by day (UTC) and action"),
		app.QueryParam("from", "start (RFC 3339); default: 29 days before today, at midnight UTC", false, map[string]any{"type": "string", "format": "date-time"}),
		app.QueryParam("to", "end, excluded (RFC 3339); default: now; at most 366 days after from", false, map[string]any{"type": "string", "format": "date-time"}),
		app.Query("module", "only this module's entries", false),
		app.Query("action", "only this action", false),
		app.Response(200, "the counts", Stats{}))
	r.Get("/admin/audit/suspicious", h.suspicious, admin, app.Summary("suspicious activity: failed logins by address and by account, logins from many addresses, many 403s"),
		app.Description("Callers past the module's thresholds (settings suspicious_*) within the window, each list ordered by count, at most 100 entries."),
		app.QueryParam("from", "start (RFC 3339); default: suspicious_window before to", false, map[string]any{"type": "string", "format": "date-time"}),
		app.QueryParam("to", "end, excluded (RFC 3339); default: now; at most 31 days after from", false, map[string]any{"type": "string", "format": "date-time"}),
		app.Response(200, "the suspects", Suspicious{}))
}

// Entry is one audit log entry.
type Entry struct {
	ID         int64           `json:"id"`
	ActorID    *uuid.UUID      `json:"actor_id" doc:"who acted; null for anonymous callers and commands"`
	Action     string          `json:"action" doc:"<module>.<verb>, e.g. auth.role_changed"`
	Module     string          `json:"module"`
	TargetType *string         `json:"target_type"`
	TargetID   *string         `json:"target_id"`
	IP         *string         `json:"ip"`
	UserAgent  *string         `json:"user_agent"`
	RequestID  *string         `json:"request_id"`
	Result     string          `json:"result" doc:"success or failure"`
	CreatedAt  time.Time       `json:"created_at"`
	Meta       json.RawMessage `json:"meta" doc:"details of the action (never secrets), an object"`
}

func entryView(e *entryRow) Entry {
	result := "failure"
	if e.Success {
		result = "success"
	}
	meta := e.Meta
	if len(meta) == 0 {
		meta = json.RawMessage("{}")
	}
	return Entry{ID: e.ID, ActorID: e.ActorID, Action: e.Action, Module: e.Module, TargetType: e.TargetType, TargetID: e.TargetID,
		IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID, Result: result, CreatedAt: e.At.UTC(), Meta: meta}
}

func (h *handler) auditLogs(c *fiber.Ctx) error {
	f, err := readLogFilter(c)
	if err != nil {
		return err
	}
	req, err := page.Read[entryKey](c)
	if err != nil {
		return err
	}
	rows, next, err := page.Fetch(c.UserContext(), req, func(ctx context.Context, after *entryKey, n int) ([]entryRow, error) {
		return h.store.entries(ctx, f, after, n)
	}, func(e *entryRow) entryKey { return entryKey{At: e.At, ID: e.ID} })
	if err != nil {
		return err
	}
	out := make([]Entry, len(rows))
	for i := range rows {
		out[i] = entryView(&rows[i])
	}
	return httpx.Page(c, out, next)
}

// readLogFilter reads the audit log's filters; a malformed one is 400.
func readLogFilter(c *fiber.Ctx) (logFilter, error) {
	f := logFilter{Action: c.Query("action"), Module: c.Query("module")}
	if raw := c.Query("actor_id"); raw != "" {
		id, err := uuid.Parse(raw)
		if err != nil {
			return f, httpx.BadRequest("bad_actor_id", "actor_id must be a UUID")
		}
		f.ActorID = &id
	}
	var err error
	if f.From, err = queryTime(c, "from"); err != nil {
		return f, err
	}
	if f.To, err = queryTime(c, "to"); err != nil {
		return f, err
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		return f, httpx.BadRequest("bad_range", "from must be before to")
	}
	return f, nil
}

// queryTime reads an RFC 3339 time from the query; nil when absent.
func queryTime(c *fiber.Ctx, name string) (*time.Time, error) {
	raw := c.Query(name)
	if raw == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return nil, httpx.BadRequest("bad_time", name+" must be an RFC 3339 time, e.g. 2026-01-02T15:04:05Z")
	}
	return &t, nil
}

// window reads ?from= and ?to= into a range of at most maxSpan, to
// defaulting to now and from to def before to.
func (h *handler) window(c *fiber.Ctx, def func(to time.Time) time.Time, maxSpan time.Duration) (time.Time, time.Time, error) {
	from, err := queryTime(c, "from")
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	to, err := queryTime(c, "to")
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	end := h.now()
	if to != nil {
		end = *to
	}
	start := def(end)
	if from != nil {
		start = *from
	}
	switch {
	case !start.Before(end):
		return time.Time{}, time.Time{}, httpx.BadRequest("bad_range", "from must be before to")
	case end.Sub(start) > maxSpan:
		return time.Time{}, time.Time{}, httpx.BadRequest("bad_range", "from and to must be at most "+spanText(maxSpan)+" apart")
	}
	return start.UTC(), end.UTC(), nil
}

func spanText(d time.Duration) string {
	return strconv.Itoa(int(d/(24*time.Hour))) + " days"
}

// Stats is what GET /admin/audit/stats answers.
type Stats struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Counts holds a row per day and action, newest day first.
	Counts []DayCount `json:"counts"`
	// Totals holds each action's count over the range, largest first.
	Totals []ActionCount `json:"totals"`
}

// ActionCount is how many entries of one action a range holds.
type ActionCount struct {
	Action string `json:"action"`
	Count  int64  `json:"count"`
}

// maxStatsSpan bounds the stats' range: a year of days.
const maxStatsSpan = 366 * 24 * time.Hour

func (h *handler) auditStats(c *fiber.Ctx) error {
	from, to, err := h.window(c, func(to time.Time) time.Time {
		return to.UTC().Truncate(24*time.Hour).AddDate(0, 0, -29)
	}, maxStatsSpan)
	if err != nil {
		return err
	}
	counts, err := h.store.dayCounts(c.UserContext(), from, to, c.Query("module"), c.Query("action"))
	if err != nil {
		return err
	}
	return httpx.OK(c, Stats{From: from, To: to, Counts: nonNil(counts), Totals: totals(counts)})
}

// totals sums counts by action, largest first.
func totals(counts []DayCount) []ActionCount {
	by := map[string]int64{}
	for _, c := range counts {
		by[c.Action] += c.Count
	}
	out := make([]ActionCount, 0, len(by))
	for a, n := range by {
		out = append(out, ActionCount{Action: a, Count: n})
	}
	slices.SortFunc(out, func(a, b ActionCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Action, b.Action))
	})
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// maxWindow bounds the suspicious activity's range.
const maxWindow = 31 * 24 * time.Hour

func (h *handler) suspicious(c *fiber.Ctx) error {
	from, to, err := h.window(c, func(to time.Time) time.Time { return to.Add(-h.settings.SuspiciousWindow) }, maxWindow)
	if err != nil {
		return err
	}
	s := h.settings
	out, err := h.store.suspicious(c.UserContext(), from, to, Thresholds{FailedLoginsPerIP: s.FailedLoginsPerIP,
		FailedLoginsPerAccount: s.FailedLoginsPerAccount, LoginIPsPerAccount: s.LoginIPsPerAccount, ForbiddenPerCaller: s.ForbiddenPerCaller})
	if err != nil {
		return err
	}
	return httpx.OK(c, out)
}
