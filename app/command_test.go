package app_test

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/veza/veza/app"
)

func TestNewFlagSetHelp(t *testing.T) {
	var out bytes.Buffer
	fs := app.NewFlagSet("hello count", "Print how many greetings are stored.", &out)
	fs.String("since", "", "count greetings after `DATE`")
	fs.Int("limit", 10, "stop at `N`")
	fs.Bool("verbose", false, "say more")
	err := fs.Parse([]string{"--help"})
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Parse(--help) = %v, want flag.ErrHelp", err)
	}
	want := `Usage: veza hello count [flags]

Print how many greetings are stored.

Flags:
  --limit N       stop at N (default 10)
  --since DATE    count greetings after DATE
  --verbose       say more

Global flags:
  --modules PATH  the modules file (default $VEZA_MODULES_FILE, then ./modules.yaml)
`
	if out.String() != want {
		t.Fatalf("usage:\n%s\nwant:\n%s", out.String(), want)
	}
}

// A wrong flag is returned, not printed: out is the command's result stream.
func TestNewFlagSetWrongFlag(t *testing.T) {
	var out bytes.Buffer
	fs := app.NewFlagSet("hello count", "Print how many greetings are stored.", &out)
	fs.Int("limit", 10, "stop at `N`")
	for _, args := range [][]string{{"--bogus"}, {"--limit", "many"}, {"--limit"}} {
		err := fs.Parse(args)
		if err == nil || errors.Is(err, flag.ErrHelp) {
			t.Fatalf("Parse(%v) = %v, want an error", args, err)
		}
		if out.Len() != 0 {
			t.Fatalf("Parse(%v) printed %q", args, out.String())
		}
	}
}

func TestWriteUsageWithoutFlags(t *testing.T) {
	var out bytes.Buffer
	if err := app.WriteUsage(&out, "hello", "Say hello.", nil); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); strings.Contains(got, "\nFlags:") || !strings.HasPrefix(got, "Usage: veza hello\n\nSay hello.\n\nGlobal flags:\n  --modules PATH") {
		t.Fatalf("usage:\n%s", got)
	}
}
