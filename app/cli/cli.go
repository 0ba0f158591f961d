// Package cli is the veza command: serve, worker, migrate, modules, routes,
// config, plus the commands modules contribute. A custom binary calls Main
// with its own module list:
//
//	func main() {
//		os.Exit(cli.Main(app.New(append(modules.Builtin(), hello.Module())...), os.Args[1:]))
//	}
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/veza/veza/app"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// Streams are where a command writes; tests replace them.
type Streams struct {
	Out, Err io.Writer
	// LookupEnv replaces os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Main runs the command in args and returns the process exit code.
func Main(a *app.App, args []string) int {
	return Run(context.Background(), a, args, Streams{Out: os.Stdout, Err: os.Stderr})
}

// Run is Main with explicit streams and context.
func Run(ctx context.Context, a *app.App, args []string, s Streams) int {
	if s.LookupEnv == nil {
		s.LookupEnv = os.LookupEnv
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	modules, rest, err := extractModulesFlag(args)
	if err != nil {
		fmt.Fprintln(s.Err, "veza:", err)
		return exitUsage
	}
	c := &cmd{app: a, s: s, modulesFlag: modules}
	if len(rest) == 0 {
		c.usage(s.Err)
		return exitUsage
	}
	err = c.dispatch(ctx, rest[0], rest[1:])
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	case errors.Is(err, app.ErrUsage):
		fmt.Fprintln(s.Err, "veza:", strings.TrimSuffix(err.Error(), ": usage"))
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprint(s.Err, "\n"+ue.usage)
		}
		return exitUsage
	default:
		fmt.Fprintln(s.Err, "veza:", oneLine(err))
		return exitError
	}
}

var errHelp = errors.New("help shown")

type cmd struct {
	app         *app.App
	s           Streams
	modulesFlag string
}

func (c *cmd) dispatch(ctx context.Context, name string, args []string) error {
	switch name {
	case "serve":
		return c.serve(ctx, args)
	case "worker":
		return c.worker(ctx, args)
	case "migrate":
		return c.migrate(ctx, args)
	case "modules":
		return c.modules(ctx, args)
	case "routes":
		return c.routes(ctx, args)
	case "openapi":
		return c.openapi(ctx, args)
	case "config":
		return c.config(ctx, args)
	case "audit":
		return c.audit(ctx, args)
	case "version", "--version", "-version", "-v":
		return c.version(args)
	case "help", "-h", "-help", "--help":
		return c.helpCommand(ctx, args)
	}
	if strings.HasPrefix(name, "-") {
		var b strings.Builder
		c.usage(&b)
		return &usageError{err: fmt.Errorf("unknown flag %s; flags follow the command: %w", name, app.ErrUsage), usage: b.String()}
	}
	return c.moduleCommand(ctx, name, args)
}

// helpCommand is "veza help [command]": the commands, or the usage of one
// (as "veza <command> --help" prints it).
func (c *cmd) helpCommand(ctx context.Context, args []string) error {
	if len(args) > 0 && !isHelpArg(args[0]) {
		return c.dispatch(ctx, args[0], append(slices.Clone(args[1:]), "--help"))
	}
	c.usage(c.s.Out)
	c.moduleUsage(c.s.Out)
	return errHelp
}

func (c *cmd) usage(w io.Writer) {
	fmt.Fprint(w, `Usage: veza <command> [flags]

Commands:
  serve [--with-worker]          serve the HTTP API (with the job worker: default in development)
  worker                         run background jobs, the scheduler and the event relay
  migrate up|down|status|plan|force [--module NAME] [--steps N]
                                 manage the database schema, module by module
  modules list [--json]          the modules of this binary and their state
  modules graph                  the dependency graph, in Graphviz DOT
  routes [--json]                the HTTP routes of the enabled modules
  openapi [--out FILE]           the OpenAPI document of the enabled modules (what /openapi.json serves)
  config check [--offline]       validate configuration, modules.yaml and dependencies
  audit purge --before DATE [--dry-run]
                                 remove audit entries older than DATE (the only way they leave), recorded
  version                        print the version (also --version, -v)
  help [command]                 this list, or the usage of a command
`)
	fmt.Fprint(w, `
Every command takes --modules PATH (default: $VEZA_MODULES_FILE or ./modules.yaml).
"veza <command> --help" prints a command's usage and flags. Modules add commands
of their own (for example "veza user create"), which answer --help too.
`)
}

// moduleUsage lists the commands of the enabled modules, when the
// configuration allows building them.
func (c *cmd) moduleUsage(w io.Writer) {
	s, err := c.load(false)
	if err != nil {
		return
	}
	rt, err := c.build(s, 0)
	if err != nil {
		return
	}
	defer stopWithin(rt, s)
	cmds := rt.Contributions().Commands
	if len(cmds) == 0 {
		return
	}
	fmt.Fprintln(w, "\nModule commands:")
	for _, m := range cmds {
		fmt.Fprintf(w, "  %-30s %s (%s)\n", m.Name, m.Summary, m.Module)
	}
}

// extractModulesFlag removes --modules PATH (or --modules=PATH) wherever it
// appears, so every command accepts it.
func extractModulesFlag(args []string) (string, []string, error) {
	var path string
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--modules" || a == "-modules":
			if i+1 >= len(args) {
				return "", nil, fmt.Errorf("--modules needs a path: %w", app.ErrUsage)
			}
			path = args[i+1]
			i++
		case strings.HasPrefix(a, "--modules="), strings.HasPrefix(a, "-modules="):
			path = a[strings.Index(a, "=")+1:]
		default:
			rest = append(rest, a)
		}
	}
	return path, rest, nil
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
