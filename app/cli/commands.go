package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/migrate"
)

// moduleCommand runs a command an enabled module contributes ("user create").
func (c *cmd) moduleCommand(ctx context.Context, name string, args []string) error {
	s, err := c.load(true)
	if err != nil {
		return err
	}
	rt, err := c.build(s, 0)
	if err != nil {
		return err
	}
	defer stopWithin(rt, s)
	cmds := rt.Contributions().Commands
	var found *app.Command
	var rest []string
	for i := range cmds {
		words := strings.Fields(cmds[i].Name)
		if words[0] != name {
			continue
		}
		if len(words) == 1 {
			found, rest = &cmds[i], args
			break
		}
		if len(args) > 0 && args[0] == words[1] {
			found, rest = &cmds[i], args[1:]
			break
		}
	}
	if found == nil {
		return fmt.Errorf("unknown command %q; %s: %w", strings.TrimSpace(name+" "+first(args)), available(cmds), app.ErrUsage)
	}
	if s.cfg.MigrateOnStart {
		if err := migrate.NewRunner(rt.DB(), s.log.Named("migrate")).Up(ctx, rt.MigrationSources()); err != nil {
			return err
		}
	}
	return found.Run(ctx, rest, c.s.Out)
}

func first(args []string) string {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0]
	}
	return ""
}

func available(cmds []app.Command) string {
	names := []string{"serve", "worker", "migrate", "modules", "routes", "config", "version"}
	for _, c := range cmds {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return "commands: " + strings.Join(names, ", ")
}
