// Package health answers the platform's probes: /health and /healthz
// (liveness: the process serves), /readyz (readiness: PostgreSQL, Redis and the
// modules' own checks answer) and /status (what runs, and how its
// dependencies are doing).
package health

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/veza/veza/platform/buildinfo"
	"github.com/veza/veza/platform/httpx"
)

// Check is one dependency probe. It must return within its context.
type Check struct {
	Name   string
	Module string
	Fn     func(ctx context.Context) error
}

// Result is a probe's outcome.
type Result struct {
	Status    string  `json:"status"`
	LatencyMS float64 `json:"latency_ms"`
	Error     string  `json:"error,omitempty"`
	Module    string  `json:"module,omitempty"`
}

// Health holds the probes and what /status reports.
type Health struct {
	checks  []Check
	env     string
	modules []string
	timeout time.Duration
}

// New returns the probe set for the given environment and enabled modules.
func New(env string, modules []string, checks []Check) *Health {
	sorted := append([]Check(nil), checks...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	return &Health{checks: sorted, env: env, modules: modules, timeout: 2 * time.Second}
}

// Run probes everything at once and returns the results by name.
func (h *Health) Run(ctx context.Context) map[string]Result {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	out := make(map[string]Result, len(h.checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range h.checks {
		wg.Add(1)
		go func(c Check) {
			defer wg.Done()
			start := time.Now()
			err := c.Fn(ctx)
			r := Result{Status: "up", LatencyMS: float64(time.Since(start).Microseconds()) / 1000, Module: c.Module}
			if err != nil {
				r.Status, r.Error = "down", err.Error()
			}
			mu.Lock()
			out[c.Name] = r
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	return out
}

var okBody = []byte(`{"status":"ok"}`)

// Live answers {"status":"ok"} without touching any dependency.
func (h *Health) Live(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(okBody)
}

// Ready answers 200 when every probe passes, else 503 naming the failed ones.
func (h *Health) Ready(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	res := h.Run(c.UserContext())
	var failed []string
	var details []httpx.FieldError
	for _, name := range sortedKeys(res) {
		if r := res[name]; r.Status != "up" {
			failed = append(failed, name)
			details = append(details, httpx.FieldError{Field: name, Message: r.Error})
		}
	}
	if len(failed) > 0 {
		e := httpx.NewError(http.StatusServiceUnavailable, "not_ready",
			fmt.Sprintf("not ready: %s down", strings.Join(failed, ", ")))
		e.Details = details
		return e
	}
	return httpx.OK(c, fiber.Map{"status": "ready", "checks": res})
}

// Status reports version, uptime, modules and dependency latencies. It
// answers 200 even when a dependency is down: that is what it is for.
func (h *Health) Status(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	res := h.Run(c.UserContext())
	status := "ok"
	for _, r := range res {
		if r.Status != "up" {
			status = "degraded"
		}
	}
	return httpx.OK(c, fiber.Map{
		"status":         status,
		"version":        buildinfo.String(),
		"env":            h.env,
		"started_at":     buildinfo.Started.UTC().Format(time.RFC3339),
		"uptime_seconds": int64(time.Since(buildinfo.Started).Seconds()),
		"modules":        h.modules,
		"dependencies":   res,
	})
}

func sortedKeys(m map[string]Result) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
