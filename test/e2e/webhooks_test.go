package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// A worker killed while it posts a webhook loses nothing: another worker
// picks the delivery up once asynq's lease on it expires (about a minute),
// and the receiver gets it again with the same webhook-id.
func TestWebhookSurvivesWorkerKill(t *testing.T) {
	p := newProc(t, "modules:\n  auth: {enabled: true}\n  webhooks: {enabled: true}\n  notes: {enabled: true}\n  feed: {enabled: false}\n  tap: {enabled: false}\n  clash: {enabled: false}\n")
	p.env["VEZA_WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "true"
	if r := p.run("migrate", "up"); r.code != 0 {
		t.Fatalf("migrate: %s", r.stderr)
	}
	if r := p.run("user", "create", "--email", "ops@example.com", "--username", "ops", "--password", "correct horse battery staple", "--role", "admin", "--verified"); r.code != 0 {
		t.Fatalf("user create: %s", r.stderr)
	}
	var mu sync.Mutex
	var ids []string
	release := make(chan struct{})
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		ids = append(ids, r.Header.Get("webhook-id"))
		first := len(ids) == 1
		mu.Unlock()
		if first {
			<-release // hold the first delivery until its worker is dead
		}
		w.WriteHeader(200)
	}))
	defer recv.Close()
	defer close(release)
	got := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), ids...) }

	srv := p.serve() // test environment: API only
	worker := startWorker(t, p)
	call := func(method, path, token string, body any) map[string]any {
		t.Helper()
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, srv.url+path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out struct {
			Data map[string]any `json:"data"`
		}
		_ = json.NewDecoder(res.Body).Decode(&out)
		if res.StatusCode >= 300 {
			t.Fatalf("%s %s: %d", method, path, res.StatusCode)
		}
		return out.Data
	}
	token := call("POST", "/api/v1/auth/login", "", map[string]string{"email": "ops@example.com", "password": "correct horse battery staple"})["access_token"].(string)
	call("POST", "/api/v1/webhooks", token, map[string]any{"url": recv.URL, "events": []string{"note.created"}, "scope": "global"})
	call("POST", "/api/v1/notes", "", map[string]string{"text": "deliver me"})

	deadline := time.Now().Add(30 * time.Second)
	for len(got()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if len(got()) != 1 {
		t.Fatal("the first delivery never reached the receiver")
	}
	_ = worker.Process.Kill() // mid-delivery: the receiver is still holding the request
	_ = worker.Wait()
	startWorker(t, p)
	deadline = time.Now().Add(150 * time.Second)
	for len(got()) < 2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	ids2 := got()
	if len(ids2) < 2 || ids2[0] != ids2[1] || ids2[0] == "" {
		t.Fatalf("after the kill the receiver got %q", ids2)
	}
}

func startWorker(t *testing.T, p *proc) *exec.Cmd {
	t.Helper()
	cmd := p.command(context.Background(), bin.veza, "worker")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd
}
