package app

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// NewFlagSet returns the flag set of a module command named name ("user
// create"). Parse reports errors instead of exiting or printing them; on -h,
// -help or --help it writes the command's usage (see WriteUsage) to out and
// returns flag.ErrHelp. Return Parse's error wrapped, with ErrUsage:
//
//	if err := fs.Parse(args); err != nil {
//		return fmt.Errorf("hello count: %w: %w", err, app.ErrUsage)
//	}
//
// The CLI exits 0 when the error wraps flag.ErrHelp, 2 otherwise.
func NewFlagSet(name, summary string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	errs := &parseErrors{}
	fs.SetOutput(errs)
	fs.Usage = func() {
		// The flag package also calls Usage after a wrong flag, having first
		// written the error to the output. out is the command's result
		// stream, so the usage goes there only when it was asked for; the
		// CLI prints the returned error and a hint on stderr.
		if errs.seen {
			return
		}
		_ = WriteUsage(out, name+" [flags]", summary, fs)
	}
	return fs
}

// parseErrors swallows what the flag package prints about a wrong flag (the
// error is returned too), remembering that it did.
type parseErrors struct{ seen bool }

func (p *parseErrors) Write(b []byte) (int, error) {
	p.seen = true
	return len(b), nil
}

// WriteUsage writes the usage block of a command: "Usage: veza <synopsis>",
// the summary, the flags of fs (nil when it has none) with their defaults,
// and the --modules flag every command takes. It is what -h, -help and
// --help print, for built-in and module commands alike.
func WriteUsage(w io.Writer, synopsis, summary string, fs *flag.FlagSet) error {
	var rows [][2]string
	if fs != nil {
		fs.VisitAll(func(f *flag.Flag) { rows = append(rows, flagRow(f)) })
	}
	global := [2]string{"--modules PATH", "the modules file (default $VEZA_MODULES_FILE, then ./modules.yaml)"}
	width := len(global[0])
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: veza %s\n", synopsis)
	if summary != "" {
		fmt.Fprintf(&b, "\n%s\n", summary)
	}
	if len(rows) > 0 {
		b.WriteString("\nFlags:\n")
		for _, r := range rows {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, r[0], r[1])
		}
	}
	fmt.Fprintf(&b, "\nGlobal flags:\n  %-*s  %s\n", width, global[0], global[1])
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write the usage of veza %s: %w", synopsis, err)
	}
	return nil
}

// flagRow is one row of the flag table: "--name TYPE" and "usage (default
// D)". Flags are shown with two dashes, as the documentation writes them;
// the flag package accepts one or two.
func flagRow(f *flag.Flag) [2]string {
	typ, usage := flag.UnquoteUsage(f)
	name := "--" + f.Name
	if typ != "" {
		name += " " + typ
	}
	if !isZeroDefault(f) {
		usage += fmt.Sprintf(" (default %s)", f.DefValue)
	}
	return [2]string{name, usage}
}

// isZeroDefault reports whether a flag's default is not worth printing.
// flag.PrintDefaults compares against a fresh value of the flag's type; the
// textual zero values cover the types commands use.
func isZeroDefault(f *flag.Flag) bool {
	switch strings.TrimSpace(f.DefValue) {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}
