package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veza/veza/modules/tracks/audio/audiotest"
)

// rssKB reads a process's resident memory figure (VmRSS or VmHWM, in KiB).
func rssKB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	t.Fatalf("%s not in /proc/%d/status", field, pid)
	return 0
}

// Uploading a 200 MB file raises the server's resident memory by less than
// 32 MB: the body is streamed from the socket to storage.
func TestUploadMemory(t *testing.T) {
	p := newProc(t, "modules:\n  auth: {enabled: true}\n  tracks: {enabled: true}\n  webhooks: {enabled: false}\n  notes: {enabled: false}\n  feed: {enabled: false}\n  tap: {enabled: false}\n  clash: {enabled: false}\n")
	p.env["UPLOAD_DIR"] = t.TempDir()
	if r := p.run("user", "create", "--email", "maker@example.com", "--username", "maker", "--password", "correct horse battery staple", "--role", "creator", "--verified"); r.code != 0 {
		t.Fatalf("user create: %s", r.stderr)
	}
	srv := p.serve()
	res, err := http.Post(srv.url+"/api/v1/auth/login", "application/json", strings.NewReader(`{"email":"maker@example.com","password":"correct horse battery staple"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct {
		Data struct {
			AccessToken string `json:"access_token"`
		} `json:"data"`
	}
	_ = json.NewDecoder(res.Body).Decode(&login)
	res.Body.Close()
	upload := func(seconds float64) (int, time.Duration) {
		pr, pw := io.Pipe()
		w := multipart.NewWriter(pw)
		go func() {
			_ = w.WriteField("title", "big one")
			fw, _ := w.CreateFormFile("file", "big.wav")
			err := audiotest.WriteWAV(fw, 44100, 2, 16, seconds, 220)
			if err == nil {
				err = w.Close()
			}
			pw.CloseWithError(err)
		}()
		req, _ := http.NewRequest("POST", srv.url+"/api/v1/tracks", pr)
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+login.Data.AccessToken)
		start := time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Fatalf("upload: %d %s", res.StatusCode, body)
		}
		return res.StatusCode, time.Since(start)
	}
	pid := srv.cmd.Process.Pid
	upload(5) // warm up: code paths, buffers, pools
	before := rssKB(t, pid, "VmHWM")
	const seconds = 1134 // 44.1 kHz stereo 16-bit: 176,400 bytes a second, about 200 MB
	_, took := upload(seconds)
	after := rssKB(t, pid, "VmHWM")
	grew := (after - before) / 1024
	t.Logf("200 MB upload in %s; peak resident memory %d MB -> %d MB (+%d MB)", took, before/1024, after/1024, grew)
	if grew >= 32 {
		t.Fatalf("peak resident memory grew by %d MB during a 200 MB upload (limit 32)", grew)
	}
}
