// Package moduletest checks that a module keeps the contract, in one call:
//
//	func TestModule(t *testing.T) {
//		moduletest.Check(t, tracks.Module(), moduletest.With(auth.Module()))
//	}
//
// It runs against real PostgreSQL and Redis (a fresh database and a private
// Redis per check) and verifies: the name and requirements; the settings
// defaults decode and validate; the migrations go up, down and up again on a
// fresh database, the down leaving the schema as it found it; the job types
// are "<name>:..." and none is a prefix of another module's; the declared
// events are documented; and the module's routes are mounted when it is
// enabled and absent (404) when it is not.
package moduletest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/migrations"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/migrate"
	"github.com/veza/veza/platform/testkit"
)

type options struct {
	others []app.Module
	env    map[string]string
}

// Option adjusts a check.
type Option func(*options)

// With adds the modules m requires (and any others to check it beside).
func With(modules ...app.Module) Option {
	return func(o *options) { o.others = append(o.others, modules...) }
}

// Env sets configuration variables for the processes the check starts.
func Env(env map[string]string) Option {
	return func(o *options) {
		if o.env == nil {
			o.env = map[string]string{}
		}
		for k, v := range env {
			o.env[k] = v
		}
	}
}

// Check runs every check on m as subtests of t.
func Check(t *testing.T, m app.Module, opts ...Option) {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	all := append([]app.Module{m}, o.others...)
	t.Run("declaration", func(t *testing.T) { checkDeclaration(t, m, all) })
	t.Run("settings defaults", func(t *testing.T) { checkSettings(t, m) })
	t.Run("migrations up down up", func(t *testing.T) { checkMigrations(t, m, all) })
	t.Run("contributions", func(t *testing.T) { checkContributions(t, m, all, o) })
	t.Run("routes only when enabled", func(t *testing.T) { checkRoutes(t, m, all, o) })
}

func checkDeclaration(t *testing.T, m app.Module, all []app.Module) {
	plan, err := app.New(all...).Plan(config.Test, nil, noEnv)
	if err != nil {
		t.Fatalf("the module set does not resolve: %v", err)
	}
	if !plan.IsEnabled(m.Name) {
		t.Fatalf("module %s is not in its own plan", m.Name)
	}
	if m.Description == "" {
		t.Errorf("module %s has no Description (shown by `veza modules list`)", m.Name)
	}
	for _, e := range m.Events {
		if e.Type == "" || e.Description == "" || e.Example == nil {
			t.Errorf("event %+v: declare a type, a description and an example payload", e)
		}
	}
}

func checkSettings(t *testing.T, m app.Module) {
	for _, env := range []config.Env{config.Development, config.Test} {
		if _, err := app.DefaultSettings(m, env); err != nil {
			t.Errorf("default settings do not validate in %s: %v", env, err)
		}
	}
}

func noEnv(string) (string, bool) { return "", false }

// checkMigrations applies the platform's and the requirements' migrations,
// then m's up, down and up, comparing the schema around the down.
func checkMigrations(t *testing.T, m app.Module, all []app.Module) {
	src := app.ModuleSource(m)
	if src.FS == nil {
		t.Logf("module %s has no migrations", m.Name)
		return
	}
	list, err := migrate.List(src)
	if err != nil {
		t.Fatal(err)
	}
	pool := openDB(t)
	runner := migrate.NewRunner(pool, apptest.Logger())
	ctx := context.Background()
	plan, err := app.New(all...).Plan(config.Test, nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	var before []migrate.Source
	before = append(before, migrate.Source{Module: app.PlatformModule, FS: migrations.FS})
	for _, dep := range plan.Enabled {
		if dep.Name != m.Name && requiredBy(plan, m.Name, dep.Name) {
			if s := app.ModuleSource(dep); s.FS != nil {
				before = append(before, s)
			}
		}
	}
	if err := runner.Up(ctx, before); err != nil {
		t.Fatalf("requirements' migrations: %v", err)
	}
	empty := schema(t, pool)
	latest := list[len(list)-1].Version
	mustVersion := func(stage string, want uint) {
		t.Helper()
		st, err := runner.Status(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		if st.Version != want || st.Dirty {
			t.Fatalf("%s: version %d (dirty %v), want %d", stage, st.Version, st.Dirty, want)
		}
	}
	if err := runner.Up(ctx, []migrate.Source{src}); err != nil {
		t.Fatalf("first up: %v", err)
	}
	mustVersion("after up", latest)
	if err := runner.Down(ctx, src, 0); err != nil {
		t.Fatalf("down: %v", err)
	}
	mustVersion("after down", 0)
	if diff := difference(empty, schema(t, pool)); diff != "" {
		t.Fatalf("the down migrations leave the schema changed: %s", diff)
	}
	if err := runner.Up(ctx, []migrate.Source{src}); err != nil {
		t.Fatalf("second up: %v", err)
	}
	mustVersion("after second up", latest)
}

// requiredBy reports whether dep is needed, directly or not, by name.
func requiredBy(p *app.Plan, name, dep string) bool {
	seen := map[string]bool{}
	var walk func(n string) bool
	walk = func(n string) bool {
		if seen[n] {
			return false
		}
		seen[n] = true
		for _, r := range p.Known[n].Requires {
			if r == dep || walk(r) {
				return true
			}
		}
		return false
	}
	return walk(name)
}

func openDB(t *testing.T) *sqlx.DB {
	pool, err := sqlx.Open("postgres", testkit.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool
}

// schema lists the objects of the current schema (tables, columns, indexes,
// types, functions, sequences) except the migration version tables.
func schema(t *testing.T, pool *sqlx.DB) []string {
	var out []string
	err := pool.Select(&out, `
		SELECT 'table ' || table_name || '.' || column_name || ' ' || data_type
		  FROM information_schema.columns
		 WHERE table_schema = current_schema() AND table_name NOT LIKE 'schema_migrations%'
		UNION ALL
		SELECT 'index ' || indexname FROM pg_indexes
		 WHERE schemaname = current_schema() AND tablename NOT LIKE 'schema_migrations%'
		UNION ALL
		SELECT 'type ' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
		 WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0
		UNION ALL
		SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		 WHERE n.nspname = current_schema()
		UNION ALL
		SELECT 'sequence ' || sequence_name FROM information_schema.sequences
		 WHERE sequence_schema = current_schema()`)
	if err != nil {
		t.Fatalf("read schema: %v", err)
	}
	sort.Strings(out)
	return out
}

func difference(a, b []string) string {
	var added, removed []string
	for _, x := range b {
		if !slices.Contains(a, x) {
			added = append(added, x)
		}
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			removed = append(removed, x)
		}
	}
	if len(added) == 0 && len(removed) == 0 {
		return ""
	}
	return fmt.Sprintf("left behind %v, lost %v", added, removed)
}

func checkContributions(t *testing.T, m app.Module, all []app.Module, o options) {
	srv := apptest.Start(t, apptest.Options{Modules: all, Env: o.env, NoStart: true, Role: app.RoleAPI | app.RoleWorker})
	c := srv.Runtime.Contributions()
	for _, j := range c.Jobs {
		if j.Module == m.Name && !strings.HasPrefix(j.Type, m.Name+":") {
			t.Errorf("job type %s is not prefixed %s:", j.Type, m.Name)
		}
	}
	for _, p := range app.PrefixConflicts(c.Jobs) {
		if strings.Contains(p, "(module "+m.Name+")") {
			t.Errorf("asynq pattern clash: %s", p)
		}
	}
	for _, r := range c.Routes {
		if r.Module == m.Name && r.Doc.Summary == "" {
			t.Errorf("route %s %s has no Summary (the API reference shows it)", r.Method, r.Path)
		}
	}
}

// checkRoutes starts the module set twice: with m enabled its routes are in
// the router; with m disabled they are not, and each answers 404.
func checkRoutes(t *testing.T, m app.Module, all []app.Module, o options) {
	on := apptest.Start(t, apptest.Options{Modules: all, Env: o.env, Role: app.RoleAPI})
	var mine []app.Route
	for _, r := range on.Runtime.Contributions().Routes {
		if r.Module == m.Name {
			mine = append(mine, r)
		}
	}
	mounted := on.Runtime.MountedRoutes()
	for _, r := range mine {
		if !slices.Contains(mounted, r.Method+" "+r.Path) {
			t.Errorf("route %s %s is not mounted while %s is enabled", r.Method, r.Path, m.Name)
		}
	}
	off := apptest.Start(t, apptest.Options{Modules: all, Env: o.env, Role: app.RoleAPI, ModulesYAML: disabling(m, all)})
	mounted = off.Runtime.MountedRoutes()
	client := &http.Client{Timeout: 10 * time.Second}
	for _, r := range mine {
		if slices.Contains(mounted, r.Method+" "+r.Path) {
			t.Errorf("route %s %s is mounted while %s is disabled", r.Method, r.Path, m.Name)
		}
		req, _ := http.NewRequest(r.Method, off.URL+fillParams(r.Path), nil)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s answers %d while %s is disabled, want 404", r.Method, r.Path, res.StatusCode, m.Name)
		}
	}
}

// disabling returns a modules.yaml enabling everything but m and the
// modules that need it.
func disabling(m app.Module, all []app.Module) string {
	plan, _ := app.New(all...).Plan(config.Test, nil, noEnv)
	var b strings.Builder
	b.WriteString("modules:\n")
	for _, x := range all {
		on := x.Name != m.Name && !requiredBy(plan, x.Name, m.Name)
		fmt.Fprintf(&b, "  %s: {enabled: %v}\n", x.Name, on)
	}
	return b.String()
}

func fillParams(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = "00000000-0000-0000-0000-000000000000"
		} else if s == "*" {
			segs[i] = "x"
		}
	}
	return strings.Join(segs, "/")
}
