package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unconfigured is a folder where nothing is set up: production without
// JWT_SECRET, CORS_ALLOWED_ORIGINS or DATABASE_URL, which start-up refuses,
// and with modulesYAML when not empty. Help must not care.
func unconfigured(t *testing.T, modulesYAML string) *proc {
	t.Helper()
	dir := t.TempDir()
	if modulesYAML != "" {
		if err := os.WriteFile(filepath.Join(dir, "modules.yaml"), []byte(modulesYAML), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &proc{t: t, dir: dir, env: map[string]string{"APP_ENV": "production"}}
}

// builtinHelp is what each built-in command's --help must show: its usage
// line and the flags (or subcommands) it takes.
var builtinHelp = []struct {
	args  []string
	usage string
	shows []string
}{
	{[]string{"serve"}, "Usage: veza serve [flags]", []string{"--with-worker"}},
	{[]string{"worker"}, "Usage: veza worker [flags]", nil},
	{[]string{"migrate"}, "Usage: veza migrate <subcommand> [flags]", []string{"up ", "down ", "status ", "plan ", "force "}},
	{[]string{"migrate", "up"}, "Usage: veza migrate up [flags]", []string{"--module NAME", "--steps N"}},
	{[]string{"migrate", "down"}, "Usage: veza migrate down [flags]", []string{"--module NAME", "--steps N"}},
	{[]string{"migrate", "status"}, "Usage: veza migrate status [flags]", []string{"--module NAME", "--json"}},
	{[]string{"migrate", "plan"}, "Usage: veza migrate plan [flags]", []string{"--module NAME", "--json"}},
	{[]string{"migrate", "force"}, "Usage: veza migrate force --module NAME VERSION", []string{"--module NAME"}},
	{[]string{"modules"}, "Usage: veza modules <subcommand> [flags]", []string{"list ", "graph "}},
	{[]string{"modules", "list"}, "Usage: veza modules list [flags]", []string{"--json"}},
	{[]string{"modules", "graph"}, "Usage: veza modules graph", nil},
	{[]string{"routes"}, "Usage: veza routes [flags]", []string{"--json"}},
	{[]string{"openapi"}, "Usage: veza openapi [flags]", []string{"--out FILE"}},
	{[]string{"config"}, "Usage: veza config <subcommand> [flags]", []string{"check "}},
	{[]string{"config", "check"}, "Usage: veza config check [flags]", []string{"--offline"}},
	{[]string{"version"}, "Usage: veza version", nil},
	{[]string{"audit"}, "Usage: veza audit <subcommand> [flags]", []string{"purge "}},
	{[]string{"audit", "purge"}, "Usage: veza audit purge --before DATE [flags]", []string{"--before DATE", "--dry-run"}},
}

func TestBuiltinHelp(t *testing.T) {
	p := unconfigured(t, "")
	for _, c := range builtinHelp {
		for _, h := range []string{"--help", "-help", "-h"} {
			args := append(append([]string{}, c.args...), h)
			r := p.run(args...)
			if r.code != 0 || r.stderr != "" {
				t.Errorf("%v: code %d, stderr %q", args, r.code, r.stderr)
				continue
			}
			if !strings.HasPrefix(r.stdout, c.usage+"\n") {
				t.Errorf("%v: stdout does not start with %q:\n%s", args, c.usage, r.stdout)
			}
			for _, want := range append(c.shows, "--modules PATH") {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("%v: stdout lacks %q:\n%s", args, want, r.stdout)
				}
			}
		}
	}
}

// Help anywhere in the arguments shows help and does nothing else, even
// after a positional argument (where the flag package stops) and with
// --modules before it.
func TestHelpAnywhere(t *testing.T) {
	p := unconfigured(t, "")
	for _, args := range [][]string{
		{"migrate", "force", "--module", "notes", "1", "--help"},
		{"--modules", "nowhere.yaml", "serve", "--with-worker", "--help"},
		{"serve", "extra", "-h"},
		{"help", "migrate", "force"},
	} {
		r := p.run(args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: veza ") {
			t.Errorf("%v: code %d\nstdout %s\nstderr %s", args, r.code, r.stdout, r.stderr)
		}
	}
	// A help flag after "--" is an argument, not a request.
	if r := p.run("serve", "--", "--help"); r.code != 2 || r.stdout != "" {
		t.Errorf("serve -- --help: code %d, stdout %q", r.code, r.stdout)
	}
}

func TestTopLevelHelpAndVersion(t *testing.T) {
	p := unconfigured(t, "")
	for _, h := range []string{"help", "--help", "-help", "-h"} {
		r := p.run(h)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: veza <command>") {
			t.Errorf("%s: code %d\nstdout %s\nstderr %s", h, r.code, r.stdout, r.stderr)
		}
		for _, cmd := range []string{"serve", "worker", "migrate", "modules list", "routes", "openapi", "config check", "audit purge", "version"} {
			if !strings.Contains(r.stdout, "\n  "+cmd) {
				t.Errorf("%s: does not list %s:\n%s", h, cmd, r.stdout)
			}
		}
	}
	if r := p.run(); r.code != 2 || r.stdout != "" || !strings.HasPrefix(r.stderr, "Usage: veza <command>") {
		t.Errorf("no arguments: code %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	want := p.run("version")
	if want.code != 0 || !strings.HasPrefix(want.stdout, "veza ") {
		t.Fatalf("version: %+v", want)
	}
	for _, v := range []string{"--version", "-version", "-v"} {
		if r := p.run(v); r != want {
			t.Errorf("%s = %+v, want what version prints: %+v", v, r, want)
		}
	}
}

// A wrong flag is a usage error: the error and the command's usage on
// stderr, nothing on stdout, exit 2, before the configuration is read.
func TestWrongFlagShowsUsage(t *testing.T) {
	p := unconfigured(t, "")
	for _, c := range []struct {
		args  []string
		usage string
	}{
		{[]string{"serve", "--bogus"}, "Usage: veza serve [flags]"},
		{[]string{"migrate", "up", "--json"}, "Usage: veza migrate up [flags]"},
		{[]string{"modules", "list", "--bogus"}, "Usage: veza modules list [flags]"},
		{[]string{"routes", "--bogus"}, "Usage: veza routes [flags]"},
		{[]string{"openapi", "--bogus"}, "Usage: veza openapi [flags]"},
		{[]string{"config", "check", "--bogus"}, "Usage: veza config check [flags]"},
		{[]string{"migrate", "sideways"}, "Usage: veza migrate <subcommand> [flags]"},
		{[]string{"--bogus"}, "Usage: veza <command>"},
	} {
		r := p.run(c.args...)
		bad := c.args[len(c.args)-1]
		if r.code != 2 || r.stdout != "" || !strings.HasPrefix(r.stderr, "veza: ") ||
			!strings.Contains(r.stderr, strings.TrimLeft(bad, "-")) || !strings.Contains(r.stderr, "\n"+c.usage) {
			t.Errorf("%v: code %d\nstdout %s\nstderr %s", c.args, r.code, r.stdout, r.stderr)
		}
	}
}

const authOnly = "modules:\n  auth: {enabled: true}\n"

// Module commands answer help with their own flags, without a valid
// configuration (the modules are built, so DATABASE_URL must parse) and
// without migrating anything.
func TestModuleCommandHelp(t *testing.T) {
	p := unconfigured(t, authOnly)
	p.env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:1/nothing?sslmode=disable"
	for _, c := range []struct {
		args  []string
		usage string
		shows []string
	}{
		{[]string{"user", "create", "--help"}, "Usage: veza user create [flags]", []string{"--email ADDRESS", "--username NAME", "--password PASSWORD", "--role ROLE", "(default user)", "--verified", "--modules PATH"}},
		{[]string{"user", "set-role", "-h"}, "Usage: veza user set-role [flags]", []string{"--email ADDRESS", "--role ROLE", "--modules PATH"}},
		{[]string{"help", "user", "create"}, "Usage: veza user create [flags]", []string{"--email ADDRESS"}},
		{[]string{"user", "--help"}, "Usage: veza user <subcommand> [flags]", []string{"create ", "set-role "}},
	} {
		r := p.run(c.args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, c.usage+"\n") {
			t.Errorf("%v: code %d\nstdout %s\nstderr %s", c.args, r.code, r.stdout, r.stderr)
			continue
		}
		for _, want := range c.shows {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%v: stdout lacks %q:\n%s", c.args, want, r.stdout)
			}
		}
	}
	if r := p.run("help"); !strings.Contains(r.stdout, "Module commands:\n  user create") {
		t.Errorf("help does not list the module commands:\n%s", r.stdout)
	}
}

// A wrong flag given to a module command exits 2 with the error and a hint
// on stderr; stdout, the command's result stream, stays empty.
func TestModuleCommandWrongFlag(t *testing.T) {
	p := newProc(t, authOnly)
	r := p.run("user", "create", "--bogus")
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "veza: user create: flag provided but not defined: -bogus\n") ||
		!strings.Contains(r.stderr, `Run "veza user create --help" for its usage.`) {
		t.Fatalf("code %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
}
