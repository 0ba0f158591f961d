package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/migrate"
)

func (c *cmd) modules(ctx context.Context, args []string) error {
	sub, args, err := c.subcommand("modules", args)
	if err != nil {
		return err
	}
	fs := newFlags("modules " + sub)
	asJSON := new(bool)
	if sub == "list" {
		asJSON = fs.Bool("json", false, "JSON output")
	}
	if err := c.parse(fs, args); err != nil {
		return err
	}
	s, err := c.load(false)
	if err != nil {
		return err
	}
	if sub == "list" {
		return c.listModules(ctx, s, *asJSON)
	}
	fmt.Fprint(c.s.Out, app.Graph(c.app, s.plan))
	return nil
}

// moduleInfo is one row of `veza modules list --json`.
type moduleInfo struct {
	Name             string          `json:"name"`
	Description      string          `json:"description"`
	Enabled          bool            `json:"enabled"`
	Requires         []string        `json:"requires"`
	Routes           []string        `json:"routes"`
	Jobs             []string        `json:"jobs"`
	Schedules        []string        `json:"schedules"`
	Subscriptions    []string        `json:"subscriptions"`
	Loops            []string        `json:"loops"`
	Events           []app.EventType `json:"events"`
	MigrationVersion *uint           `json:"migration_version"`
	LatestMigration  uint            `json:"latest_migration"`
	Dirty            bool            `json:"dirty"`
}

func (c *cmd) listModules(ctx context.Context, s *session, asJSON bool) error {
	infos, err := c.describe(ctx, s)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(c.s.Out, infos)
	}
	tw := tabwriter.NewWriter(c.s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tENABLED\tREQUIRES\tROUTES\tJOBS\tMIGRATION")
	for _, m := range infos {
		mig := "-"
		if m.MigrationVersion != nil {
			mig = fmt.Sprintf("%d/%d", *m.MigrationVersion, m.LatestMigration)
		} else if m.LatestMigration > 0 {
			mig = fmt.Sprintf("?/%d", m.LatestMigration)
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%d\t%d\t%s\n", m.Name, m.Enabled, dash(strings.Join(m.Requires, ",")),
			len(m.Routes), len(m.Jobs), mig)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// describe lists every module of the binary. Contributions come from a
// runtime built with every module (nothing starts), so disabled modules show
// what enabling them would add; migration versions come from the database
// when it answers.
func (c *cmd) describe(ctx context.Context, s *session) ([]moduleInfo, error) {
	contrib := c.catalogue(s)
	var infos []moduleInfo
	for _, m := range c.app.Modules() {
		info := moduleInfo{
			Name: m.Name, Description: m.Description, Enabled: s.plan.IsEnabled(m.Name),
			Requires: nonNil(m.Requires), Routes: []string{}, Jobs: []string{},
			Schedules: []string{}, Subscriptions: []string{}, Loops: []string{}, Events: m.Events,
		}
		if info.Events == nil {
			info.Events = []app.EventType{}
		}
		for _, r := range contrib.Routes {
			if r.Module == m.Name {
				info.Routes = append(info.Routes, r.Method+" "+r.Path)
			}
		}
		for _, j := range contrib.Jobs {
			if j.Module == m.Name {
				info.Jobs = append(info.Jobs, j.Type)
			}
		}
		for _, sc := range contrib.Schedules {
			if sc.Module == m.Name {
				info.Schedules = append(info.Schedules, sc.Spec+" "+sc.TaskType)
			}
		}
		for _, sub := range contrib.Subscriptions {
			if sub.Module == m.Name {
				info.Subscriptions = append(info.Subscriptions, sub.EventType)
			}
		}
		for _, b := range contrib.Backgrounds {
			if b.Module == m.Name {
				info.Loops = append(info.Loops, b.Name)
			}
		}
		sort.Strings(info.Jobs)
		infos = append(infos, info)
	}
	c.addVersions(ctx, s, infos)
	return infos, nil
}

// catalogue builds every module to read its contributions; when that fails
// (a disabled module with broken settings), only the enabled ones are read.
func (c *cmd) catalogue(s *session) app.Contributions {
	if all, err := c.app.CataloguePlan(s.plan); err == nil {
		if rt, err := c.app.Build(app.BuildOptions{Config: s.cfg, Plan: all, Logger: s.log}); err == nil {
			defer stopWithin(rt, s)
			return rt.Contributions()
		}
	}
	rt, err := c.build(s, 0)
	if err != nil {
		s.log.Warn("cannot read the modules' contributions", zap.Error(err))
		return app.Contributions{}
	}
	defer stopWithin(rt, s)
	return rt.Contributions()
}

func (c *cmd) addVersions(ctx context.Context, s *session, infos []moduleInfo) {
	rt, err := c.app.Build(app.BuildOptions{Config: s.cfg, Plan: s.plan, Logger: s.log})
	if err != nil {
		return
	}
	defer stopWithin(rt, s)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	reachable := rt.DB().PingContext(ctx) == nil
	if !reachable {
		fmt.Fprintln(c.s.Err, "veza: database does not answer; migration versions are unknown")
	}
	runner := migrate.NewRunner(rt.DB(), s.log)
	for i := range infos {
		m, _ := c.app.Module(infos[i].Name)
		src := app.ModuleSource(m)
		if src.FS == nil {
			continue
		}
		all, err := migrate.List(src)
		if err == nil && len(all) > 0 {
			infos[i].LatestMigration = all[len(all)-1].Version
		}
		if !reachable {
			continue
		}
		st, err := runner.Status(ctx, src)
		if err != nil {
			continue
		}
		v := st.Version
		infos[i].MigrationVersion = &v
		infos[i].Dirty = st.Dirty
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// routeInfo is one row of `veza routes --json`.
type routeInfo struct {
	Method  string `json:"method"`
	Path    string `json:"path"`
	Module  string `json:"module"`
	Auth    bool   `json:"auth"`
	Summary string `json:"summary,omitempty"`
}

func (c *cmd) routes(_ context.Context, args []string) error {
	fs := newFlags("routes")
	asJSON := fs.Bool("json", false, "JSON output")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	s, err := c.load(false)
	if err != nil {
		return err
	}
	rt, err := c.build(s, app.RoleAPI)
	if err != nil {
		return err
	}
	defer stopWithin(rt, s)
	var out []routeInfo
	for _, p := range app.PlatformRoutes() {
		out = append(out, routeInfo{Method: p[0], Path: p[1], Module: app.PlatformModule, Summary: p[2]})
	}
	for _, r := range rt.Contributions().Routes {
		out = append(out, routeInfo{Method: r.Method, Path: r.Path, Module: r.Module, Auth: r.Auth, Summary: r.Doc.Summary})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	if *asJSON {
		return writeJSON(c.s.Out, out)
	}
	tw := tabwriter.NewWriter(c.s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tPATH\tMODULE\tAUTH\tSUMMARY")
	for _, r := range out {
		auth := ""
		if r.Auth {
			auth = "bearer"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Method, r.Path, r.Module, auth, r.Summary)
	}
	return tw.Flush()
}
