package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"

	"github.com/veza/veza/migrations"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/events"
	vlog "github.com/veza/veza/platform/log"
	"github.com/veza/veza/platform/mail"
	"github.com/veza/veza/platform/metrics"
	"github.com/veza/veza/platform/migrate"
	"github.com/veza/veza/platform/redisclient"
)

// Role says what a process does.
type Role int

// The roles; serve --with-worker is RoleAPI|RoleWorker.
const (
	RoleAPI Role = 1 << iota
	RoleWorker
)

// Has reports whether r includes o.
func (r Role) Has(o Role) bool { return r&o != 0 }

// PlatformModule names the platform's own migrations, queue and jobs.
const PlatformModule = "platform"

// BuildOptions configure one process.
type BuildOptions struct {
	Config *config.Config
	Plan   *Plan
	Role   Role
	// Logger defaults to one built from the configuration.
	Logger *zap.Logger
	// Extra fx options, appended last (tests, custom binaries).
	Extra []fx.Option
}

// Runtime is one built process: start it, stop it, or inspect what it holds.
type Runtime struct {
	cfg     *config.Config
	plan    *Plan
	log     *zap.Logger
	fx      *fx.App
	reg     *registry
	pool    *sqlx.DB
	rdb     redis.UniversalClient
	addr    net.Addr
	addrMu  sync.Mutex
	server  *fiber.App
	started bool
}

// Build assembles the fx application of one process from the plan's enabled
// modules, in dependency order. Nothing connects or listens until Start.
// Contribution conflicts (two modules on one route or job type) are
// reported here as a *PlanError.
func (a *App) Build(o BuildOptions) (*Runtime, error) {
	if o.Config == nil || o.Plan == nil {
		return nil, errors.New("app: Build needs a Config and a Plan")
	}
	log := o.Logger
	if log == nil {
		var err error
		if log, err = vlog.New(o.Config); err != nil {
			return nil, err
		}
	}
	pool, err := db.Open(o.Config)
	if err != nil {
		return nil, err
	}
	rdb, err := redisclient.Open(o.Config)
	if err != nil {
		pool.Close()
		return nil, err
	}
	rt := &Runtime{cfg: o.Config, plan: o.Plan, log: log, reg: &registry{}, pool: pool, rdb: rdb}
	var freezeErr error
	opts := []fx.Option{
		fx.WithLogger(func() fxevent.Logger { return newFxLogger(log) }),
		fx.StopTimeout(o.Config.ShutdownTimeout),
		fx.StartTimeout(time.Minute),
		fx.Supply(o.Config, o.Plan, log, pool, fx.Annotate(rdb, fx.As(new(redis.UniversalClient)))),
		fx.Supply(events.Outbox{}),
		fx.Provide(
			func() *asynq.Client { return asynq.NewClientFromRedisClient(rdb) },
			metrics.New,
			func(cfg *config.Config, log *zap.Logger) (mail.Sender, error) {
				return mail.New(cfg, log.Named("mail"))
			},
		),
	}
	for _, m := range o.Plan.Enabled {
		opts = append(opts, moduleOptions(m, o.Plan, rt.reg, log))
	}
	opts = append(opts, fx.Invoke(func() error {
		freezeErr = rt.reg.freeze()
		return freezeErr
	}))
	if o.Role.Has(RoleWorker) {
		opts = append(opts, fx.Invoke(rt.wireWorker))
	}
	if o.Role.Has(RoleAPI) {
		opts = append(opts, fx.Invoke(rt.wireHTTP))
	}
	opts = append(opts, o.Extra...)
	rt.fx = fx.New(opts...)
	if freezeErr != nil {
		rt.close()
		return nil, freezeErr
	}
	if err := rt.fx.Err(); err != nil {
		rt.close()
		return nil, fmt.Errorf("assemble modules: %w", err)
	}
	return rt, nil
}

// moduleOptions wraps a module's options with what is its own: its
// registrar, publisher, logger and settings, private to its scope.
func moduleOptions(m Module, p *Plan, reg *registry, log *zap.Logger) fx.Option {
	own := []fx.Option{
		fx.Supply(fx.Private, &Registrar{module: m.Name, reg: reg}),
		fx.Supply(fx.Private, events.NewPublisher(m.Name)),
		fx.Supply(fx.Private, log.Named(m.Name).With(zap.String("module", m.Name))),
	}
	if s, ok := p.Settings[m.Name]; ok {
		own = append(own, fx.Supply(fx.Private, s))
	}
	if m.Options != nil {
		own = append(own, m.Options)
	}
	return fx.Module(m.Name, own...)
}

// Contributions returns what the enabled modules registered.
func (r *Runtime) Contributions() Contributions { return r.reg.contributions() }

// Plan returns the plan the runtime was built from.
func (r *Runtime) Plan() *Plan { return r.plan }

// DB returns the process's pool.
func (r *Runtime) DB() *sqlx.DB { return r.pool }

// Redis returns the process's Redis client.
func (r *Runtime) Redis() redis.UniversalClient { return r.rdb }

// MigrationSources lists the platform's and the enabled modules'
// migrations, in the order they are applied.
func (r *Runtime) MigrationSources() []migrate.Source {
	return MigrationSources(r.plan)
}

// MigrationSources lists the platform's migrations and those of the plan's
// enabled modules, in dependency order.
func MigrationSources(p *Plan) []migrate.Source {
	out := []migrate.Source{{Module: PlatformModule, FS: migrations.FS}}
	for _, m := range p.Enabled {
		if src := ModuleSource(m); src.FS != nil {
			out = append(out, src)
		}
	}
	return out
}

// Start applies pending migrations when MIGRATE_ON_START is true, then starts
// the modules, the worker and the HTTP server, in that order.
func (r *Runtime) Start(ctx context.Context) error {
	if r.cfg.MigrateOnStart {
		if err := r.pool.PingContext(ctx); err != nil {
			return fmt.Errorf("database at %s does not answer: %w", db.Redact(r.cfg.DatabaseURL), err)
		}
		if err := migrate.NewRunner(r.pool, r.log.Named("migrate")).Up(ctx, r.MigrationSources()); err != nil {
			return err
		}
	}
	if err := r.fx.Start(ctx); err != nil {
		return err
	}
	r.started = true
	return nil
}

// Stop stops everything in reverse order within SHUTDOWN_TIMEOUT, draining
// in-flight requests and tasks, then closes the pools.
func (r *Runtime) Stop(ctx context.Context) error {
	var err error
	if r.started {
		err = r.fx.Stop(ctx)
	}
	r.close()
	return err
}

// Done is closed when the process receives SIGINT or SIGTERM.
func (r *Runtime) Done() <-chan fx.ShutdownSignal { return r.fx.Wait() }

// Addr is the address the HTTP server listens on, once started.
func (r *Runtime) Addr() string {
	r.addrMu.Lock()
	defer r.addrMu.Unlock()
	if r.addr == nil {
		return ""
	}
	return r.addr.String()
}

func (r *Runtime) close() {
	r.pool.Close()
	r.rdb.Close()
}

// publicEventTypes lists the events declared by the enabled modules.
func publicEventTypes(p *Plan) []string {
	var out []string
	for _, m := range p.Enabled {
		for _, e := range m.Events {
			out = append(out, e.Type)
		}
	}
	sort.Strings(out)
	return out
}

// shareOf splits the stop timeout between the HTTP drain and the worker drain,
// which run one after the other, leaving room for the rest.
func shareOf(total time.Duration) time.Duration {
	return total * 2 / 5
}

func moduleList(p *Plan) string { return strings.Join(p.Names(), ",") }

// RunUntilSignal starts r, waits for SIGINT/SIGTERM and stops it.
func (r *Runtime) RunUntilSignal(ctx context.Context) error {
	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err := r.Start(startCtx)
	cancel()
	if err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), r.cfg.ShutdownTimeout)
		defer cancel()
		_ = r.Stop(stopCtx)
		return err
	}
	r.log.Info("started", zap.String("modules", moduleList(r.plan)), zap.String("addr", r.Addr()))
	select {
	case sig := <-r.Done():
		r.log.Info("stopping", zap.String("signal", sig.Signal.String()))
	case <-ctx.Done():
		r.log.Info("stopping", zap.Error(ctx.Err()))
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), r.cfg.ShutdownTimeout)
	defer cancel()
	return r.Stop(stopCtx)
}
