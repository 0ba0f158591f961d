package cli

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/veza/veza/app"
)

// helpText is what --help says about a built-in command.
type helpText struct {
	synopsis string // after "veza "
	summary  string
}

// builtins holds the help of every built-in command and subcommand, keyed by
// name ("migrate up").
var builtins = map[string]helpText{
	"serve":  {"serve [flags]", "Serve the HTTP API until SIGINT or SIGTERM; in development the job worker runs inside it unless --with-worker=false."},
	"worker": {"worker [flags]", "Run background jobs, periodic tasks and the event relay until SIGINT or SIGTERM."},
	"migrate": {"migrate <subcommand> [flags]",
		"Manage the database schema of the platform and of the enabled modules, module by module."},
	"migrate up":     {"migrate up [flags]", "Apply pending migrations in dependency order, then print the status."},
	"migrate down":   {"migrate down [flags]", "Roll back migrations in reverse dependency order, refusing while an enabled module that requires the target still has tables."},
	"migrate status": {"migrate status [flags]", "Print each module's schema version, its latest migration and whether it is dirty."},
	"migrate plan":   {"migrate plan [flags]", "Print the migrations migrate up would apply, in order."},
	"migrate force":  {"migrate force --module NAME VERSION", "Record VERSION (0 for none) as a module's schema version and clear its dirty mark, after a failed migration was repaired by hand."},
	"modules":        {"modules <subcommand> [flags]", "Describe the modules of this binary."},
	"modules list":   {"modules list [flags]", "List the modules of this binary: enabled or not, requirements, routes, jobs and migration versions."},
	"modules graph":  {"modules graph", "Print the module dependency graph in Graphviz DOT, disabled modules dashed."},
	"routes":         {"routes [flags]", "List the HTTP routes of the platform and of the enabled modules."},
	"openapi":        {"openapi [flags]", "Write the OpenAPI document of the enabled modules, as GET /openapi.json serves it, without starting a server."},
	"config":         {"config <subcommand> [flags]", "Check this deployment's set-up before starting it."},
	"config check":   {"config check [flags]", "Validate what start-up would (configuration, modules.yaml, module settings and contributions) and, unless --offline, that PostgreSQL and Redis answer and no schema is dirty."},
	"version":        {"version", "Print the version of this binary."},
	"audit":          {"audit <subcommand> [flags]", "Manage the audit log, which the database keeps append-only."},
	"audit purge": {"audit purge --before DATE [flags]",
		"Remove the audit entries older than DATE, the only way entries leave the audit log, and record the purge as an entry of its own (platform.audit_purged)."},
}

// groups are the built-in commands made of subcommands, in usage order.
var groups = map[string][]string{
	"migrate": {"up", "down", "status", "plan", "force"},
	"modules": {"list", "graph"},
	"config":  {"check"},
	"audit":   {"purge"},
}

// isHelpArg reports whether a is one of the spellings of help the flag
// package understands.
func isHelpArg(a string) bool { return a == "-h" || a == "-help" || a == "--help" }

// wantsHelp reports whether args ask for help anywhere before "--": the flag
// package stops at the first argument that is not a flag, and "veza migrate
// force --module x 1 --help" must still show help, not act.
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelpArg(a) {
			return true
		}
	}
	return false
}

// usageError is a wrong command line, printed with guidance on stderr.
type usageError struct {
	err   error
	usage string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// help prints the usage of the built-in command name, with the flags of fs
// (nil: none), and stops the command.
func (c *cmd) help(name string, fs *flag.FlagSet) error {
	if _, err := io.WriteString(c.s.Out, usageText(name, fs)); err != nil {
		return fmt.Errorf("print the usage of veza %s: %w", name, err)
	}
	return errHelp
}

// wrongUsage attaches the usage of the built-in command name to err.
func wrongUsage(name string, fs *flag.FlagSet, err error) error {
	return &usageError{err: err, usage: usageText(name, fs)}
}

func usageText(name string, fs *flag.FlagSet) string {
	h := builtins[name]
	summary := h.summary
	if subs, ok := groups[name]; ok {
		summary += "\n\nSubcommands:\n" + subcommandTable(name, subs)
	}
	var b bytes.Buffer
	_ = app.WriteUsage(&b, h.synopsis, summary, fs) // a bytes.Buffer does not fail
	return b.String()
}

func subcommandTable(group string, subs []string) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, s := range subs {
		fmt.Fprintf(tw, "  %s\t%s\n", s, builtins[group+" "+s].summary)
	}
	_ = tw.Flush()
	return strings.TrimSuffix(b.String(), "\n")
}

// newFlags makes the flag set of the built-in command name. It prints
// nothing: parse shows help on stdout and errors on stderr.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse answers help before anything else (configuration included, so help
// works where the configuration is not valid yet) and refuses wrong flags
// with the command's usage.
func (c *cmd) parse(fs *flag.FlagSet, args []string) error {
	if wantsHelp(args) {
		return c.help(fs.Name(), fs)
	}
	if err := fs.Parse(args); err != nil {
		return wrongUsage(fs.Name(), fs, fmt.Errorf("%s: %v: %w", fs.Name(), err, app.ErrUsage))
	}
	return nil
}

// subcommand splits the arguments of a group ("migrate") into its
// subcommand and the rest, answering help for the group itself.
func (c *cmd) subcommand(group string, args []string) (string, []string, error) {
	subs := groups[group]
	if len(args) > 0 {
		if _, ok := builtins[group+" "+args[0]]; ok {
			return args[0], args[1:], nil
		}
	}
	if wantsHelp(args) {
		return "", nil, c.help(group, nil)
	}
	choices := orList(subs)
	if len(args) == 0 {
		return "", nil, wrongUsage(group, nil, fmt.Errorf("%s needs %s: %w", group, choices, app.ErrUsage))
	}
	return "", nil, wrongUsage(group, nil, fmt.Errorf("%s %s: unknown; use %s: %w", group, args[0], choices, app.ErrUsage))
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
