package app_test

import (
	"context"
	"errors"
	"net/http"
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

// runs records when a loop function was entered, and whether its ctx had
// been cancelled when it returned.
type runs struct {
	mu       sync.Mutex
	started  []time.Time
	canceled bool
}

// enter records a start and returns its number, from 1.
func (r *runs) enter() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, time.Now())
	return len(r.started)
}

func (r *runs) starts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.started)
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
