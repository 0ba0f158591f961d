package app_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/jobs"
	"github.com/veza/veza/platform/storage"
)

// handles are what a test module's Register was given: the module's own
// enqueuer, publisher and file store.
type handles struct {
	enq   *jobs.Enqueuer
	pub   *events.Publisher
	store storage.Store
}

// handleModule is a test module keeping its handles in h and handling its
// job "<name>:work", so that a worker has something to run.
func handleModule(name string, h *handles, evs ...app.EventType) app.Module {
	return app.Module{
		Name:        name,
		Description: "test: hands out its handles",
		Events:      evs,
		Register: func(r *app.Registrar, e *jobs.Enqueuer, p *events.Publisher, st storage.Store) {
			h.enq, h.pub, h.store = e, p, st
			r.Job(name+":work", func(context.Context, *asynq.Task) error { return nil })
		},
	}
}

func inspector(t *testing.T, srv *apptest.Server) *asynq.Inspector {
	t.Helper()
	in := asynq.NewInspector(asynq.RedisClientOpt{Addr: srv.Redis.Addr()})
	t.Cleanup(func() { _ = in.Close() })
	return in
}

// queueSizes maps every queue Redis knows to its task count.
func queueSizes(t *testing.T, in *asynq.Inspector) map[string]int {
	t.Helper()
	names, err := in.Queues()
	if err != nil {
		t.Fatalf("list queues: %v", err)
	}
	out := map[string]int{}
	for _, q := range names {
		info, err := in.GetQueueInfo(q)
		if err != nil {
			t.Fatalf("queue %s: %v", q, err)
		}
		if info.Size > 0 {
			out[q] = info.Size
		}
	}
	return out
}

func outboxRows(t *testing.T, srv *apptest.Server, typ string) int {
	t.Helper()
	return count(t, srv, `SELECT count(*) FROM outbox WHERE type = $1`, typ)
}

// wantRefusal fails unless err is non-nil and mentions every one of words.
func wantRefusal(t *testing.T, what string, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: accepted, want an error", what)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not mention %q", what, err, w)
		}
	}
}

// A module's enqueuer queues only the module's own job types, on its own
// queue, and refuses a second task with a TaskID still queued.
func TestEnqueuerOwnJobsOnly(t *testing.T) {
	var alpha, beta handles
	// API only: no worker consumes the queues, so the tasks stay to be seen.
	srv := apptest.Start(t, apptest.Options{Role: app.RoleAPI,
		Modules: []app.Module{handleModule("alpha", &alpha), handleModule("beta", &beta)}})
	ctx := context.Background()
	in := inspector(t, srv)

	wantRefusal(t, "Enqueue of another module's job", alpha.enq.Enqueue(ctx, "beta:work", 1, nil), "beta:work", "alpha")
	err := db.WithTx(ctx, srv.Runtime.DB(), func(tx *sqlx.Tx) error {
		return alpha.enq.EnqueueTx(ctx, tx, "beta:work", 1, nil)
	})
	wantRefusal(t, "EnqueueTx of another module's job", err, "beta:work", "alpha")
	if n := outboxRows(t, srv, "beta:work"); n != 0 {
		t.Errorf("the refused EnqueueTx wrote %d outbox rows", n)
	}
	if got := queueSizes(t, in); len(got) != 0 {
		t.Fatalf("refused tasks reached Redis: %v", got)
	}

	if err := alpha.enq.Enqueue(ctx, "alpha:work", 1, map[string]int{"n": 1},
		jobs.TaskID("once"), jobs.MaxRetry(2), jobs.Timeout(time.Minute)); err != nil {
		t.Fatalf("Enqueue of its own job: %v", err)
	}
	info, err := in.GetTaskInfo("alpha", "once")
	if err != nil {
		t.Fatalf("the task is not on queue alpha: %v", err)
	}
	if info.Type != "alpha:work" || info.MaxRetry != 2 || info.Timeout != time.Minute {
		t.Errorf("task %+v: want type alpha:work, MaxRetry 2, Timeout 1m", info)
	}
	err = alpha.enq.Enqueue(ctx, "alpha:work", 1, nil, jobs.TaskID("once"))
	if !errors.Is(err, jobs.ErrDuplicate) {
		t.Errorf("second task with TaskID once: %v, want jobs.ErrDuplicate", err)
	}
	if got := queueSizes(t, in); len(got) != 1 || got["alpha"] != 1 {
		t.Errorf("queues hold %v, want one task on alpha", got)
	}
}

// A job written with EnqueueTx reaches the module's queue through the
// outbox once the transaction commits, with its options.
func TestEnqueueTxThroughOutbox(t *testing.T) {
	var alpha handles
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{handleModule("alpha", &alpha)}})
	ctx := context.Background()
	at := time.Now().Add(time.Hour).Truncate(time.Second)
	err := db.WithTx(ctx, srv.Runtime.DB(), func(tx *sqlx.Tx) error {
		// Delayed, so that the worker leaves it where the test can see it.
		return alpha.enq.EnqueueTx(ctx, tx, "alpha:work", 1, nil, jobs.TaskID("later"), jobs.ProcessAt(at))
	})
	if err != nil {
		t.Fatalf("EnqueueTx: %v", err)
	}
	srv.WaitOutbox(t, 10*time.Second)
	info, err := inspector(t, srv).GetTaskInfo("alpha", "later")
	if err != nil {
		t.Fatalf("the task is not on queue alpha: %v", err)
	}
	if info.State != asynq.TaskStateScheduled || !info.NextProcessAt.Equal(at) {
		t.Errorf("task state %v at %v, want scheduled at %v", info.State, info.NextProcessAt, at)
	}
}

// A module's publisher writes only the events the module declares.
func TestPublisherDeclaredEventsOnly(t *testing.T) {
	var alpha, beta handles
	srv := apptest.Start(t, apptest.Options{Role: app.RoleAPI, Modules: []app.Module{
		handleModule("alpha", &alpha, app.EventType{Type: "alpha.done", Description: "d", Example: map[string]any{}}),
		handleModule("beta", &beta, app.EventType{Type: "beta.done", Description: "d", Example: map[string]any{}}),
	}})
	ctx := context.Background()
	pool := srv.Runtime.DB()
	for _, typ := range []string{"alpha.undeclared", "beta.done"} {
		_, err := alpha.pub.Publish(ctx, pool, typ, map[string]string{})
		wantRefusal(t, "publishing "+typ, err, "alpha", typ, "does not declare")
		if n := outboxRows(t, srv, typ); n != 0 {
			t.Errorf("the refused %s wrote %d outbox rows", typ, n)
		}
	}
	id, err := alpha.pub.Publish(ctx, pool, "alpha.done", map[string]string{"k": "v"})
	if err != nil {
		t.Fatalf("publishing a declared event: %v", err)
	}
	var module string
	if err := pool.Get(&module, `SELECT module FROM outbox WHERE id = $1 AND type = 'alpha.done'`, id); err != nil || module != "alpha" {
		t.Fatalf("outbox row of %s: module %q, %v", id, module, err)
	}
}

// deliveries records the event types a subscriber received.
type deliveries struct {
	mu    sync.Mutex
	types []string
}

func (d *deliveries) handle(_ context.Context, ev events.Event) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.types = append(d.types, ev.Type)
	return nil
}

func (d *deliveries) got() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := slices.Clone(d.types)
	slices.Sort(out)
	return out
}

// An Internal event reaches the modules that subscribe to it by name, and
// not the wildcard subscribers, which get the public events only.
func TestInternalEventsSkipWildcard(t *testing.T) {
	var alpha handles
	wild, named := &deliveries{}, &deliveries{}
	publisher := handleModule("alpha", &alpha,
		app.EventType{Type: "alpha.done", Description: "public", Example: map[string]any{}},
		app.EventType{Type: "alpha.inside", Description: "internal", Example: map[string]any{}, Internal: true})
	listeners := app.Module{Name: "listen", Description: "test: subscribers", Register: func(r *app.Registrar) {
		r.Subscribe(events.Wildcard, wild.handle)
	}}
	byName := app.Module{Name: "byname", Description: "test: subscribers", Register: func(r *app.Registrar) {
		r.Subscribe("alpha.inside", named.handle)
		r.Subscribe("alpha.done", named.handle)
	}}
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{publisher, listeners, byName}})
	ctx := context.Background()
	for _, typ := range []string{"alpha.inside", "alpha.done"} {
		if _, err := alpha.pub.Publish(ctx, srv.Runtime.DB(), typ, map[string]string{}); err != nil {
			t.Fatalf("publish %s: %v", typ, err)
		}
	}
	apptest.Eventually(t, 10*time.Second, "both events delivered by name", func() bool { return len(named.got()) == 2 })
	apptest.Eventually(t, 10*time.Second, "the public event delivered to the wildcard", func() bool { return len(wild.got()) > 0 })
	time.Sleep(300 * time.Millisecond) // an internal event wrongly routed would follow at once
	if got := wild.got(); !slices.Equal(got, []string{"alpha.done"}) {
		t.Errorf("the wildcard subscriber received %v, want [alpha.done]", got)
	}
}

// secret is what the exporter keeps to itself.
type secret struct{ word string }

// Teller is what it offers the modules that require it.
type Teller interface{ Tell() string }

func (s *secret) Tell() string { return s.word }

// exporter Provides *secret privately and Exports it as a Teller.
func exporter() app.Module {
	return app.Module{
		Name:        "exporter",
		Description: "test: provides and exports",
		Provides:    []any{func() *secret { return &secret{word: "hello"} }},
		Exports:     []any{func(s *secret) Teller { return s }},
	}
}

// A module reaches what a required module Exports and nothing it only
// Provides.
func TestProvidesArePrivate(t *testing.T) {
	reaching := app.Module{Name: "reaching", Description: "test: asks for a private type", Requires: []string{"exporter"},
		Register: func(*secret) {}}
	_, err := apptest.TryStart(t, apptest.Options{Role: app.RoleAPI, Modules: []app.Module{exporter(), reaching}})
	wantRefusal(t, "asking for another module's private type", err, "missing type", "secret")

	var told string
	polite := app.Module{Name: "polite", Description: "test: asks for the export", Requires: []string{"exporter"},
		Register: func(t Teller) { told = t.Tell() }}
	apptest.Start(t, apptest.Options{Role: app.RoleAPI, Modules: []app.Module{exporter(), polite}})
	if told != "hello" {
		t.Fatalf("the exported Teller told %q, want hello", told)
	}
}

// Exports must be interfaces: a concrete type would hand the exporter's
// internals to every module that requires it.
func TestExportsMustBeInterfaces(t *testing.T) {
	m := exporter()
	m.Exports = []any{func() *secret { return &secret{} }}
	_, err := apptest.TryStart(t, apptest.Options{Role: app.RoleAPI, NoStart: true, Modules: []app.Module{m}})
	wantRefusal(t, "exporting a concrete type", err, "module exporter", "secret", "not an interface")
}

// Each module's file store lives under "<module>/" of UPLOAD_DIR, and no
// module reaches another's files.
func TestStorageScopedPerModule(t *testing.T) {
	var alpha, beta handles
	dir := t.TempDir()
	apptest.Start(t, apptest.Options{Role: app.RoleAPI, Env: map[string]string{"UPLOAD_DIR": dir},
		Modules: []app.Module{handleModule("alpha", &alpha), handleModule("beta", &beta)}})
	ctx := context.Background()
	put(t, alpha.store, "docs/a.txt", "from alpha")
	if b, err := os.ReadFile(filepath.Join(dir, "alpha", "docs", "a.txt")); err != nil || string(b) != "from alpha" {
		t.Fatalf("alpha's file on disk: %q, %v; want it under alpha/", b, err)
	}
	if _, err := beta.store.Stat(ctx, "docs/a.txt"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("beta sees alpha's key: %v", err)
	}
	if _, err := beta.store.Open(ctx, "../alpha/docs/a.txt"); !errors.Is(err, storage.ErrInvalidKey) {
		t.Errorf("beta opens ../alpha/docs/a.txt: %v, want ErrInvalidKey", err)
	}
	put(t, beta.store, "docs/a.txt", "from beta")
	if err := beta.store.Delete(ctx, "docs/a.txt"); err != nil {
		t.Fatal(err)
	}
	if got := read(t, alpha.store, "docs/a.txt"); got != "from alpha" {
		t.Errorf("alpha's file after beta wrote and deleted the same key: %q", got)
	}
}

func put(t *testing.T, st storage.Store, key, body string) {
	t.Helper()
	o, err := st.Put(context.Background(), key, strings.NewReader(body), int64(len(body)), "text/plain")
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	if o.Key != key {
		t.Errorf("put %s reported key %q: keys are relative to the module", key, o.Key)
	}
}

func read(t *testing.T, st storage.Store, key string) string {
	t.Helper()
	r, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("open %s: %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return string(b)
}
