package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/buildinfo"
	"github.com/veza/veza/platform/config"
)

func versionString() string { return buildinfo.String() }

// optionalBool is a bool flag that remembers whether it was set.
type optionalBool struct {
	set, value bool
}

func (b *optionalBool) String() string { return strconv.FormatBool(b.value) }
func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.set, b.value = true, v
	return nil
}
func (b *optionalBool) IsBoolFlag() bool { return true }

func (c *cmd) serve(ctx context.Context, args []string) error {
	fs := newFlags("serve")
	var withWorker optionalBool
	fs.Var(&withWorker, "with-worker", "also run the job worker (default true in development)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return wrongUsage("serve", fs, fmt.Errorf("serve takes no arguments (got %q): %w", fs.Arg(0), app.ErrUsage))
	}
	s, err := c.load(true)
	if err != nil {
		return err
	}
	role := app.RoleAPI
	if withWorker.value || (!withWorker.set && s.cfg.Env == config.Development) {
		role |= app.RoleWorker
	}
	return c.run(ctx, s, role)
}

func (c *cmd) worker(ctx context.Context, args []string) error {
	fs := newFlags("worker")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	s, err := c.load(true)
	if err != nil {
		return err
	}
	return c.run(ctx, s, app.RoleWorker)
}

func (c *cmd) run(ctx context.Context, s *session, role app.Role) error {
	rt, err := c.build(s, role)
	if err != nil {
		return err
	}
	defer s.log.Sync() //nolint:errcheck // stderr cannot always be synced
	return rt.RunUntilSignal(ctx)
}
