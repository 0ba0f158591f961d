package e2e

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A path parameter marked app.SecretParam never reaches the process's
// output: access and error lines show [redacted] in its place, and metrics
// label the request with the route pattern.
func TestSecretPathParamNeverLogged(t *testing.T) {
	p := newProc(t, allButClash)
	p.env["LOG_LEVEL"] = "info" // the access log is written at info
	s := p.serve()
	token := "sharetoken" + randomHex(t, 12)
	base := s.url + "/api/v1/notes/by-token/" + token

	httpGet(t, base, http.StatusOK)
	httpGet(t, base+"?fail=1", http.StatusInternalServerError) // an error line too
	metrics := httpGet(t, s.url+"/metrics", http.StatusOK)
	if strings.Contains(metrics, token) {
		t.Error("/metrics shows the token")
	}
	if !strings.Contains(metrics, `route="/api/v1/notes/by-token/:token"`) {
		t.Error("/metrics has no series labelled with the route pattern")
	}

	if err := s.stop(t, 30*time.Second); err != nil {
		t.Fatalf("serve exited with %v:\n%s", err, s.stderr)
	}
	out := s.stderr.String() // stdout and stderr, complete once the process has exited
	if strings.Contains(out, token) {
		t.Fatalf("the token appears in the process's output:\n%s", grepLines(out, token))
	}
	if n := strings.Count(out, "/api/v1/notes/by-token/[redacted]"); n < 2 {
		t.Fatalf("%d log lines show the redacted path, want one per request at least:\n%s", n, out)
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// httpGet fetches url, fails unless it answers status, and returns the body.
func httpGet(t *testing.T, url string, status int) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", url, err)
	}
	if res.StatusCode != status {
		t.Fatalf("GET %s: status %d, want %d: %s", url, res.StatusCode, status, body)
	}
	return string(body)
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
