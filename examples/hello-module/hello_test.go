package hello_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"example.com/hello"
	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/app/moduletest"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/jobs"
	"github.com/veza/veza/platform/testkit"
)

// greeting mirrors the JSON of hello.Greeting, decoded independently so the
// test checks the wire format and not the Go type.
type greeting struct {
	ID        uuid.UUID `json:"id"`
	Name      string    `json:"name"`
	Message   string    `json:"message"`
	CreatedAt time.Time `json:"created_at"`
}

// TestModuleContract runs the platform's contract checks: declaration,
// settings defaults, migrations up/down/up, job names, routes mounted only
// while enabled.
func TestModuleContract(t *testing.T) {
	moduletest.Check(t, hello.Module())
}

func TestGreetAndGet(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{hello.Module()}})

	res := srv.Do(t, "POST", "/api/v1/hello", map[string]string{"name": "  Ada  "}).Status(t, http.StatusCreated)
	var created greeting
	res.Data(t, &created)
	if created.ID == uuid.Nil || created.Name != "Ada" || created.Message != "Hello, Ada!" {
		t.Fatalf("created greeting: %+v", created)
	}
	if created.CreatedAt.IsZero() || created.CreatedAt.Location() != time.UTC {
		t.Fatalf("created_at %v: want a UTC time", created.CreatedAt)
	}
	if d := time.Since(created.CreatedAt); d < -time.Minute || d > time.Minute {
		t.Fatalf("created_at %v is not now", created.CreatedAt)
	}

	var got greeting
	srv.Do(t, "GET", "/api/v1/hello/"+created.ID.String(), nil).Status(t, http.StatusOK).Data(t, &got)
	if got.ID != created.ID || got.Name != created.Name || got.Message != created.Message || !got.CreatedAt.Equal(created.CreatedAt) {
		t.Fatalf("GET returned %+v, want %+v", got, created)
	}

	srv.Do(t, "GET", "/api/v1/hello/"+uuid.NewString(), nil).ErrorCode(t, http.StatusNotFound, "not_found")
	srv.Do(t, "GET", "/api/v1/hello/not-a-uuid", nil).ErrorCode(t, http.StatusBadRequest, "invalid_id")

	// The longest accepted name is 100 characters, not bytes.
	long := strings.Repeat("é", hello.MaxNameLength)
	var atLimit greeting
	srv.Do(t, "POST", "/api/v1/hello", map[string]string{"name": long}).Status(t, http.StatusCreated).Data(t, &atLimit)
	if atLimit.Name != long {
		t.Fatalf("a 100-character name came back as %q", atLimit.Name)
	}

	if n := count(t, srv, `SELECT count(*) FROM hello_greetings`); n != 2 {
		t.Fatalf("hello_greetings has %d rows, want 2", n)
	}
	if n := count(t, srv, `SELECT count(*) FROM outbox WHERE type = 'hello.greeted' AND module = 'hello'`); n != 2 {
		t.Fatalf("outbox has %d hello.greeted rows, want one per greeting (2)", n)
	}
}

func TestGreetRefusesBadNames(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{hello.Module()}})

	for _, body := range []any{
		map[string]string{"name": ""},
		map[string]string{"name": "   "},
		map[string]string{},
		map[string]string{"name": strings.Repeat("a", hello.MaxNameLength+1)},
		map[string]string{"name": strings.Repeat("é", hello.MaxNameLength+1)},
	} {
		e := srv.Do(t, "POST", "/api/v1/hello", body).ErrorCode(t, http.StatusUnprocessableEntity, "validation_failed")
		if len(e.Error.Details) != 1 || e.Error.Details[0].Field != "name" || e.Error.Details[0].Message == "" {
			t.Fatalf("body %v: details %+v, want one entry for name", body, e.Error.Details)
		}
	}
	// A name of the wrong type is refused by the platform's strict Bind.
	e := srv.Do(t, "POST", "/api/v1/hello", map[string]int{"name": 7}).ErrorCode(t, http.StatusUnprocessableEntity, "validation_failed")
	if len(e.Error.Details) != 1 || e.Error.Details[0].Field != "name" {
		t.Fatalf("numeric name: details %+v", e.Error.Details)
	}
	srv.Do(t, "POST", "/api/v1/hello", []byte(`{"name":`), "Content-Type", "application/json").
		ErrorCode(t, http.StatusBadRequest, "malformed_json")

	if n := count(t, srv, `SELECT count(*) FROM hello_greetings`); n != 0 {
		t.Fatalf("refused requests stored %d greetings", n)
	}
	if n := count(t, srv, `SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("refused requests published %d events", n)
	}
}

func TestSubscriptionRecordsEachEventOnce(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{hello.Module()}})

	var g greeting
	srv.Do(t, "POST", "/api/v1/hello", map[string]string{"name": "Grace"}).Status(t, http.StatusCreated).Data(t, &g)

	// The event the service wrote to the outbox in its transaction.
	var ev struct {
		ID      uuid.UUID       `db:"id"`
		Payload json.RawMessage `db:"payload"`
	}
	if err := srv.Runtime.DB().Get(&ev, `SELECT id, payload FROM outbox WHERE type = 'hello.greeted'`); err != nil {
		t.Fatalf("read the outbox: %v", err)
	}
	var p map[string]string
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		t.Fatalf("payload %s: %v", ev.Payload, err)
	}
	want := map[string]string{"greeting_id": g.ID.String(), "name": "Grace", "message": "Hello, Grace!"}
	if len(p) != len(want) || p["greeting_id"] != want["greeting_id"] || p["name"] != want["name"] || p["message"] != want["message"] {
		t.Fatalf("payload %v, want %v", p, want)
	}

	// The relay hands it to the worker, which runs the subscription.
	apptest.Eventually(t, 15*time.Second, "the delivery of hello.greeted", func() bool {
		return count(t, srv, `SELECT count(*) FROM hello_deliveries`) > 0
	})
	var d struct {
		EventID    uuid.UUID `db:"event_id"`
		GreetingID uuid.UUID `db:"greeting_id"`
	}
	if err := srv.Runtime.DB().Get(&d, `SELECT event_id, greeting_id FROM hello_deliveries`); err != nil {
		t.Fatalf("read hello_deliveries (want exactly one row): %v", err)
	}
	if d.EventID != ev.ID || d.GreetingID != g.ID {
		t.Fatalf("delivery %+v, want event %s about greeting %s", d, ev.ID, g.ID)
	}

	// A redelivery of the same event (asynq delivers at least once) is
	// recorded once.
	handler := subscription(t, srv, hello.EventGreeted)
	redelivered := events.Event{ID: ev.ID, Type: hello.EventGreeted, Module: "hello", Payload: ev.Payload}
	for range 2 {
		if err := handler(context.Background(), redelivered); err != nil {
			t.Fatalf("redelivery: %v", err)
		}
	}
	if n := count(t, srv, `SELECT count(*) FROM hello_deliveries`); n != 1 {
		t.Fatalf("hello_deliveries has %d rows after redeliveries, want 1", n)
	}

	// A payload no retry can fix is not retried.
	broken := events.Event{ID: uuid.New(), Type: hello.EventGreeted, Payload: json.RawMessage(`"nope"`)}
	if err := handler(context.Background(), broken); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("broken payload: error %v, want one wrapping asynq.SkipRetry", err)
	}
}

// popularList mirrors the JSON of GET /api/v1/hello/popular.
type popularList struct {
	Names []struct {
		Name      string `json:"name"`
		Greetings int    `json:"greetings"`
	} `json:"names"`
	RefreshedAt *time.Time `json:"refreshed_at"`
}

func (l popularList) String() string {
	var parts []string
	for _, n := range l.Names {
		parts = append(parts, n.Name+"="+strconv.Itoa(n.Greetings))
	}
	return strings.Join(parts, " ")
}

// Every greeting enqueues hello:tally in its transaction; the worker counts
// it; the background loop reads the counts again every refresh_every, and
// GET /hello/popular serves them.
func TestTallyAndPopular(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{hello.Module()},
		Env: map[string]string{"VEZA_HELLO_REFRESH_EVERY": "100ms"}})

	var before popularList
	srv.Do(t, "GET", "/api/v1/hello/popular", nil).Status(t, http.StatusOK).Data(t, &before)
	if len(before.Names) != 0 {
		t.Fatalf("popular names before any greeting: %v", before)
	}
	for _, name := range []string{"Ada", "Grace", "Ada", "Linus", "Ada", "Grace"} {
		srv.Do(t, "POST", "/api/v1/hello", map[string]string{"name": name}).Status(t, http.StatusCreated)
	}
	// One job per greeting, written to the outbox beside the greeting.
	if n := count(t, srv, `SELECT count(*) FROM outbox WHERE kind = 'job' AND type = 'hello:tally' AND module = 'hello'`); n != 6 {
		t.Fatalf("outbox has %d hello:tally jobs, want one per greeting (6)", n)
	}

	var got popularList
	apptest.Eventually(t, 15*time.Second, "the tallies reaching GET /hello/popular", func() bool {
		srv.Do(t, "GET", "/api/v1/hello/popular", nil).Status(t, http.StatusOK).Data(t, &got)
		return got.String() == "Ada=3 Grace=2 Linus=1"
	})
	if got.RefreshedAt == nil || time.Since(*got.RefreshedAt) > time.Minute {
		t.Fatalf("refreshed_at %v: want the time of a recent refresh", got.RefreshedAt)
	}

	// The loop is the platform's to run: API processes only, and on /readyz.
	if !slices.ContainsFunc(srv.Runtime.Contributions().Backgrounds, func(b app.Background) bool {
		return b.Module == "hello" && b.Name == "popular" && b.Roles == app.RoleAPI
	}) {
		t.Fatalf("backgrounds %+v: want hello's popular loop, API processes only", srv.Runtime.Contributions().Backgrounds)
	}
	var ready struct {
		Checks map[string]struct {
			Status string `json:"status"`
		} `json:"checks"`
	}
	srv.Do(t, "GET", "/readyz", nil).Status(t, http.StatusOK).Data(t, &ready)
	if ready.Checks["hello.popular"].Status != "up" {
		t.Fatalf("/readyz checks %+v: want hello.popular up", ready.Checks)
	}
}

// hello:tally recounts, so a redelivered task changes nothing, and a task no
// retry can fix is not retried.
func TestTallyJobIsIdempotent(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{hello.Module()}})
	for range 2 {
		srv.Do(t, "POST", "/api/v1/hello", map[string]string{"name": "Ada"}).Status(t, http.StatusCreated)
	}
	tally := func() int {
		var n int
		err := srv.Runtime.DB().Get(&n, `SELECT coalesce(max(greetings), 0) FROM hello_tally WHERE name = 'Ada'`)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	apptest.Eventually(t, 15*time.Second, "the worker tallying both greetings", func() bool { return tally() == 2 })

	handle := job(t, srv, hello.TallyJob)
	task, err := jobs.NewTask(hello.TallyJob, 1, map[string]string{"name": "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := handle(context.Background(), task); err != nil {
			t.Fatalf("hello:tally again: %v", err)
		}
	}
	if n := tally(); n != 2 {
		t.Fatalf("Ada's tally is %d after redeliveries, want 2", n)
	}
	for _, payload := range []string{`"nope"`, `{"v":1,"data":{}}`} {
		err := handle(context.Background(), asynq.NewTask(hello.TallyJob, []byte(payload)))
		if !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("payload %s: error %v, want one wrapping asynq.SkipRetry", payload, err)
		}
	}
}

func TestTidyJob(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{hello.Module()}})
	c := srv.Runtime.Contributions()
	if !slices.ContainsFunc(c.Schedules, func(s app.Schedule) bool {
		return s.Module == "hello" && s.Spec == "@daily" && s.TaskType == hello.TidyJob
	}) {
		t.Fatalf("schedules %+v: want hello:tidy @daily", c.Schedules)
	}
	tidy := job(t, srv, hello.TidyJob)

	old, recent, edge := uuid.New(), uuid.New(), uuid.New()
	_, err := srv.Runtime.DB().Exec(`
		INSERT INTO hello_deliveries (event_id, greeting_id, received_at) VALUES
			($1, $4, now() - interval '31 days'),
			($2, $4, now() - interval '1 day'),
			($3, $4, now() - interval '29 days 23 hours')`, old, recent, edge, uuid.New())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent: the second run finds nothing to do
		if err := tidy(context.Background(), asynq.NewTask(hello.TidyJob, nil)); err != nil {
			t.Fatalf("hello:tidy: %v", err)
		}
		var left []string
		if err := srv.Runtime.DB().Select(&left, `SELECT event_id::text FROM hello_deliveries ORDER BY event_id`); err != nil {
			t.Fatal(err)
		}
		want := []string{recent.String(), edge.String()}
		slices.Sort(want)
		if !slices.Equal(left, want) {
			t.Fatalf("after hello:tidy the deliveries are %v, want %v (the 31-day-old one gone)", left, want)
		}
	}
}

func TestSettings(t *testing.T) {
	t.Run("environment override", func(t *testing.T) {
		srv := apptest.Start(t, apptest.Options{
			Modules: []app.Module{hello.Module()},
			Env:     map[string]string{"VEZA_HELLO_GREETING": "Bonjour"},
		})
		var g greeting
		srv.Do(t, "POST", "/api/v1/hello", map[string]string{"name": "Ada"}).Status(t, http.StatusCreated).Data(t, &g)
		if g.Message != "Bonjour, Ada!" {
			t.Fatalf("message %q, want the greeting from VEZA_HELLO_GREETING", g.Message)
		}
	})
	t.Run("modules.yaml", func(t *testing.T) {
		srv := apptest.Start(t, apptest.Options{
			Modules:     []app.Module{hello.Module()},
			ModulesYAML: "modules:\n  hello:\n    enabled: true\n    settings:\n      greeting: Hi\n",
		})
		var g greeting
		srv.Do(t, "POST", "/api/v1/hello", map[string]string{"name": "Ada"}).Status(t, http.StatusCreated).Data(t, &g)
		if g.Message != "Hi, Ada!" {
			t.Fatalf("message %q, want the greeting from modules.yaml", g.Message)
		}
	})
	for name, yaml := range map[string]string{
		"empty greeting":    "modules:\n  hello:\n    enabled: true\n    settings:\n      greeting: \"  \"\n",
		"unknown key":       "modules:\n  hello:\n    enabled: true\n    settings:\n      greetings: Hi\n",
		"refresh too often": "modules:\n  hello:\n    enabled: true\n    settings:\n      refresh_every: 10ms\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := apptest.TryStart(t, apptest.Options{Modules: []app.Module{hello.Module()}, ModulesYAML: yaml})
			if err == nil || !strings.Contains(err.Error(), "modules.hello.settings") {
				t.Fatalf("start with %q: error %v, want a refusal naming modules.hello.settings", yaml, err)
			}
		})
	}
}

func TestOpenAPIListsTheRoutes(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{hello.Module()}})
	res := srv.Do(t, "GET", "/openapi.json", nil).Status(t, http.StatusOK)
	var doc struct {
		Paths map[string]map[string]struct {
			Summary     string         `json:"summary"`
			Tags        []string       `json:"tags"`
			RequestBody map[string]any `json:"requestBody"`
			Responses   map[string]any `json:"responses"`
		} `json:"paths"`
	}
	res.JSON(t, &doc)
	post, ok := doc.Paths["/api/v1/hello"]["post"]
	if !ok {
		t.Fatalf("/openapi.json has no POST /api/v1/hello; paths: %s", res.Body)
	}
	if post.Summary != "Greet someone" || !slices.Contains(post.Tags, "hello") || post.RequestBody == nil ||
		post.Responses["201"] == nil || post.Responses["422"] == nil {
		t.Fatalf("POST /api/v1/hello documented as %+v", post)
	}
	get, ok := doc.Paths["/api/v1/hello/{id}"]["get"]
	if !ok || get.Responses["200"] == nil || get.Responses["404"] == nil {
		t.Fatalf("GET /api/v1/hello/{id} documented as %+v (present: %v)", get, ok)
	}
}

// count runs a SELECT count(*) query on the test's database.
func count(t *testing.T, srv *apptest.Server, query string) int {
	t.Helper()
	var n int
	if err := srv.Runtime.DB().Get(&n, query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// subscription returns the module's handler for eventType.
func subscription(t *testing.T, srv *apptest.Server, eventType string) events.Handler {
	t.Helper()
	for _, s := range srv.Runtime.Contributions().Subscriptions {
		if s.Module == "hello" && s.EventType == eventType {
			return s.Handler
		}
	}
	t.Fatalf("hello does not subscribe to %s", eventType)
	return nil
}

// job returns the module's handler for taskType.
func job(t *testing.T, srv *apptest.Server, taskType string) func(context.Context, *asynq.Task) error {
	t.Helper()
	for _, j := range srv.Runtime.Contributions().Jobs {
		if j.Module == "hello" && j.Type == taskType {
			return j.Handler
		}
	}
	t.Fatalf("hello has no job %s", taskType)
	return nil
}

// TestCustomBinary builds cmd/veza (Veza plus this module) and drives it as
// an operator would: list the modules and routes, serve, greet, stop.
func TestCustomBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the custom binary")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "veza")
	build := exec.Command("go", "build", "-o", bin, "./cmd/veza")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/veza: %v\n%s", err, out)
	}

	dsn := testkit.NewDatabase(t)
	rds := testkit.NewRedis(t)
	port := testkit.FreePort(t)
	env := binaryEnv(map[string]string{
		"APP_ENV":      "test",
		"DATABASE_URL": dsn,
		"REDIS_URL":    rds.URL(),
		"APP_HOST":     "127.0.0.1",
		"APP_PORT":     strconv.Itoa(port),
		"LOG_LEVEL":    "info",
	})
	modulesFile := filepath.Join(root, "modules.yaml")
	workDir := t.TempDir() // no config/ folder and no modules.yaml to pick up by accident
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--modules", modulesFile)...)
		cmd.Dir, cmd.Env = workDir, env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("veza %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, stderr.Bytes())
		}
		return out
	}

	// veza modules list --json
	mods := listModules(t, run("modules", "list", "--json"))
	h, ok := mods["hello"]
	if !ok {
		t.Fatalf("modules list has no hello: %v", mods)
	}
	if !h.Enabled || h.LatestMigration != 2 || h.Dirty {
		t.Fatalf("hello listed as %+v: want enabled, latest migration 2, clean", h)
	}
	if !slices.Equal(h.Routes, []string{"POST /api/v1/hello", "GET /api/v1/hello/popular", "GET /api/v1/hello/:id"}) ||
		!slices.Equal(h.Jobs, []string{"hello:tally", "hello:tidy"}) ||
		!slices.Equal(h.Schedules, []string{"@daily hello:tidy"}) ||
		!slices.Equal(h.Subscriptions, []string{"hello.greeted"}) ||
		len(h.Events) != 1 || h.Events[0].Type != "hello.greeted" {
		t.Fatalf("hello's contributions as listed: %+v", h)
	}
	for name, m := range mods {
		if name != "hello" && m.Enabled {
			t.Errorf("module %s is enabled, but the example's modules.yaml enables hello only", name)
		}
	}

	// veza routes --json
	var routes []struct {
		Method, Path, Module string
	}
	if err := json.Unmarshal(run("routes", "--json"), &routes); err != nil {
		t.Fatalf("routes --json: %v", err)
	}
	for _, want := range []string{"POST /api/v1/hello", "GET /api/v1/hello/popular", "GET /api/v1/hello/:id"} {
		if !slices.ContainsFunc(routes, func(r struct{ Method, Path, Module string }) bool {
			return r.Method+" "+r.Path == want && r.Module == "hello"
		}) {
			t.Fatalf("routes --json lacks %s (module hello): %+v", want, routes)
		}
	}

	// veza serve --with-worker: migrations run at start (MIGRATE_ON_START
	// defaults to true), the API answers, the worker delivers the event.
	serve := exec.Command(bin, "serve", "--with-worker", "--modules", modulesFile)
	serve.Dir, serve.Env = workDir, env
	var logs lockedBuffer
	serve.Stdout, serve.Stderr = &logs, &logs
	if err := serve.Start(); err != nil {
		t.Fatalf("start veza serve: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = serve.Process.Kill()
			<-exited
		}
	})

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("veza serve exited before it was ready (%v):\n%s", err, logs.String())
		default:
		}
		if res, err := client.Get(base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not answer 200 within 60s:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	res, err := client.Post(base+"/api/v1/hello", "application/json", strings.NewReader(`{"name":"Ada"}`))
	if err != nil {
		t.Fatalf("POST /api/v1/hello: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var created struct {
		Success bool     `json:"success"`
		Data    greeting `json:"data"`
	}
	if res.StatusCode != http.StatusCreated || json.Unmarshal(body, &created) != nil || !created.Success ||
		created.Data.Message != "Welcome, Ada!" {
		t.Fatalf("POST /api/v1/hello: %d %s; want 201 with the greeting of the example's modules.yaml", res.StatusCode, body)
	}

	pool, err := sqlx.Connect("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	apptest.Eventually(t, 15*time.Second, "the worker recording the delivery", func() bool {
		var n int
		err := pool.Get(&n, `SELECT count(*) FROM hello_deliveries WHERE greeting_id = $1`, created.Data.ID)
		return err == nil && n == 1
	})

	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("veza serve did not exit cleanly after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("veza serve still runs 30s after SIGTERM:\n%s", logs.String())
	}

	// The schema now stands at hello's latest migration.
	if h := listModules(t, run("modules", "list", "--json"))["hello"]; h.MigrationVersion == nil || *h.MigrationVersion != 2 {
		t.Fatalf("after serve, hello's migration version is %v, want 2", h.MigrationVersion)
	}
}

// listedModule is one entry of `veza modules list --json`.
type listedModule struct {
	Name          string   `json:"name"`
	Enabled       bool     `json:"enabled"`
	Routes        []string `json:"routes"`
	Jobs          []string `json:"jobs"`
	Schedules     []string `json:"schedules"`
	Subscriptions []string `json:"subscriptions"`
	Events        []struct {
		Type string `json:"type"`
	} `json:"events"`
	MigrationVersion *uint `json:"migration_version"`
	LatestMigration  uint  `json:"latest_migration"`
	Dirty            bool  `json:"dirty"`
}

func listModules(t *testing.T, out []byte) map[string]listedModule {
	t.Helper()
	var list []listedModule
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("modules list --json: %v\n%s", err, out)
	}
	byName := map[string]listedModule{}
	for _, m := range list {
		byName[m.Name] = m
	}
	return byName
}

// binaryEnv is this process's environment without anything Veza reads (the
// platform's settings and every VEZA_ variable), plus set: what the child
// runs with cannot depend on the shell the tests were started from.
func binaryEnv(set map[string]string) []string {
	drop := map[string]bool{}
	ct := reflect.TypeFor[config.Config]()
	for i := range ct.NumField() {
		if tag, _, _ := strings.Cut(ct.Field(i).Tag.Get("mapstructure"), ","); tag != "" {
			drop[strings.ToUpper(tag)] = true
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] || strings.HasPrefix(k, "VEZA_") {
			continue
		}
		env = append(env, kv)
	}
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	return env
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
