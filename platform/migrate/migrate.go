// Package migrate applies each module's SQL migrations with golang-migrate.
// Every module has its own version table, schema_migrations_<module>, so that
// modules migrate, roll back and report independently, and golang-migrate's
// advisory lock (derived from the table name) serialises concurrent runs of
// the same module across processes.
package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database/postgres"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"
)

// Source is one module's migrations: files named <version>_<name>.up.sql and
// <version>_<name>.down.sql at the root of FS.
type Source struct {
	Module string
	FS     fs.FS
}

// Migration is one version of one module.
type Migration struct {
	Module  string `json:"module"`
	Version uint   `json:"version"`
	Name    string `json:"name"`
}

// Status is where a module's schema stands.
type Status struct {
	Module string `json:"module"`
	// Version is the applied version, 0 when none.
	Version uint `json:"version"`
	// Dirty means a migration failed half-way and the schema needs a hand.
	Dirty bool `json:"dirty"`
	// Latest is the newest version this binary knows.
	Latest  uint        `json:"latest"`
	Pending []Migration `json:"pending"`
	// Ahead means the database is at a version this binary does not know,
	// i.e. a newer release migrated it.
	Ahead bool `json:"ahead"`
}

// Table is the version table of a module.
func Table(module string) string { return "schema_migrations_" + module }

var fileName = regexp.MustCompile(`^([0-9]+)_([A-Za-z0-9_\-.]+)\.(up|down)\.sql$`)

// List returns the migrations of src in version order, checking that every
// file is well named and every up has its down.
func List(src Source) ([]Migration, error) {
	if src.FS == nil {
		return nil, nil
	}
	entries, err := fs.ReadDir(src.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations of %s: %w", src.Module, err)
	}
	type pair struct {
		name     string
		up, down bool
	}
	found := map[uint]*pair{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		m := fileName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migrations of %s: %q is not named <version>_<name>.up.sql or .down.sql", src.Module, e.Name())
		}
		v, err := strconv.ParseUint(m[1], 10, 32)
		if err != nil || v == 0 {
			return nil, fmt.Errorf("migrations of %s: %q: the version must be a positive number", src.Module, e.Name())
		}
		p := found[uint(v)]
		if p == nil {
			p = &pair{name: m[2]}
			found[uint(v)] = p
		} else if p.name != m[2] {
			return nil, fmt.Errorf("migrations of %s: version %d has two names, %q and %q", src.Module, v, p.name, m[2])
		}
		if m[3] == "up" {
			p.up = true
		} else {
			p.down = true
		}
	}
	out := make([]Migration, 0, len(found))
	for v, p := range found {
		if !p.up || !p.down {
			return nil, fmt.Errorf("migrations of %s: version %d (%s) needs both an .up.sql and a .down.sql file", src.Module, v, p.name)
		}
		out = append(out, Migration{Module: src.Module, Version: v, Name: p.name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Runner runs migrations on one database.
type Runner struct {
	db  *sqlx.DB
	log *zap.Logger
	// LockTimeout bounds the wait for another process's run of the same module.
	LockTimeout time.Duration
}

// NewRunner returns a runner on pool.
func NewRunner(pool *sqlx.DB, log *zap.Logger) *Runner {
	return &Runner{db: pool, log: log, LockTimeout: 2 * time.Minute}
}

// Status reads where src stands without changing anything (no version table is
// created for a module that has never run).
func (r *Runner) Status(ctx context.Context, src Source) (Status, error) {
	st := Status{Module: src.Module}
	all, err := List(src)
	if err != nil {
		return st, err
	}
	if len(all) > 0 {
		st.Latest = all[len(all)-1].Version
	}
	var exists bool
	err = r.db.GetContext(ctx, &exists,
		`SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1)`,
		Table(src.Module))
	if err != nil {
		return st, fmt.Errorf("status of %s: %w", src.Module, err)
	}
	if exists {
		var row struct {
			Version int64 `db:"version"`
			Dirty   bool  `db:"dirty"`
		}
		err = r.db.GetContext(ctx, &row, `SELECT version, dirty FROM `+Table(src.Module)+` LIMIT 1`)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return st, fmt.Errorf("status of %s: %w", src.Module, err)
		case row.Version > 0:
			st.Version, st.Dirty = uint(row.Version), row.Dirty
		}
	}
	st.Ahead = st.Version > st.Latest
	for _, m := range all {
		if m.Version > st.Version {
			st.Pending = append(st.Pending, m)
		}
	}
	return st, nil
}

// ErrDirty reports a module whose last migration failed half-way.
type ErrDirty struct {
	Module  string
	Version uint
}

func (e *ErrDirty) Error() string {
	return fmt.Sprintf("module %s is dirty at migration %d (it failed half-way): repair the schema by hand, then run `veza migrate force --module %s %d` with the last version that is fully applied, and `veza migrate up`",
		e.Module, e.Version, e.Module, e.Version-1)
}

// Up applies the pending migrations of each source, in the given order.
func (r *Runner) Up(ctx context.Context, srcs []Source) error {
	for _, src := range srcs {
		if err := r.up(ctx, src); err != nil {
			return err
		}
	}
	return nil
}

// UpSteps applies at most steps pending migrations of src (all when steps
// is 0 or less).
func (r *Runner) UpSteps(ctx context.Context, src Source, steps int) error {
	if steps <= 0 {
		return r.up(ctx, src)
	}
	st, err := r.Status(ctx, src)
	if err != nil {
		return err
	}
	if len(st.Pending) == 0 && !st.Dirty {
		return nil
	}
	steps = max(1, min(steps, len(st.Pending)))
	return r.with(ctx, src, func(m *migrate.Migrate) error {
		if err := m.Steps(steps); err != nil && !errors.Is(err, migrate.ErrNoChange) {
			return r.explain(src, err)
		}
		return nil
	})
}

func (r *Runner) up(ctx context.Context, src Source) error {
	st, err := r.Status(ctx, src)
	if err != nil {
		return err
	}
	// This look is taken without the lock: a dirty flag seen here may belong
	// to another process's migration in progress, so only golang-migrate,
	// under the lock, decides that a module is really dirty.
	switch {
	case st.Ahead && !st.Dirty:
		r.log.Warn("database schema is newer than this binary; not migrating",
			zap.String("module", src.Module), zap.Uint("version", st.Version), zap.Uint("known", st.Latest))
		return nil
	case len(st.Pending) == 0 && !st.Dirty:
		return nil
	}
	return r.with(ctx, src, func(m *migrate.Migrate) error {
		start := time.Now()
		err := m.Up()
		if errors.Is(err, migrate.ErrNoChange) {
			return nil // another process got there first
		}
		if err != nil {
			return r.explain(src, err)
		}
		v, _, _ := m.Version()
		r.log.Info("migrated", zap.String("module", src.Module), zap.Uint("from", st.Version),
			zap.Uint("to", v), zap.Duration("took", time.Since(start)))
		return nil
	})
}

// Down rolls src back by steps migrations, or all of them when steps is 0.
func (r *Runner) Down(ctx context.Context, src Source, steps int) error {
	st, err := r.Status(ctx, src)
	if err != nil {
		return err
	}
	if st.Version == 0 && !st.Dirty {
		return nil
	}
	return r.with(ctx, src, func(m *migrate.Migrate) error {
		var err error
		if steps <= 0 {
			err = m.Down()
		} else {
			err = m.Steps(-steps)
		}
		if errors.Is(err, migrate.ErrNoChange) {
			return nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			// Fewer migrations applied than steps asked: all are now down.
			return nil
		}
		if err != nil {
			return r.explain(src, err)
		}
		v, _, verr := m.Version()
		if errors.Is(verr, migrate.ErrNilVersion) {
			v = 0
		}
		r.log.Info("rolled back", zap.String("module", src.Module), zap.Uint("from", st.Version), zap.Uint("to", v))
		return nil
	})
}

// Force records version as applied and clean without running anything: the
// way out of a dirty state after a hand repair. Version 0 means none applied.
func (r *Runner) Force(ctx context.Context, src Source, version int) error {
	return r.with(ctx, src, func(m *migrate.Migrate) error {
		if version == 0 {
			version = -1 // golang-migrate's "no version"
		}
		if err := m.Force(version); err != nil {
			return fmt.Errorf("force %s to %d: %w", src.Module, version, err)
		}
		return nil
	})
}

func (r *Runner) explain(src Source, err error) error {
	var dirty migrate.ErrDirty
	if errors.As(err, &dirty) {
		return &ErrDirty{Module: src.Module, Version: uint(dirty.Version)}
	}
	return fmt.Errorf("migrate %s: %w", src.Module, err)
}

func (r *Runner) with(ctx context.Context, src Source, fn func(*migrate.Migrate) error) error {
	if src.FS == nil {
		return nil
	}
	source, err := iofs.New(src.FS, ".")
	if err != nil {
		return fmt.Errorf("migrations of %s: %w", src.Module, err)
	}
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: connect: %w", src.Module, err)
	}
	driver, err := postgres.WithConnection(ctx, conn, &postgres.Config{MigrationsTable: Table(src.Module)})
	if err != nil {
		conn.Close()
		return fmt.Errorf("migrate %s: %w", src.Module, err)
	}
	m, err := migrate.NewWithInstance("iofs", source, "postgres", driver)
	if err != nil {
		driver.Close()
		return fmt.Errorf("migrate %s: %w", src.Module, err)
	}
	m.LockTimeout = r.LockTimeout
	defer m.Close() // closes the connection, not the pool: the driver was given a *sql.Conn
	return fn(m)
}

// Plan lists what Up would apply, in order.
func (r *Runner) Plan(ctx context.Context, srcs []Source) ([]Migration, error) {
	var out []Migration
	for _, src := range srcs {
		st, err := r.Status(ctx, src)
		if err != nil {
			return nil, err
		}
		if st.Dirty {
			return nil, &ErrDirty{Module: src.Module, Version: st.Version}
		}
		out = append(out, st.Pending...)
	}
	return out, nil
}
