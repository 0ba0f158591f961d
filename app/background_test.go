package app_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
)

// loopModule is a test module whose Register only registers loops.
func loopModule(name string, requires []string, register func(r *app.Registrar)) app.Module {
	return app.Module{Name: name, Description: "test: background loops", Requires: requires, Register: register}
}

// runs records when a loop function was entered and when it failed, and
// whether its ctx had been cancelled when it returned.
type runs struct {
	mu       sync.Mutex
	started  []time.Time
	failed   []time.Time
	canceled bool
}

// enter records a start and returns its number, from 1.
func (r *runs) enter() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, time.Now())
	return len(r.started)
}

func (r *runs) fail() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, time.Now())
}

func (r *runs) starts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.started)
}

// delays are the waits between each failure and the restart after it.
func (r *runs) delays() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for i, f := range r.failed {
		if i+1 < len(r.started) {
			out = append(out, r.started[i+1].Sub(f))
		}
	}
	return out
}

// until blocks until ctx ends, recording that it did.
func (r *runs) until(ctx context.Context) error {
	<-ctx.Done()
	r.mu.Lock()
	r.canceled = true
	r.mu.Unlock()
	return nil
}

// steady records a start and runs until ctx ends.
func (r *runs) steady(ctx context.Context) error {
	r.enter()
	return r.until(ctx)
}

func (r *runs) wasCanceled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.canceled
}

func get(t *testing.T, srv *apptest.Server, path string) *apptest.Response {
	t.Helper()
	return srv.Do(t, http.MethodGet, path, nil)
}

// metric returns the value of the sample of name whose labels include all
// of labels ("module=\"x\""), read from /metrics.
func metric(t *testing.T, srv *apptest.Server, name string, labels ...string) (float64, bool) {
	t.Helper()
	body := string(get(t, srv, "/metrics").Status(t, http.StatusOK).Body)
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		set, value, ok := strings.Cut(line[len(name):], " ")
		if !ok || !containsAll(set, labels) {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		return v, true
	}
	return 0, false
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// A loop that fails is restarted later each time; /readyz names it while it
// is down and recovers once it runs steadily; a panic is a failure like any
// other; the failures are counted per module and loop.
func TestBackgroundLoopRestarts(t *testing.T) {
	flaky, panicky := &runs{}, &runs{}
	m := loopModule("contract", nil, func(r *app.Registrar) {
		r.Background("flaky", func(ctx context.Context) error {
			if n := flaky.enter(); n <= 3 {
				flaky.fail()
				return fmt.Errorf("failure %d", n)
			}
			return flaky.until(ctx)
		})
		r.Background("panicky", func(ctx context.Context) error {
			if panicky.enter() == 1 {
				panicky.fail()
				panic("loop panic")
			}
			return panicky.until(ctx)
		})
	})
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{m}, Role: app.RoleAPI})

	named := map[string]bool{}
	apptest.Eventually(t, 20*time.Second, "/readyz answering 200 after the restarts", func() bool {
		res := get(t, srv, "/readyz")
		for _, loop := range []string{"contract.flaky", "contract.panicky"} {
			if strings.Contains(string(res.Body), loop) {
				named[loop] = true
			}
		}
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("/readyz: status %d: %s", res.StatusCode, res.Body)
		}
		return res.StatusCode == http.StatusOK
	})
	if !named["contract.flaky"] || !named["contract.panicky"] {
		t.Fatalf("/readyz never named the failing loops while they were down: %v", named)
	}
	if n := flaky.starts(); n != 4 {
		t.Fatalf("flaky loop started %d times, want 4 (three failures, then steady)", n)
	}
	if n := panicky.starts(); n != 2 {
		t.Fatalf("panicking loop started %d times, want 2", n)
	}
	checkBackoff(t, flaky.delays())

	for loop, want := range map[string]float64{"flaky": 3, "panicky": 1} {
		v, ok := metric(t, srv, "veza_background_loop_failures_total", `module="contract"`, `loop="`+loop+`"`)
		if !ok || v != want {
			t.Errorf("veza_background_loop_failures_total for %s: %v (found %v), want %v", loop, v, ok, want)
		}
		if up, _ := metric(t, srv, "veza_background_loop_up", `module="contract"`, `loop="`+loop+`"`); up != 1 {
			t.Errorf("veza_background_loop_up for %s: %v, want 1", loop, up)
		}
	}
}

// checkBackoff asserts the documented schedule: the wait before restart n
// is at least half of 100ms doubled n-1 times, so each wait exceeds the
// one two steps before whatever the jitter.
func checkBackoff(t *testing.T, delays []time.Duration) {
	t.Helper()
	if len(delays) != 3 {
		t.Fatalf("%d restarts after failures, want 3: %v", len(delays), delays)
	}
	for i, d := range delays {
		if floor := (100 * time.Millisecond << i) / 2; d < floor {
			t.Errorf("restart %d came %v after its failure, want at least %v: %v", i+1, d, floor, delays)
		}
	}
	if delays[1] < 100*time.Millisecond || delays[2] <= delays[0] {
		t.Errorf("restart delays do not grow: %v", delays)
	}
}

// Returning nil ends a loop for good, and a loop that ended is not a
// readiness failure, even if it failed before.
func TestBackgroundLoopReturningNilEnds(t *testing.T) {
	once, quitter := &runs{}, &runs{}
	m := loopModule("contract", nil, func(r *app.Registrar) {
		r.Background("once", func(context.Context) error {
			once.enter()
			return nil
		})
		r.Background("quitter", func(context.Context) error {
			if quitter.enter() == 1 {
				return errors.New("first run fails")
			}
			return nil
		})
	})
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{m}, Role: app.RoleAPI})
	apptest.Eventually(t, 5*time.Second, "the quitter restarted once", func() bool { return quitter.starts() == 2 })
	time.Sleep(500 * time.Millisecond) // more than the first backoffs
	if n := once.starts(); n != 1 {
		t.Errorf("a loop returning nil ran %d times, want 1", n)
	}
	if n := quitter.starts(); n != 2 {
		t.Errorf("a loop returning nil after a failure ran %d times, want 2", n)
	}
	apptest.Eventually(t, 5*time.Second, "/readyz answering 200 once the quitter ended", func() bool {
		return get(t, srv, "/readyz").StatusCode == http.StatusOK
	})
}

// OnlyIn restricts a loop to processes of a role; a loop without it runs
// in every process.
func TestBackgroundOnlyIn(t *testing.T) {
	for _, tc := range []struct {
		name        string
		role        app.Role
		api, worker bool
	}{
		{name: "worker", role: app.RoleWorker, worker: true},
		{name: "api", role: app.RoleAPI, api: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api, worker, anyRole := &runs{}, &runs{}, &runs{}
			m := loopModule("contract", nil, func(r *app.Registrar) {
				r.Background("api", api.steady, app.OnlyIn(app.RoleAPI))
				r.Background("worker", worker.steady, app.OnlyIn(app.RoleWorker))
				r.Background("any", anyRole.steady)
			})
			apptest.Start(t, apptest.Options{Modules: []app.Module{m}, Role: tc.role})
			apptest.Eventually(t, 5*time.Second, "the loop without OnlyIn running", func() bool { return anyRole.starts() == 1 })
			time.Sleep(200 * time.Millisecond) // the loops start together; give the others time to show up
			if got := api.starts() == 1; got != tc.api {
				t.Errorf("OnlyIn(RoleAPI) loop ran: %v, want %v", got, tc.api)
			}
			if got := worker.starts() == 1; got != tc.worker {
				t.Errorf("OnlyIn(RoleWorker) loop ran: %v, want %v", got, tc.worker)
			}
		})
	}
}

// stopLog records the order in which loops saw their ctx end.
type stopLog struct {
	mu    sync.Mutex
	names []string
}

// loop runs until ctx ends, then records name after a pause that would let
// a loop stopped at the same time record itself first.
func (s *stopLog) loop(name string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond)
		s.mu.Lock()
		defer s.mu.Unlock()
		s.names = append(s.names, name)
		return nil
	}
}

func (s *stopLog) order() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.names)
}

// Loops stop in the reverse of their start order: a module's after the
// modules that require it, and within a module in reverse registration
// order; each one only once the one before has returned.
func TestBackgroundStopOrder(t *testing.T) {
	log := &stopLog{}
	base := loopModule("base", nil, func(r *app.Registrar) {
		r.Background("first", log.loop("base.first"))
		r.Background("second", log.loop("base.second"))
	})
	top := loopModule("top", []string{"base"}, func(r *app.Registrar) {
		r.Background("only", log.loop("top.only"))
	})
	// Listed the wrong way round: the order comes from Requires.
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{top, base}, Role: app.RoleAPI})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Runtime.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	want := []string{"top.only", "base.second", "base.first"}
	if got := log.order(); !slices.Equal(got, want) {
		t.Fatalf("loops stopped in the order %v, want %v", got, want)
	}
}

// A loop that ignores its ctx cannot hold shutdown past the stop timeout:
// Stop returns an error naming it, and the loops after it are still
// cancelled.
func TestBackgroundStuckLoopDoesNotHangStop(t *testing.T) {
	polite := &runs{}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // lets the deaf loop's goroutine end with the test
	m := loopModule("contract", nil, func(r *app.Registrar) {
		r.Background("polite", polite.steady)
		r.Background("deaf", func(context.Context) error {
			<-release
			return nil
		})
	})
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{m}, Role: app.RoleAPI})
	apptest.Eventually(t, 5*time.Second, "the polite loop running", func() bool { return polite.starts() == 1 })

	const timeout = time.Second
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	began := time.Now()
	err := srv.Runtime.Stop(ctx)
	took := time.Since(began)
	if took > timeout+500*time.Millisecond {
		t.Errorf("Stop took %v with a %v timeout", took, timeout)
	}
	if err == nil || !strings.Contains(err.Error(), "contract.deaf") {
		t.Errorf("Stop returned %v, want an error naming contract.deaf", err)
	}
	if !polite.wasCanceled() {
		t.Error("the loop registered before the stuck one was never cancelled")
	}
}
