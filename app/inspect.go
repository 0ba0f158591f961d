package app

import (
	"fmt"
	"sort"
	"strings"

	"github.com/veza/veza/platform/migrate"
)

// CataloguePlan returns a plan with every module enabled, for listing what
// each would contribute. Enabled modules keep their settings; the others get
// their defaults, or the file's when those are valid.
func (a *App) CataloguePlan(p *Plan) (*Plan, error) {
	all := &Plan{Known: a.known, Settings: map[string]any{}, QueueWeights: map[string]int{}, File: p.File, Env: p.Env}
	for _, name := range a.order() {
		m := a.known[name]
		all.Enabled = append(all.Enabled, m)
		all.QueueWeights[name] = 1
		if s, ok := p.Settings[name]; ok {
			all.Settings[name] = s
			continue
		}
		var fromFile map[string]any
		if p.File != nil {
			fromFile = p.File.Modules[name].Settings
		}
		s, err := decodeSettings(m, fromFile, p.Env, func(string) (string, bool) { return "", false })
		if err != nil {
			s, err = decodeSettings(m, nil, p.Env, func(string) (string, bool) { return "", false })
		}
		if err != nil {
			return nil, err
		}
		if s != nil {
			all.Settings[name] = s
		}
	}
	return all, nil
}

// ModuleSource is the migration source of one module (FS nil when it has
// no migrations).
func ModuleSource(m Module) migrate.Source {
	return migrate.Source{Module: m.Name, FS: m.migrationsFS()}
}

// PlatformRoutes lists the routes the platform itself serves: method, path,
// summary.
func PlatformRoutes() [][3]string {
	return [][3]string{
		{"GET", "/health", "liveness"},
		{"GET", "/healthz", "Kubernetes liveness"},
		{"GET", "/readyz", "readiness: PostgreSQL, Redis and module checks"},
		{"GET", "/status", "version, uptime, modules, dependency latencies"},
		{"GET", "/metrics", "Prometheus metrics"},
		{"GET", "/openapi.json", "OpenAPI document of the enabled modules"},
		{"GET", "/docs", "API reference page"},
		{"GET", "/docs/*", "API reference assets"},
	}
}

// Graph writes the module dependency graph in Graphviz DOT: an edge from each
// module to each module it requires; enabled modules filled, disabled ones
// dashed.
func Graph(a *App, p *Plan) string {
	var b strings.Builder
	b.WriteString("digraph veza {\n")
	b.WriteString("  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n")
	for _, m := range a.Modules() {
		attrs := `style="rounded,filled", fillcolor="#d8f0dc"`
		if !p.IsEnabled(m.Name) {
			attrs = `style="rounded,dashed", fontcolor="#777777", color="#777777"`
		}
		fmt.Fprintf(&b, "  %q [%s];\n", m.Name, attrs)
	}
	for _, m := range a.Modules() {
		reqs := append([]string(nil), m.Requires...)
		sort.Strings(reqs)
		for _, r := range reqs {
			fmt.Fprintf(&b, "  %q -> %q;\n", m.Name, r)
		}
	}
	b.WriteString("}\n")
	return b.String()
}
