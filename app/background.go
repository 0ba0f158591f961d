package app

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"runtime/debug"
	"sync"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/health"
	"github.com/veza/veza/platform/metrics"
)

// Background is a long-lived loop a module runs under the platform's
// lifecycle.
type Background struct {
	Module string
	Name   string
	Run    func(ctx context.Context) error
	// Roles are the processes that run it; 0 means every serving process
	// (API and worker).
	Roles Role
}

// BackgroundOption adjusts a loop at registration.
type BackgroundOption func(*Background)

// OnlyIn runs the loop only in processes that have one of roles, for
// example RoleAPI for a loop that serves the HTTP side (a cache
// invalidation listener, a queue fed by request handlers).
func OnlyIn(roles Role) BackgroundOption { return func(b *Background) { b.Roles = roles } }

var loopName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`)

// Background runs run for as long as the process serves: started after the
// module's requirements (and their loops), stopped in reverse order within
// SHUTDOWN_TIMEOUT by cancelling ctx, each once the one after it has
// returned. run must return when ctx ends; one that does not is abandoned
// when the timeout runs out, and Runtime.Stop names it. An error or a panic
// is logged, counted (veza_background_loop_failures_total) and the loop
// restarted with a growing delay (100ms doubling to 30s, each wait jittered
// down to no less than half); while it is down, and until it has run for a
// second, /readyz fails naming "<module>.<name>". Returning nil ends the
// loop for good, and it no longer counts for readiness. This is the only way
// a module runs goroutines that outlive a request or a job.
func (r *Registrar) Background(name string, run func(ctx context.Context) error, opts ...BackgroundOption) {
	b := Background{Module: r.module, Name: name, Run: run}
	for _, o := range opts {
		o(&b)
	}
	r.reg.add(func(c *Contributions) error {
		if !loopName.MatchString(name) {
			return fmt.Errorf("module %s: background loop name %q must be lower-case letters, digits, _ and -", r.module, name)
		}
		if run == nil {
			return fmt.Errorf("module %s: background loop %s has no function", r.module, name)
		}
		for _, prev := range c.Backgrounds {
			if prev.Module == r.module && prev.Name == name {
				return fmt.Errorf("module %s registers the background loop %s twice", r.module, name)
			}
		}
		c.Backgrounds = append(c.Backgrounds, b)
		return nil
	})
}

// Backoff of a failing loop: the first restart after loopBackoffMin, each
// next one twice as late up to loopBackoffMax. A loop that ran for
// loopSettle since its last restart counts as up again.
const (
	loopBackoffMin = 100 * time.Millisecond
	loopBackoffMax = 30 * time.Second
	loopSettle     = time.Second
)

// loop supervises one Background.
type loop struct {
	b       Background
	log     *zap.Logger
	metrics *metrics.Metrics

	mu       sync.Mutex
	running  bool
	since    time.Time // start of the current run
	lastErr  error     // the last failure, nil if it never failed
	cancel   context.CancelFunc
	finished chan struct{}
}

func newLoop(b Background, log *zap.Logger, m *metrics.Metrics) *loop {
	return &loop{b: b, metrics: m, finished: make(chan struct{}),
		log: log.With(zap.String("module", b.Module), zap.String("loop", b.Name))}
}

func (l *loop) name() string { return l.b.Module + "." + l.b.Name }

func (l *loop) start() {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.supervise(ctx)
}

// interrupt cancels the loop's ctx, if it was started.
func (l *loop) interrupt() {
	if l.cancel != nil {
		l.cancel()
	}
}

// stop cancels the loop and waits for it until ctx ends.
func (l *loop) stop(ctx context.Context) error {
	if l.cancel == nil {
		return nil // never started
	}
	l.interrupt()
	select {
	case <-l.finished:
		return nil
	case <-ctx.Done():
	}
	select {
	case <-l.finished: // it returned as time ran out
		return nil
	default:
		l.log.Error("background loop did not stop within the shutdown timeout")
		return fmt.Errorf("background loop %s did not stop: %w", l.name(), ctx.Err())
	}
}

func (l *loop) supervise(ctx context.Context) {
	defer close(l.finished)
	backoff := loopBackoffMin
	for {
		l.setRunning(true, nil)
		began := time.Now()
		err := l.runOnce(ctx)
		if ctx.Err() != nil {
			l.setRunning(false, nil)
			return
		}
		if err == nil {
			l.log.Info("background loop finished")
			l.end()
			return
		}
		l.setRunning(false, err)
		if time.Since(began) > loopBackoffMax {
			backoff = loopBackoffMin // it ran well for a while: a fresh failure
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		l.log.Error("background loop failed; restarting", zap.Error(err), zap.Duration("in", wait))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, loopBackoffMax)
	}
}

// runOnce runs the loop, turning a panic into an error.
func (l *loop) runOnce(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return l.b.Run(ctx)
}

func (l *loop) setRunning(running bool, failure error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running = running
	if running {
		l.since = time.Now()
	}
	if failure != nil {
		l.lastErr = failure
		l.metrics.LoopFailures.WithLabelValues(l.b.Module, l.b.Name).Inc()
	}
	up := 0.0
	if running {
		up = 1
	}
	l.metrics.LoopUp.WithLabelValues(l.b.Module, l.b.Name).Set(up)
}

// end records that the loop returned nil: it is done, not down, so an
// earlier failure no longer fails readiness.
func (l *loop) end() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running, l.lastErr = false, nil
	l.metrics.LoopUp.WithLabelValues(l.b.Module, l.b.Name).Set(0)
}

// errLoopDown is what /readyz reports for a loop waiting to be restarted.
var errLoopDown = errors.New("background loop down")

// check is the loop's readiness probe: down while it waits to be restarted
// and until it has run loopSettle since, so a loop failing at once after
// each restart never looks ready.
func (l *loop) check(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastErr == nil || (l.running && time.Since(l.since) >= loopSettle) {
		return nil
	}
	return fmt.Errorf("%w: %v", errLoopDown, l.lastErr)
}

// loopGroup holds the loops of a process: started in order, stopped in
// reverse under one lifecycle hook. One hook rather than one per loop
// because fx, once its stop context has ended, returns a bare deadline
// error and skips the hooks left: the loop that overran would go unnamed
// and the loops registered before it would never be cancelled.
type loopGroup struct {
	loops []*loop
	once  sync.Once
	err   error
}

func (g *loopGroup) start(context.Context) error {
	for _, l := range g.loops {
		l.start()
	}
	return nil
}

// stop stops the loops once; later calls wait for the first and return its
// result.
func (g *loopGroup) stop(ctx context.Context) error {
	g.once.Do(func() { g.err = g.stopAll(ctx) })
	return g.err
}

// stopAll stops the loops in reverse order, each after the one before has
// returned, until nine tenths of the time left are spent. A loop still
// running then is abandoned, and the ones not yet stopped are cancelled
// together and given half of the rest, so that stopAll returns before ctx
// ends with the names of the loops that did not stop.
func (g *loopGroup) stopAll(ctx context.Context) error {
	inOrder, cancel := beforeDeadline(ctx, 10)
	defer cancel()
	var errs []error
	i := len(g.loops) - 1
	for ; i >= 0; i-- {
		if err := g.loops[i].stop(inOrder); err != nil {
			errs = append(errs, err)
			i--
			break
		}
	}
	rest, cancelRest := beforeDeadline(ctx, 20)
	defer cancelRest()
	for j := i; j >= 0; j-- {
		g.loops[j].interrupt()
	}
	for ; i >= 0; i-- {
		if err := g.loops[i].stop(rest); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// beforeDeadline returns ctx ending 1/part of its remaining time early; ctx
// itself when it has no deadline.
func beforeDeadline(ctx context.Context, part int) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, deadline.Add(-time.Until(deadline)/time.Duration(part)))
}

// wireLoops starts the loops that belong in this process, in registration
// order (platform first, then modules in dependency order), and stops them
// in reverse (see loopGroup). It returns their readiness checks.
func (r *Runtime) wireLoops(lc fx.Lifecycle, m *metrics.Metrics, loops []Background) []health.Check {
	var checks []health.Check
	for _, b := range loops {
		roles := b.Roles
		if roles == 0 {
			roles = RoleAPI | RoleWorker
		}
		if r.role&roles == 0 {
			continue
		}
		l := newLoop(b, r.log.Named("background"), m)
		r.loops.loops = append(r.loops.loops, l)
		checks = append(checks, health.Check{Name: l.name(), Module: b.Module, Fn: l.check})
	}
	lc.Append(fx.Hook{
		OnStart: r.loops.start,
		// Runtime.Stop reports the loops' error: fx would lose it (see
		// loopGroup).
		OnStop: func(ctx context.Context) error { _ = r.loops.stop(ctx); return nil },
	})
	return checks
}
