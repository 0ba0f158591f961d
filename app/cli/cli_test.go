package cli_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/cli"
)

// greet contributes two commands: one whose flags answer help (made with
// app.NewFlagSet), one written before that helper existed.
func greet(ran *bool) app.Module {
	return app.Module{
		Name: "greet", Description: "test: module commands",
		Register: func(r *app.Registrar) {
			r.Command("greet hello", "say hello", func(_ context.Context, args []string, out io.Writer) error {
				fs := app.NewFlagSet("greet hello", "Say hello to someone.", out)
				name := fs.String("name", "world", "who to greet")
				if err := fs.Parse(args); err != nil {
					return fmt.Errorf("greet hello: %w: %w", err, app.ErrUsage)
				}
				*ran = true
				_, err := fmt.Fprintf(out, "hello %s\n", *name)
				return err
			})
			r.Command("greet legacy", "greet the old way", func(_ context.Context, args []string, out io.Writer) error {
				fs := flag.NewFlagSet("greet legacy", flag.ContinueOnError)
				fs.SetOutput(io.Discard)
				if err := fs.Parse(args); err != nil {
					return fmt.Errorf("greet legacy: %v: %w", err, app.ErrUsage)
				}
				*ran = true
				return nil
			})
		},
	}
}

// run runs the CLI in an unusable set-up: production without JWT_SECRET, a
// database that does not answer. Only help can succeed.
func run(t *testing.T, args ...string) (code int, stdout, stderr string, ran bool) {
	t.Helper()
	env := map[string]string{"APP_ENV": "production", "LOG_LEVEL": "error", "VEZA_CONFIG_DIR": t.TempDir(),
		"DATABASE_URL": "postgres://nobody@127.0.0.1:1/nothing?sslmode=disable", "REDIS_URL": "redis://127.0.0.1:1/0"}
	var out, errOut bytes.Buffer
	code = cli.Run(context.Background(), app.New(greet(&ran)), args, cli.Streams{Out: &out, Err: &errOut,
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	return code, out.String(), errOut.String(), ran
}

func TestModuleCommandHelp(t *testing.T) {
	code, out, errOut, ran := run(t, "greet", "hello", "--help")
	if code != 0 || ran || !strings.HasPrefix(out, "Usage: veza greet hello [flags]\n\nSay hello to someone.\n") ||
		!strings.Contains(out, "--name string") || !strings.Contains(out, "(default world)") {
		t.Fatalf("code %d, ran %v\nstdout %s\nstderr %s", code, ran, out, errOut)
	}
}

// A command that does not use app.NewFlagSet answers help with its summary.
func TestLegacyModuleCommandHelp(t *testing.T) {
	code, out, errOut, ran := run(t, "greet", "legacy", "-h")
	if code != 0 || ran || out != "Usage: veza greet legacy [flags]\n\ngreet the old way\n" {
		t.Fatalf("code %d, ran %v\nstdout %q\nstderr %s", code, ran, out, errOut)
	}
}

func TestModuleGroupHelp(t *testing.T) {
	code, out, errOut, _ := run(t, "greet", "--help")
	if code != 0 || !strings.HasPrefix(out, "Usage: veza greet <subcommand> [flags]\n") ||
		!strings.Contains(out, "  hello   say hello (greet)") || !strings.Contains(out, "  legacy  greet the old way (greet)") {
		t.Fatalf("code %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}

func TestHelpListsModuleCommands(t *testing.T) {
	code, out, errOut, _ := run(t, "help")
	if code != 0 || !strings.Contains(out, "Module commands:\n  greet hello") || !strings.Contains(out, "  greet legacy") {
		t.Fatalf("code %d\nstdout %s\nstderr %s", code, out, errOut)
	}
}
