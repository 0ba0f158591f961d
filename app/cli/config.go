package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/migrate"
)

// config check validates what start-up would: the configuration, modules.yaml
// (names, requirements, cycles, settings), the modules' contributions, and,
// unless --offline, that PostgreSQL and Redis answer and no schema is dirty.
func (c *cmd) config(ctx context.Context, args []string) error {
	sub, args, err := c.subcommand("config", args)
	if err != nil {
		return err
	}
	fs := newFlags("config " + sub)
	offline := fs.Bool("offline", false, "do not contact PostgreSQL and Redis")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	s, err := c.load(true)
	if err != nil {
		return err
	}
	rt, err := c.build(s, app.RoleAPI|app.RoleWorker)
	if err != nil {
		return err
	}
	defer stopWithin(rt, s)
	var problems []string
	if !*offline {
		problems = c.checkServices(ctx, s, rt)
	}
	if len(problems) > 0 {
		return fmt.Errorf("config check failed: %s", strings.Join(problems, "; "))
	}
	fmt.Fprintf(c.s.Out, "ok: %s environment, %d module(s) enabled (%s), %d route(s)",
		s.cfg.Env, len(s.plan.Enabled), strings.Join(s.plan.Names(), ", "), len(rt.Contributions().Routes))
	if *offline {
		fmt.Fprintln(c.s.Out, "; services not checked (--offline)")
	} else {
		fmt.Fprintln(c.s.Out, "; PostgreSQL and Redis answer")
	}
	return nil
}

func (c *cmd) checkServices(ctx context.Context, s *session, rt *app.Runtime) []string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var problems []string
	if err := rt.DB().PingContext(ctx); err != nil {
		problems = append(problems, fmt.Sprintf("DATABASE_URL %s does not answer: %v", db.Redact(s.cfg.DatabaseURL), err))
	} else {
		runner := migrate.NewRunner(rt.DB(), s.log)
		for _, src := range rt.MigrationSources() {
			if _, err := migrate.List(src); err != nil {
				problems = append(problems, err.Error())
				continue
			}
			st, err := runner.Status(ctx, src)
			if err == nil && st.Dirty {
				problems = append(problems, (&migrate.ErrDirty{Module: st.Module, Version: st.Version}).Error())
			}
		}
	}
	if err := rt.Redis().Ping(ctx).Err(); err != nil {
		problems = append(problems, fmt.Sprintf("REDIS_URL does not answer: %v", err))
	}
	return problems
}
