package tracks_test

import (
	"io"
	"mime/multipart"
	"net/http"
	"testing"
	"time"

	"github.com/veza/veza/modules/tracks/audio/audiotest"
)

// Past MAX_CONCURRENT_UPLOADS, an upload is refused at once with 503 and
// Retry-After; the uploads in progress are not disturbed.
func TestConcurrentUploadsPastTheLimit(t *testing.T) {
	e := start(t, map[string]string{"MAX_CONCURRENT_UPLOADS": "2"})
	_, tok := e.user(t, "maker", "creator")
	_, another := e.user(t, "another", "creator") // the first one is at its own limit
	type result struct {
		status int
		err    error
	}
	// Two uploads that send their first megabyte, then wait.
	var gates []chan struct{}
	results := make(chan result, 2)
	for i := 0; i < 2; i++ {
		gate := make(chan struct{})
		gates = append(gates, gate)
		pr, pw := io.Pipe()
		w := multipart.NewWriter(pw)
		go func() {
			_ = w.WriteField("title", "slow")
			fw, _ := w.CreateFormFile("file", "slow.wav")
			_ = audiotest.WriteWAV(fw, 44100, 2, 16, 6, 220) // about 1 MB
			<-gate
			_ = w.Close()
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", e.URL+"/api/v1/tracks", pr)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+tok)
		go func() {
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				results <- result{err: err}
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			results <- result{status: res.StatusCode}
		}()
	}
	// Wait until both hold a slot (their files are being written).
	deadline := time.Now().Add(10 * time.Second)
	for tmpFiles(e) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := tmpFiles(e); n != 2 {
		t.Fatalf("%d uploads in progress, want 2", n)
	}
	r := e.upload(t, another, wav(t, 0.2), map[string]string{"title": "third"})
	r.ErrorCode(t, 503, "too_many_uploads")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	for _, g := range gates {
		close(g)
	}
	for i := 0; i < 2; i++ {
		res := <-results
		if res.err != nil || res.status != 201 {
			t.Fatalf("an upload in progress: %+v", res)
		}
	}
	e.uploadOK(t, tok, wav(t, 0.2), map[string]string{"title": "after"})
}

// tmpFiles counts uploads being written (storage's staging folder).
func tmpFiles(e *env) int {
	entries, _ := readDir(e.uploads + "/.tmp")
	return len(entries)
}
