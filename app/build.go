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
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/buildinfo"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/jobs"
	vlog "github.com/veza/veza/platform/log"
	"github.com/veza/veza/platform/mail"
	"github.com/veza/veza/platform/metrics"
	"github.com/veza/veza/platform/migrate"
	"github.com/veza/veza/platform/redisclient"
	"github.com/veza/veza/platform/storage"
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
	role    Role
	client  *asynq.Client
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
	loops   *loopGroup
	// metricsAddr is METRICS_ADDR's listener once started.
	metricsAddr string
	// files is the platform's file store once a module asked for it; nil
	// when no enabled module stores files, so nothing is swept.
	files storage.Store
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
	rt := &Runtime{role: o.Role, cfg: o.Config, plan: o.Plan, log: log, reg: &registry{}, pool: pool, rdb: rdb,
		client: asynq.NewClientFromRedisClient(rdb), loops: &loopGroup{}}
	var freezeErr error
	// The root holds what the platform shares: configuration, the plan
	// and what the modules contributed (as data), pools, metrics. The asynq client and the unscoped file store are not in the
	// graph: a module reaches them only through its own enqueuer and store.
	opts := []fx.Option{
		fx.WithLogger(func() fxevent.Logger { return newFxLogger(log) }),
		fx.StopTimeout(o.Config.ShutdownTimeout),
		fx.StartTimeout(time.Minute),
		fx.Supply(o.Config, o.Plan, log, pool, fx.Annotate(rdb, fx.As(new(redis.UniversalClient))), &Inventory{reg: rt.reg}),
		fx.Provide(metrics.New, rt.newRootStore, newMailSender),
	}
	for _, m := range o.Plan.Enabled {
		opts = append(opts, rt.moduleOptions(m))
	}
	opts = append(opts, fx.Invoke(func() error {
		freezeErr = rt.reg.freeze()
		return freezeErr
	}), fx.Invoke(rt.wire))
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

// moduleOptions wraps a module's contributions in an fx module: its own
// registrar, publisher, enqueuer, file store, logger and settings, and what
// it Provides, all private to it; what it Exports is visible to the others.
func (r *Runtime) moduleOptions(m Module) fx.Option {
	name := m.Name
	own := []fx.Option{
		fx.Supply(fx.Private, &Registrar{module: name, reg: r.reg}),
		fx.Supply(fx.Private, events.NewPublisher(name, m.eventNames()...)),
		fx.Supply(fx.Private, jobs.NewEnqueuer(name, r.client)),
		fx.Supply(fx.Private, r.log.Named(name).With(zap.String("module", name))),
		fx.Provide(fx.Private, func(root rootStore) storage.Store { return storage.Scoped(root.Store, name) }),
	}
	if s, ok := r.plan.Settings[name]; ok {
		own = append(own, fx.Supply(fx.Private, s))
	}
	if len(m.Provides) > 0 {
		own = append(own, fx.Provide(append([]any{fx.Private}, m.Provides...)...))
	}
	if len(m.Exports) > 0 {
		own = append(own, fx.Provide(m.Exports...))
	}
	if m.Register != nil {
		own = append(own, fx.Invoke(m.Register))
	}
	return fx.Module(name, own...)
}

// rootStore is the platform's file store (STORAGE_BACKEND). Its type is
// unexported so that no module can ask for it: each gets its own scoped
// view, whose keys live under "<module>/".
type rootStore struct{ storage.Store }

func (r *Runtime) newRootStore(cfg *config.Config) (rootStore, error) {
	st, err := storage.New(storage.Config{
		Driver: cfg.StorageBackend,
		Local:  storage.LocalConfig{Dir: cfg.UploadDir, StaleTmpAge: cfg.StorageTmpMaxAge},
		S3: storage.S3Config{Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket, Region: cfg.S3Region, AccessKey: cfg.S3AccessKey,
			SecretKey: cfg.S3SecretKey, UseSSL: cfg.S3UseSSL, PathStyle: cfg.S3PathStyle, CreateBucket: true},
	})
	if err != nil {
		return rootStore{}, fmt.Errorf("file storage (STORAGE_BACKEND=%s): %w", cfg.StorageBackend, err)
	}
	r.files = st
	return rootStore{st}, nil
}

// newMailSender is the platform's outgoing mail (MAIL_DRIVER), shared by
// every module: it is in the graph as mail.Sender.
func newMailSender(cfg *config.Config, log *zap.Logger) (mail.Sender, error) {
	return mail.New(cfg, log.Named("mail"))
}

// wireDeps are what wiring a process needs from the graph.
type wireDeps struct {
	fx.In
	LC      fx.Lifecycle
	Metrics *metrics.Metrics
	Auth    authn.Authenticator `optional:"true"`
}

// wire appends the process's lifecycle hooks in start order: background
// loops (the platform's, then the modules' in dependency order), the job
// worker, the HTTP server. fx stops them in reverse: the server drains
// first, loops stop last.
func (r *Runtime) wire(d wireDeps) error {
	contrib := r.reg.contributions()
	subs, err := Subscriptions(r.plan, contrib)
	if err != nil {
		return err
	}
	r.watchState(d.Metrics)
	r.wireMetricsServer(d.LC, d.Metrics)
	loops := append(r.platformLoops(d.Metrics, subs), contrib.Backgrounds...)
	checks := r.wireLoops(d.LC, d.Metrics, loops)
	if r.role.Has(RoleWorker) {
		if err := r.wireWorker(d, subs); err != nil {
			return err
		}
	}
	if r.role.Has(RoleAPI) {
		return r.wireHTTP(d, checks)
	}
	return nil
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

// Stop stops everything in reverse order within ctx (SHUTDOWN_TIMEOUT in
// serve and worker), draining in-flight requests and tasks, then closes the
// pools. Its error names the background loops that did not stop in time.
func (r *Runtime) Stop(ctx context.Context) error {
	var err error
	if r.started {
		err = r.fx.Stop(ctx)
		// The loops' hook may not have run (fx skips the hooks left once
		// ctx has ended) or may have lost its error to fx's: stopping them
		// here again cancels any left and returns what the hook found.
		err = errors.Join(r.loops.stop(ctx), err)
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

// publicEventTypes lists the public (not Internal) events declared by the
// enabled modules: what wildcard subscribers receive.
func publicEventTypes(p *Plan) []string {
	var out []string
	for _, m := range p.Enabled {
		out = append(out, m.publicEvents()...)
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
	r.log.Info("started", zap.String("version", buildinfo.String()), zap.String("modules", moduleList(r.plan)), zap.String("addr", r.Addr()))
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
