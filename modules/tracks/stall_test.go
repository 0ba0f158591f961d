package tracks_test

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/tracks"
	"github.com/veza/veza/modules/tracks/audio/audiotest"
)

// An upload whose body stops arriving, while its connection stays open, is
// ended after UPLOAD_STALL_TIMEOUT with 408 upload_stalled, wherever it
// stops: before its first body byte, in its first bytes, or in the middle of
// the file; with a Content-Length or chunked. Nothing of it is kept. A body
// that pauses for less than the timeout, several times, is not disturbed.
func TestUploadStalls(t *testing.T) {
	const stall = time.Second
	e := start(t, map[string]string{"UPLOAD_STALL_TIMEOUT": "1s"})
	_, tok := e.user(t, "maker", "creator")
	form := newRawForm(t, wav(t, 1))
	cases := []struct {
		name    string
		chunked bool
		sent    int // bytes of the form sent before the stall
	}{
		{"headers only", false, 0},
		{"headers only, chunked", true, 0},
		{"a few bytes", false, 10},
		{"a few bytes, chunked", true, 10},
		{"mid-file", false, len(form.body) / 2},
		{"mid-file, chunked", true, len(form.body) / 2},
		{"all but the closing boundary", false, len(form.body) - 8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			length := len(form.body)
			if c.chunked {
				length = -1
			}
			rc := e.dialUpload(t, tok, form.boundary, length)
			if c.sent > 0 {
				if c.chunked {
					rc.chunk(form.body[:c.sent])
				} else {
					rc.send(form.body[:c.sent])
				}
			}
			began := time.Now()
			res := rc.answer(10 * stall)
			e.checkStalled(t, res, began, stall)
			e.nothingKept(t, c.name)
		})
	}

	// A client that waits for 100 Continue (curl does, past 1 KiB) and then
	// stalls is ended the same way.
	rc := e.dialUpload(t, tok, form.boundary, len(form.body), "Expect: 100-continue")
	if cont := rc.answer(10 * stall); cont.StatusCode != http.StatusContinue {
		t.Fatalf("Expect: 100-continue answered %d", cont.StatusCode)
	}
	rc.send(form.body[:100])
	began := time.Now()
	e.checkStalled(t, rc.answer(10*stall), began, stall)
	e.nothingKept(t, "after 100 Continue")

	// Pauses shorter than the timeout add up to more than it: still fine.
	rc = e.dialUpload(t, tok, form.boundary, len(form.body))
	step := len(form.body) / 4
	for i := 0; i < 4; i++ {
		end := min((i+1)*step, len(form.body))
		if i == 3 {
			end = len(form.body)
		}
		rc.send(form.body[i*step : end])
		if i < 3 {
			time.Sleep(stall * 6 / 10)
		}
	}
	rc.answer(10*time.Second).Status(t, 201)
}

// checkStalled fails unless res is 408 upload_stalled, given about stall
// after the body's last byte.
func (e *env) checkStalled(t *testing.T, res *apptest.Response, began time.Time, stall time.Duration) {
	t.Helper()
	res.ErrorCode(t, http.StatusRequestTimeout, "upload_stalled")
	if waited := time.Since(began); waited < stall*9/10 || waited > 5*stall {
		t.Fatalf("answered after %s for a stall timeout of %s", waited, stall)
	}
}

// One account cannot hold every upload slot: past
// MAX_CONCURRENT_UPLOADS_PER_USER its uploads are refused with 429 and
// Retry-After, while other users still upload.
func TestUploadsPerUser(t *testing.T) {
	e := start(t, map[string]string{"MAX_CONCURRENT_UPLOADS": "3", "MAX_CONCURRENT_UPLOADS_PER_USER": "2"})
	_, greedy := e.user(t, "greedy", "creator")
	_, other := e.user(t, "other", "creator")
	slow := e.slowUploads(t, greedy, 2)
	r := e.upload(t, greedy, wav(t, 0.2), map[string]string{"title": "third"})
	r.ErrorCode(t, http.StatusTooManyRequests, "too_many_uploads")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	e.uploadOK(t, other, wav(t, 0.2), map[string]string{"title": "someone else"})
	slow.finish(t)
	e.uploadOK(t, greedy, wav(t, 0.2), map[string]string{"title": "later"})

	_, err := apptest.TryStart(t, apptest.Options{Modules: []app.Module{auth.Module(), tracks.Module()},
		Env: map[string]string{"UPLOAD_DIR": t.TempDir(), "MAX_CONCURRENT_UPLOADS_PER_USER": "0"}})
	if err == nil || !strings.Contains(err.Error(), "MAX_CONCURRENT_UPLOADS_PER_USER") {
		t.Fatalf("a per-user limit of 0 started: %v", err)
	}
}

// slow is a set of uploads held in progress until finish.
type slow struct {
	gates   []chan struct{}
	results chan error
}

// slowUploads starts n uploads as token that send their first megabyte and
// wait, and returns once all of them are being written to storage.
func (e *env) slowUploads(t *testing.T, token string, n int) *slow {
	t.Helper()
	s := &slow{results: make(chan error, n)}
	before := tmpFiles(e)
	for i := 0; i < n; i++ {
		gate := make(chan struct{})
		s.gates = append(s.gates, gate)
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
		req.Header.Set("Authorization", "Bearer "+token)
		go func() {
			res, err := http.DefaultClient.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 201 {
					err = errors.New(res.Status)
				}
			}
			s.results <- err
		}()
	}
	apptest.Eventually(t, 10*time.Second, "uploads in progress", func() bool { return tmpFiles(e) == before+n })
	return s
}

// finish lets the uploads end and fails unless each was created.
func (s *slow) finish(t *testing.T) {
	t.Helper()
	for _, g := range s.gates {
		close(g)
	}
	for range s.gates {
		if err := <-s.results; err != nil {
			t.Fatalf("an upload in progress: %v", err)
		}
	}
}

// The platform sweeps the local store's staging folder while it runs: a
// file a crashed upload left there goes, the file of an upload in progress
// stays and the upload completes.
func TestStagingFilesSwept(t *testing.T) {
	e := start(t, map[string]string{"STORAGE_TMP_SWEEP_INTERVAL": "100ms", "STORAGE_TMP_MAX_AGE": "1h"})
	_, tok := e.user(t, "maker", "creator")
	// The upload first: slowUploads counts the staging files before and
	// after it starts, and a sweep in between would take the stale file
	// from that count.
	inProgress := e.slowUploads(t, tok, 1)
	stale := filepath.Join(e.uploads, ".tmp", "put-crashed")
	if err := os.WriteFile(stale, []byte("half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 10*time.Second, "stale staging file swept", func() bool {
		_, err := os.Stat(stale)
		return os.IsNotExist(err)
	})
	time.Sleep(300 * time.Millisecond) // a few more sweeps
	if n := tmpFiles(e); n != 1 {
		t.Fatalf("%d staging files; want the one of the upload in progress", n)
	}
	inProgress.finish(t)
	if n := e.files(t); n != 1 {
		t.Fatalf("%d files stored after the upload", n)
	}
}
