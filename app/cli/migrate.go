package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/migrate"
)

func (c *cmd) migrate(ctx context.Context, args []string) error {
	sub, args, err := c.subcommand("migrate", args)
	if err != nil {
		return err
	}
	fs, module, steps, asJSON := migrateFlags(sub)
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if *steps < 0 {
		return wrongUsage(fs.Name(), fs, fmt.Errorf("--steps must be positive: %w", app.ErrUsage))
	}
	s, err := c.load(true)
	if err != nil {
		return err
	}
	srcs, err := selectSources(s.plan, *module)
	if err != nil {
		return err
	}
	rt, err := c.build(s, 0)
	if err != nil {
		return err
	}
	defer stopWithin(rt, s)
	if err := rt.DB().PingContext(ctx); err != nil {
		return fmt.Errorf("database at %s does not answer: %w", db.Redact(s.cfg.DatabaseURL), err)
	}
	runner := migrate.NewRunner(rt.DB(), s.log.Named("migrate"))
	switch sub {
	case "up":
		if fs.NArg() > 0 {
			return fmt.Errorf("migrate up takes no arguments: %w", app.ErrUsage)
		}
		for _, src := range srcs {
			if err := runner.UpSteps(ctx, src, *steps); err != nil {
				return err
			}
		}
		return c.printStatus(ctx, runner, srcs, false)
	case "down":
		if fs.NArg() > 0 {
			return fmt.Errorf("migrate down takes no arguments: %w", app.ErrUsage)
		}
		return c.down(ctx, runner, s.plan, srcs, *module, *steps)
	case "status":
		return c.printStatus(ctx, runner, srcs, *asJSON)
	case "plan":
		return c.printPlan(ctx, runner, srcs, *asJSON)
	}
	return c.force(ctx, runner, srcs, *module, fs.Args())
}

// migrateFlags defines the flags of one migrate subcommand, so that its help
// shows only those that mean something to it.
func migrateFlags(sub string) (fs *flag.FlagSet, module *string, steps *int, asJSON *bool) {
	fs = newFlags("migrate " + sub)
	module = fs.String("module", "", "only the module `NAME` (platform: the platform's own tables)")
	steps, asJSON = new(int), new(bool)
	switch sub {
	case "up":
		steps = fs.Int("steps", 0, "apply at most `N` migrations per module; 0: all")
	case "down":
		steps = fs.Int("steps", 0, "roll back `N` migrations per module; 0: all")
	case "status", "plan":
		asJSON = fs.Bool("json", false, "JSON output")
	}
	return fs, module, steps, asJSON
}

// selectSources picks the platform's and enabled modules' migrations, or one
// module's. A disabled module's schema is left alone.
func selectSources(p *app.Plan, module string) ([]migrate.Source, error) {
	all := app.MigrationSources(p)
	if module == "" {
		return all, nil
	}
	for _, src := range all {
		if src.Module == module {
			return []migrate.Source{src}, nil
		}
	}
	if _, known := p.Known[module]; known {
		if !p.IsEnabled(module) {
			return nil, fmt.Errorf("module %s is disabled; enable it in modules.yaml to manage its schema", module)
		}
		return nil, fmt.Errorf("module %s has no migrations", module)
	}
	return nil, fmt.Errorf("unknown module %q (enabled: platform, %s): %w", module, strings.Join(p.Names(), ", "), app.ErrUsage)
}

// down rolls back in reverse dependency order, refusing to roll back a module
// while an enabled module that requires it still has tables.
func (c *cmd) down(ctx context.Context, r *migrate.Runner, p *app.Plan, srcs []migrate.Source, module string, steps int) error {
	if module != "" && module != app.PlatformModule {
		for _, m := range p.Enabled {
			if !requires(m, module) {
				continue
			}
			for _, src := range app.MigrationSources(p) {
				if src.Module != m.Name {
					continue
				}
				st, err := r.Status(ctx, src)
				if err != nil {
					return err
				}
				if st.Version > 0 {
					return fmt.Errorf("module %s requires %s and still has migrations applied (version %d); roll back %s first (veza migrate down --module %s)", m.Name, module, st.Version, m.Name, m.Name)
				}
			}
		}
	}
	for i := len(srcs) - 1; i >= 0; i-- {
		if err := r.Down(ctx, srcs[i], steps); err != nil {
			return err
		}
	}
	return c.printStatus(ctx, r, srcs, false)
}

func requires(m app.Module, name string) bool {
	for _, r := range m.Requires {
		if r == name {
			return true
		}
	}
	return false
}

func (c *cmd) force(ctx context.Context, r *migrate.Runner, srcs []migrate.Source, module string, args []string) error {
	if module == "" || len(args) != 1 {
		return fmt.Errorf("usage: veza migrate force --module NAME VERSION: %w", app.ErrUsage)
	}
	v, err := strconv.Atoi(args[0])
	if err != nil || v < 0 {
		return fmt.Errorf("VERSION must be a number, 0 for none: %w", app.ErrUsage)
	}
	if err := r.Force(ctx, srcs[0], v); err != nil {
		return err
	}
	return c.printStatus(ctx, r, srcs, false)
}

func (c *cmd) printStatus(ctx context.Context, r *migrate.Runner, srcs []migrate.Source, asJSON bool) error {
	var all []migrate.Status
	for _, src := range srcs {
		st, err := r.Status(ctx, src)
		if err != nil {
			return err
		}
		all = append(all, st)
	}
	if asJSON {
		return writeJSON(c.s.Out, all)
	}
	tw := tabwriter.NewWriter(c.s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tVERSION\tLATEST\tSTATE")
	dirty := ""
	for _, st := range all {
		state := "up to date"
		switch {
		case st.Dirty:
			state = "DIRTY"
			dirty = (&migrate.ErrDirty{Module: st.Module, Version: st.Version}).Error()
		case st.Ahead:
			state = "ahead of this binary"
		case len(st.Pending) > 0:
			state = fmt.Sprintf("%d pending", len(st.Pending))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", st.Module, st.Version, st.Latest, state)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if dirty != "" {
		fmt.Fprintln(c.s.Out, "\n"+dirty)
	}
	return nil
}

func (c *cmd) printPlan(ctx context.Context, r *migrate.Runner, srcs []migrate.Source, asJSON bool) error {
	plan, err := r.Plan(ctx, srcs)
	if err != nil {
		return err
	}
	if asJSON {
		if plan == nil {
			plan = []migrate.Migration{}
		}
		return writeJSON(c.s.Out, plan)
	}
	if len(plan) == 0 {
		fmt.Fprintln(c.s.Out, "nothing to apply: every enabled module is up to date")
		return nil
	}
	fmt.Fprintf(c.s.Out, "veza migrate up would apply %d migration(s), in this order:\n", len(plan))
	for i, m := range plan {
		fmt.Fprintf(c.s.Out, "%3d. %s %d_%s\n", i+1, m.Module, m.Version, m.Name)
	}
	return nil
}

func writeJSON(w interface{ Write([]byte) (int, error) }, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
