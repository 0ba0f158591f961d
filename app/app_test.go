package app_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/test/fixtures"
)

// allButClash enables every fixture except the one that conflicts.
const allButClash = `
modules:
  notes: {enabled: true}
  feed: {enabled: true}
  tap: {enabled: true}
  clash: {enabled: false}
`

func start(t *testing.T, yaml string, env map[string]string) *apptest.Server {
	t.Helper()
	return apptest.Start(t, apptest.Options{Modules: fixtures.Modules(), ModulesYAML: yaml, Env: env})
}

type note struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

func count(t *testing.T, srv *apptest.Server, query string, args ...any) int {
	t.Helper()
	var n int
	if err := srv.Runtime.DB().Get(&n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// A note written through HTTP reaches its two subscribers and its job once
// each, through the outbox.
func TestEventAndJobDeliveredOnce(t *testing.T) {
	srv := start(t, allButClash, nil)
	var n note
	srv.Do(t, "POST", "/api/v1/notes", map[string]string{"text": "hello"}).Status(t, 201).Data(t, &n)
	if n.Text != "hello" || n.ID == "" {
		t.Fatalf("created note = %+v", n)
	}
	srv.Do(t, "GET", "/api/v1/notes/"+n.ID, nil).Status(t, 200)

	apptest.Eventually(t, 10*time.Second, "feed and tap deliveries", func() bool {
		return count(t, srv, `SELECT count(*) FROM feed_deliveries`) == 2 &&
			count(t, srv, `SELECT count(*) FROM notes_index`) == 1
	})
	time.Sleep(1500 * time.Millisecond) // a second relay round must not deliver again
	if got := count(t, srv, `SELECT count(*) FROM feed_deliveries WHERE deliveries = 1 AND type = 'note.created' AND payload->>'id' = $1`, n.ID); got != 2 {
		t.Fatalf("deliveries with count 1 = %d, want 2 (feed and tap)", got)
	}
	if got := count(t, srv, `SELECT runs FROM notes_index WHERE note_id = $1`, n.ID); got != 1 {
		t.Fatalf("notes:index ran %d times, want 1", got)
	}
	if got := count(t, srv, `SELECT count(*) FROM outbox WHERE dispatched_at IS NULL`); got != 0 {
		t.Fatalf("%d outbox rows still pending", got)
	}
}

// Redis down: the write succeeds, /readyz names redis, and once Redis is
// back the event and job arrive exactly once.
func TestOutboxSurvivesRedisOutage(t *testing.T) {
	srv := start(t, allButClash, nil)
	srv.Redis.Stop()
	var n note
	srv.Do(t, "POST", "/api/v1/notes", map[string]string{"text": "during the outage"}).Status(t, 201).Data(t, &n)
	e := srv.Do(t, "GET", "/readyz", nil).ErrorCode(t, 503, "not_ready")
	if len(e.Error.Details) != 1 || e.Error.Details[0].Field != "redis" {
		t.Fatalf("readyz details = %+v, want redis only", e.Error.Details)
	}
	srv.Do(t, "GET", "/health", nil).Status(t, 200)
	time.Sleep(1500 * time.Millisecond) // the relay tries and fails at least once
	if got := count(t, srv, `SELECT count(*) FROM outbox WHERE dispatched_at IS NULL`); got != 2 {
		t.Fatalf("pending outbox rows during the outage = %d, want 2 (event and job)", got)
	}
	if err := srv.Redis.Start(); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 30*time.Second, "delivery after Redis came back", func() bool {
		return count(t, srv, `SELECT count(*) FROM feed_deliveries WHERE payload->>'id' = $1`, n.ID) == 2 &&
			count(t, srv, `SELECT count(*) FROM notes_index WHERE note_id = $1`, n.ID) == 1
	})
	time.Sleep(1500 * time.Millisecond)
	if got := count(t, srv, `SELECT coalesce(sum(deliveries), 0) FROM feed_deliveries WHERE payload->>'id' = $1`, n.ID); got != 2 {
		t.Fatalf("deliveries = %d, want exactly one per subscriber", got)
	}
	srv.Do(t, "GET", "/readyz", nil).Status(t, 200)
}

// A disabled module contributes nothing: no routes, no migrations, its queue
// is not consumed, and it receives no events.
func TestDisabledModuleContributesNothing(t *testing.T) {
	srv := start(t, `
modules:
  notes: {enabled: true}
  feed: {enabled: false}
  tap: {enabled: false}
  clash: {enabled: false}
`, nil)
	if got := count(t, srv, `SELECT count(*) FROM information_schema.tables WHERE table_name IN ('feed_deliveries', 'schema_migrations_feed')`); got != 0 {
		t.Fatalf("feed's tables exist although feed is disabled (%d)", got)
	}
	if got := count(t, srv, `SELECT version FROM schema_migrations_notes`); got != 2 {
		t.Fatalf("notes migrated to %d, want 2", got)
	}
	client := asynq.NewClient(asynq.RedisClientOpt{Addr: srv.Redis.Addr()})
	defer client.Close()
	if _, err := client.Enqueue(asynq.NewTask("feed:rebuild", nil), asynq.Queue("feed")); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Enqueue(asynq.NewTask("notes:index", []byte(`{"v":1,"data":{"id":"`+"00000000-0000-0000-0000-000000000001"+`","text":"x"}}`)), asynq.Queue("notes")); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 10*time.Second, "the enabled module's task handled", func() bool {
		return count(t, srv, `SELECT count(*) FROM notes_index`) == 1
	})
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: srv.Redis.Addr()})
	defer insp.Close()
	info, err := insp.GetQueueInfo("feed")
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != 1 || info.Active != 0 || info.Archived != 0 || info.Retry != 0 {
		t.Fatalf("disabled module's queue was touched: %+v", info)
	}
	srv.Do(t, "POST", "/api/v1/notes", map[string]string{"text": "x"}).Status(t, 201)
	time.Sleep(1500 * time.Millisecond)
	if q, err := insp.GetQueueInfo("feed"); err != nil || q.Size != 1 {
		t.Fatalf("an event was routed to the disabled feed module: %+v %v", q, err)
	}

	off := start(t, `
modules:
  notes: {enabled: false}
  feed: {enabled: false}
  tap: {enabled: false}
  clash: {enabled: false}
`, nil)
	off.Do(t, "GET", "/api/v1/notes/00000000-0000-0000-0000-000000000001", nil).ErrorCode(t, 404, "not_found")
	off.Do(t, "POST", "/api/v1/notes", map[string]string{"text": "x"}).ErrorCode(t, 404, "not_found")
	var doc map[string]any
	off.Do(t, "GET", "/openapi.json", nil).Status(t, 200).JSON(t, &doc)
	if paths, _ := doc["paths"].(map[string]any); len(paths) != 0 {
		t.Fatalf("openapi lists routes of disabled modules: %v", paths)
	}
}

// Two worker processes on one Redis enqueue each scheduled slot once.
func TestScheduleOncePerSlotAcrossWorkers(t *testing.T) {
	srv := start(t, allButClash, nil)
	apptest.Start(t, apptest.Options{
		Modules: fixtures.Modules(), ModulesYAML: allButClash, Role: app.RoleWorker,
		DatabaseURL: srv.Config.DatabaseURL, RedisURL: srv.Redis.URL(),
	})
	time.Sleep(3500 * time.Millisecond)
	total := count(t, srv, `SELECT count(*) FROM notes_ticks`)
	distinct := count(t, srv, `SELECT count(DISTINCT task_id) FROM notes_ticks`)
	if total < 2 {
		t.Fatalf("only %d ticks in 3.5s of an @every 1s schedule", total)
	}
	if total != distinct {
		t.Fatalf("%d ticks for %d slots: a slot ran twice", total, distinct)
	}
}

func TestConflictsRefuseToBuild(t *testing.T) {
	_, err := apptest.TryStart(t, apptest.Options{Modules: fixtures.Modules(), NoStart: true})
	if err == nil {
		t.Fatal("built with two modules on one route")
	}
	msg := err.Error()
	for _, want := range []string{"modules clash and notes both register GET /api/v1/notes/:id",
		"module clash registers job type clash:sync twice"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
}

func TestSettingsFromFileAndEnvironment(t *testing.T) {
	_, err := apptest.TryStart(t, apptest.Options{Modules: fixtures.Modules(), NoStart: true, ModulesYAML: `
modules:
  notes: {enabled: true, settings: {max_length: 0}}
`})
	if err == nil || !strings.Contains(err.Error(), "modules.notes.settings: max_length must be at least 1") {
		t.Fatalf("invalid settings: err = %v", err)
	}
	_, err = apptest.TryStart(t, apptest.Options{Modules: fixtures.Modules(), NoStart: true, ModulesYAML: `
modules:
  notes: {enabled: true, settings: {max_lenght: 5}}
`})
	if err == nil || !strings.Contains(err.Error(), "max_lenght") {
		t.Fatalf("unknown setting key: err = %v", err)
	}
	srv := start(t, "modules:\n  notes: {enabled: true, settings: {max_length: 3}}\n", map[string]string{"NOTES_MAX_LENGTH": "5"})
	srv.Do(t, "POST", "/api/v1/notes", map[string]string{"text": "12345"}).Status(t, 201)
	e := srv.Do(t, "POST", "/api/v1/notes", map[string]string{"text": "123456"}).ErrorCode(t, 422, "validation_failed")
	if e.Error.Details[0].Field != "text" {
		t.Fatalf("details = %+v", e.Error.Details)
	}
}

func TestHTTPConventions(t *testing.T) {
	srv := start(t, allButClash, map[string]string{"HANDLER_TIMEOUT": "200ms", "RATE_LIMIT_LIMIT": "1000"})
	t.Run("request id echoed or made", func(t *testing.T) {
		r := srv.Do(t, "GET", "/health", nil, "X-Request-ID", "abc-123")
		if r.Header.Get("X-Request-ID") != "abc-123" {
			t.Fatalf("X-Request-ID = %q", r.Header.Get("X-Request-ID"))
		}
		r = srv.Do(t, "GET", "/health", nil, "X-Request-ID", "bad id with spaces")
		if id := r.Header.Get("X-Request-ID"); id == "" || strings.Contains(id, " ") {
			t.Fatalf("X-Request-ID = %q", id)
		}
		if string(r.Body) != `{"status":"ok"}` {
			t.Fatalf("/health body = %s", r.Body)
		}
	})
	t.Run("404 and 405 use the envelope", func(t *testing.T) {
		srv.Do(t, "GET", "/api/v1/nowhere", nil).ErrorCode(t, 404, "not_found")
		srv.Do(t, "DELETE", "/api/v1/notes", nil).ErrorCode(t, 405, "method_not_allowed")
	})
	t.Run("panic is a 500 envelope without details", func(t *testing.T) {
		e := srv.Do(t, "GET", "/api/v1/notes-panic", nil).ErrorCode(t, 500, "internal_error")
		if strings.Contains(e.Error.Message, "fixture panic") {
			t.Fatal("the panic value leaked to the client")
		}
		srv.Do(t, "GET", "/health", nil).Status(t, 200)
	})
	t.Run("bad input is 4xx", func(t *testing.T) {
		srv.Do(t, "POST", "/api/v1/notes", []byte(`{"text":`), "Content-Type", "application/json").ErrorCode(t, 400, "malformed_json")
		srv.Do(t, "POST", "/api/v1/notes", []byte(`{"text":"a","x":1}`), "Content-Type", "application/json").ErrorCode(t, 422, "validation_failed")
		srv.Do(t, "POST", "/api/v1/notes", []byte(`{"text":5}`), "Content-Type", "application/json").ErrorCode(t, 422, "validation_failed")
		srv.Do(t, "POST", "/api/v1/notes", []byte(`text=a`), "Content-Type", "application/x-www-form-urlencoded").ErrorCode(t, 415, "unsupported_media_type")
		srv.Do(t, "GET", "/api/v1/notes/not-a-uuid", nil).ErrorCode(t, 400, "bad_id")
	})
	t.Run("body limit", func(t *testing.T) {
		srv.Do(t, "POST", "/api/v1/notes-echo", []byte(strings.Repeat("a", 64)), "Content-Type", "application/json").Status(t, 200)
		srv.Do(t, "POST", "/api/v1/notes-echo", []byte(strings.Repeat("a", 65)), "Content-Type", "application/json").ErrorCode(t, 413, "body_too_large")
		// Chunked: no Content-Length to refuse up front.
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/notes-echo", strings.NewReader(strings.Repeat("a", 5000)))
		req.ContentLength = -1
		res, err := srv.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 413 {
			t.Fatalf("chunked oversize body: status %d", res.StatusCode)
		}
		// A declared length over the limit is refused before the body is
		// read: the answer comes while the client is still sending, which
		// the server cuts short. Go's client reports the cut rather than
		// the answer when the reset wins the race, so the answer is read
		// while the body is written aside, as a careful client does.
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /api/v1/notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 2<<20)
		go func() { _, _ = conn.Write(make([]byte, 2<<20)) }() // fails once the server closes
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err = http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || res.StatusCode != 413 {
			t.Fatalf("declared oversize body: %v %v", err, res)
		}
	})
	t.Run("handler timeout", func(t *testing.T) {
		srv.Do(t, "GET", "/api/v1/notes-slow?for=50ms", nil).Status(t, 200)
		srv.Do(t, "GET", "/api/v1/notes-slow?for=5s", nil).ErrorCode(t, 503, "timeout")
	})
	t.Run("authentication required", func(t *testing.T) {
		srv.Do(t, "GET", "/api/v1/notes-auth", nil).ErrorCode(t, 401, "unauthorized")
		srv.Do(t, "GET", "/api/v1/notes-auth", nil, "Authorization", "Bearer x").ErrorCode(t, 401, "unauthorized")
	})
	t.Run("security headers and CORS", func(t *testing.T) {
		r := srv.Do(t, "GET", "/health", nil, "Origin", "https://app.example.com")
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Access-Control-Allow-Origin": "*"} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
	})
	t.Run("metrics label the module", func(t *testing.T) {
		srv.Do(t, "POST", "/api/v1/notes", map[string]string{"text": "counted"}).Status(t, 201)
		apptest.Eventually(t, 10*time.Second, "the job handled", func() bool {
			return count(t, srv, `SELECT count(*) FROM notes_index`) == 1
		})
		body := string(srv.Do(t, "GET", "/metrics", nil).Status(t, 200).Body)
		for _, want := range []string{`veza_http_requests_total{method="POST",module="notes",route="/api/v1/notes",status="201"}`,
			"veza_http_request_duration_seconds_bucket", `veza_jobs_processed_total{module="notes",outcome="ok",type="notes:index"} 1`} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %s in:\n%s", want, grepLines(body, "veza_http_requests_total"))
			}
		}
	})
	t.Run("openapi lists enabled modules only, docs page served", func(t *testing.T) {
		var doc struct {
			OpenAPI string         `json:"openapi"`
			Paths   map[string]any `json:"paths"`
		}
		served := srv.Do(t, "GET", "/openapi.json", nil).Status(t, 200)
		served.JSON(t, &doc)
		if doc.OpenAPI != "3.0.3" || doc.Paths["/api/v1/notes"] == nil || doc.Paths["/api/v1/notes/{id}"] == nil {
			t.Fatalf("openapi = %+v", doc)
		}
		// `veza openapi` writes Runtime.OpenAPIJSON: the same bytes.
		if dumped, err := srv.Runtime.OpenAPIJSON(); err != nil || !bytes.Equal(dumped, served.Body) {
			t.Fatalf("OpenAPIJSON differs from GET /openapi.json (%v)", err)
		}
		r := srv.Do(t, "GET", "/docs", nil).Status(t, 200)
		if !strings.Contains(r.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("/docs content type %q", r.Header.Get("Content-Type"))
		}
	})
	t.Run("status", func(t *testing.T) {
		var st struct {
			Modules      []string                  `json:"modules"`
			Dependencies map[string]map[string]any `json:"dependencies"`
			Version      string                    `json:"version"`
		}
		srv.Do(t, "GET", "/status", nil).Status(t, 200).Data(t, &st)
		if fmt.Sprint(st.Modules) != "[notes feed tap]" || st.Dependencies["postgres"]["status"] != "up" || st.Version == "" {
			t.Fatalf("status = %+v", st)
		}
	})
}

func TestRateLimit(t *testing.T) {
	srv := start(t, allButClash, map[string]string{"RATE_LIMIT_LIMIT": "3", "RATE_LIMIT_WINDOW": "60"})
	for i := 0; i < 3; i++ {
		r := srv.Do(t, "GET", "/api/v1/notes/00000000-0000-0000-0000-000000000001", nil).Status(t, 404)
		if got := r.Header.Get("X-RateLimit-Remaining"); got != fmt.Sprint(2-i) {
			t.Fatalf("request %d: X-RateLimit-Remaining = %q", i+1, got)
		}
	}
	r := srv.Do(t, "GET", "/api/v1/notes/00000000-0000-0000-0000-000000000001", nil)
	r.ErrorCode(t, 429, "rate_limited")
	if r.Header.Get("Retry-After") == "" || r.Header.Get("X-RateLimit-Limit") != "3" || r.Header.Get("X-RateLimit-Reset") == "" {
		t.Fatalf("429 headers: %v", r.Header)
	}
	srv.Do(t, "GET", "/health", nil).Status(t, 200) // probes are not limited
	for range 5 {                                   // nor routes that opted out, on their method only
		srv.Do(t, "POST", "/api/v1/notes-callback/provider", nil).Status(t, 200)
	}
	srv.Do(t, "GET", "/api/v1/notes-callback/provider", nil).ErrorCode(t, 429, "rate_limited")
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Two API processes on one Redis share each client's budget.
func TestRateLimitSharedAcrossProcesses(t *testing.T) {
	env := map[string]string{"RATE_LIMIT_LIMIT": "10", "RATE_LIMIT_WINDOW": "3600", "RATE_LIMIT_SYNC": "50ms"}
	a := apptest.Start(t, apptest.Options{Modules: fixtures.Modules(), ModulesYAML: allButClash, Env: env, Role: app.RoleAPI})
	b := apptest.Start(t, apptest.Options{Modules: fixtures.Modules(), ModulesYAML: allButClash, Env: env, Role: app.RoleAPI,
		DatabaseURL: a.Config.DatabaseURL, RedisURL: a.Redis.URL()})
	for i := 0; i < 10; i++ {
		a.Do(t, "GET", "/api/v1/nowhere", nil).Status(t, 404)
	}
	a.Do(t, "GET", "/api/v1/nowhere", nil).ErrorCode(t, 429, "rate_limited")
	// b has never seen this client: it admits what it cannot know about
	// until its next sync (50ms; polls are 20ms apart), then refuses.
	// Without sharing it would admit ten.
	admitted := 0
	apptest.Eventually(t, 5*time.Second, "process b learning a's count", func() bool {
		if b.Do(t, "GET", "/api/v1/nowhere", nil).StatusCode == 429 {
			return true
		}
		admitted++
		return false
	})
	if admitted >= 10 {
		t.Fatalf("process b admitted %d requests of an exhausted client", admitted)
	}
}
