package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/migrate"
)

// moduleCommand runs a command an enabled module contributes ("user create").
func (c *cmd) moduleCommand(ctx context.Context, name string, args []string) error {
	help := wantsHelp(args)
	// Only the built modules know their commands and flags, so help builds
	// them too; but it reads the configuration without validating it and
	// applies no migration, as help must not need a finished set-up.
	s, err := c.load(!help)
	if err != nil {
		return err
	}
	rt, err := c.build(s, 0)
	if err != nil {
		return err
	}
	defer stopWithin(rt, s)
	cmds := rt.Contributions().Commands
	found, rest := findCommand(cmds, name, args)
	if found == nil {
		if help && c.groupHelp(cmds, name) {
			return errHelp
		}
		return fmt.Errorf("unknown command %q; %s: %w", strings.TrimSpace(name+" "+first(args)), available(cmds), app.ErrUsage)
	}
	if !help && s.cfg.MigrateOnStart {
		if err := migrate.NewRunner(rt.DB(), s.log.Named("migrate")).Up(ctx, rt.MigrationSources()); err != nil {
			return err
		}
	}
	return c.commandResult(found, help, found.Run(ctx, rest, c.s.Out))
}

// commandResult maps what a module command returned to what the CLI does.
func (c *cmd) commandResult(found *app.Command, help bool, err error) error {
	switch {
	case errors.Is(err, flag.ErrHelp):
		return errHelp
	case help && errors.Is(err, app.ErrUsage):
		// A command whose flag set does not print its usage (one not made
		// with app.NewFlagSet) still answers help with its summary.
		fmt.Fprintf(c.s.Out, "Usage: veza %s [flags]\n\n%s\n", found.Name, found.Summary)
		return errHelp
	case errors.Is(err, app.ErrUsage):
		return &usageError{err: err, usage: fmt.Sprintf("Run \"veza %s --help\" for its usage.\n", found.Name)}
	}
	return err
}

// findCommand picks the command named by name and the first of args, and
// returns the arguments after its name.
func findCommand(cmds []app.Command, name string, args []string) (*app.Command, []string) {
	for i := range cmds {
		words := strings.Fields(cmds[i].Name)
		if words[0] != name {
			continue
		}
		if len(words) == 1 {
			return &cmds[i], args
		}
		if len(args) > 0 && args[0] == words[1] {
			return &cmds[i], args[1:]
		}
	}
	return nil, nil
}

// groupHelp lists the module commands under the first word name ("veza user
// --help"); it reports whether there were any.
func (c *cmd) groupHelp(cmds []app.Command, name string) bool {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, m := range cmds {
		if words := strings.Fields(m.Name); words[0] == name && len(words) > 1 {
			fmt.Fprintf(tw, "  %s\t%s (%s)\n", words[1], m.Summary, m.Module)
		}
	}
	_ = tw.Flush()
	if b.Len() == 0 {
		return false
	}
	fmt.Fprintf(c.s.Out, "Usage: veza %s <subcommand> [flags]\n\nSubcommands:\n%s\n\"veza %s <subcommand> --help\" prints a subcommand's usage and flags.\n", name, b.String(), name)
	return true
}

func first(args []string) string {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0]
	}
	return ""
}

func available(cmds []app.Command) string {
	names := []string{"serve", "worker", "migrate", "modules", "routes", "openapi", "config", "audit", "version"}
	for _, c := range cmds {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return "commands: " + strings.Join(names, ", ")
}
