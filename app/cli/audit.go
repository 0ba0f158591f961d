package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/audit"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/migrate"
)

// audit is "veza audit purge": the retention of the audit log. The table is
// the platform's, written by every module, so its retention is a platform
// command that works whichever modules are enabled.
func (c *cmd) audit(ctx context.Context, args []string) error {
	sub, args, err := c.subcommand("audit", args)
	if err != nil {
		return err
	}
	fs := newFlags("audit " + sub)
	before := fs.String("before", "", "remove the entries older than `DATE` (2006-01-02, midnight UTC, or RFC 3339); required")
	dryRun := fs.Bool("dry-run", false, "count the entries that would go, remove nothing")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *before == "" {
		return wrongUsage(fs.Name(), fs, fmt.Errorf("audit purge needs --before DATE and no arguments: %w", app.ErrUsage))
	}
	cutoff, err := parseCutoff(*before)
	if err != nil {
		return wrongUsage(fs.Name(), fs, fmt.Errorf("--before %q: %v: %w", *before, err, app.ErrUsage))
	}
	return c.purge(ctx, cutoff, *dryRun)
}

// parseCutoff reads a date (midnight UTC) or an RFC 3339 time.
func parseCutoff(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("not a date (2006-01-02) or an RFC 3339 time (2006-01-02T15:04:05Z)")
	}
	return t, nil
}

func (c *cmd) purge(ctx context.Context, cutoff time.Time, dryRun bool) error {
	s, err := c.load(true)
	if err != nil {
		return err
	}
	rt, err := c.build(s, 0)
	if err != nil {
		return err
	}
	defer stopWithin(rt, s)
	pool := rt.DB()
	if err := pool.PingContext(ctx); err != nil {
		return fmt.Errorf("database at %s does not answer: %w", db.Redact(s.cfg.DatabaseURL), err)
	}
	// The trigger that lets only a purge delete is a migration: without
	// it a purge would work, and so would any other DELETE.
	if s.cfg.MigrateOnStart {
		if err := migrate.NewRunner(pool, s.log.Named("migrate")).Up(ctx, rt.MigrationSources()); err != nil {
			return err
		}
	}
	when := cutoff.UTC().Format(time.RFC3339)
	if dryRun {
		n, err := audit.Count(ctx, pool, cutoff)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.s.Out, "%d audit entries are older than %s; nothing removed (--dry-run)\n", n, when)
		return nil
	}
	n, err := audit.Purge(ctx, pool, cutoff, audit.Entry{Meta: operator()})
	if errors.Is(err, audit.ErrPurgeFuture) {
		return fmt.Errorf("audit purge --before %s: %w", when, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.s.Out, "removed %d audit entries older than %s; the purge is recorded as %s\n", n, when, audit.ActionPurged)
	return nil
}

// operator says who ran the command, for the purge's own entry: there is no
// account behind a command line, but there is a system user and a host.
func operator() map[string]any {
	meta := map[string]any{"via": "veza audit purge"}
	if u, err := user.Current(); err == nil {
		meta["os_user"] = u.Username
	}
	if h, err := os.Hostname(); err == nil {
		meta["host"] = h
	}
	return meta
}
