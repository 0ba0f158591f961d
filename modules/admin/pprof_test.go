package admin_test

import (
	"strings"
	"testing"
)

// Profiling is for admins: the index and the profiles answer them (each
// read audited), and 401 or 403 anyone else.
func TestPprof(t *testing.T) {
	e := start(t, nil)
	root := e.user(t, "root", "admin")
	plain := e.user(t, "plain", "user")
	r := e.Do(t, "GET", "/api/v1/admin/debug/pprof/", nil, root.bearer()...).Status(t, 200)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !contains(string(r.Body), "heap", "goroutine", "profile") {
		t.Fatalf("index: %s %s", r.Header.Get("Content-Type"), r.Body)
	}
	r = e.Do(t, "GET", "/api/v1/admin/debug/pprof/goroutine?debug=1", nil, root.bearer()...).Status(t, 200)
	if !contains(string(r.Body), "goroutine profile:") {
		t.Fatalf("goroutines: %.200s", r.Body)
	}
	r = e.Do(t, "GET", "/api/v1/admin/debug/pprof/heap", nil, root.bearer()...).Status(t, 200)
	if r.Header.Get("Content-Type") != "application/octet-stream" || len(r.Body) == 0 {
		t.Fatalf("heap: %s, %d bytes", r.Header.Get("Content-Type"), len(r.Body))
	}
	e.Do(t, "GET", "/api/v1/admin/debug/pprof/nothing", nil, root.bearer()...).Status(t, 404)
	for _, p := range []string{"/api/v1/admin/debug/pprof/", "/api/v1/admin/debug/pprof/heap"} {
		e.Do(t, "GET", p, nil, plain.bearer()...).ErrorCode(t, 403, "forbidden")
		e.Do(t, "GET", p, nil).ErrorCode(t, 401, "unauthorized")
	}
	e.Do(t, "POST", "/api/v1/admin/debug/pprof/symbol", []byte("0x1"), append(plain.bearer(), "Content-Type", "text/plain")...).
		ErrorCode(t, 403, "forbidden")
	e.Do(t, "POST", "/api/v1/admin/debug/pprof/symbol", []byte("0x1"), append(root.bearer(), "Content-Type", "text/plain")...).Status(t, 200)
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'admin.profiled' AND actor_id = $1`, root.ID); n != 5 {
		t.Fatalf("%d profiling reads audited, want 5", n)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'admin.profiled' AND target_id = 'heap'`); n != 1 {
		t.Fatalf("the heap read audited %d times", n)
	}
}
