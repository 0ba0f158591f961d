package tracks_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/tracks"
	"github.com/veza/veza/modules/tracks/audio/audiotest"
)

const pw = "correct horse battery staple"

type env struct {
	*apptest.Server
	uploads string
}

func start(t testing.TB, vars map[string]string) *env {
	t.Helper()
	return startLogged(t, vars, nil)
}

// startLogged is start with the process's logs going to log.
func startLogged(t testing.TB, vars map[string]string, log *zap.Logger) *env {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{"VEZA_AUTH_REQUIRE_VERIFIED_EMAIL": "false", "MAIL_DRIVER": "log", "UPLOAD_DIR": dir,
		"RATE_LIMIT_LIMIT": "100000", "APP_PUBLIC_URL": "https://veza.test"}
	for k, v := range vars {
		all[k] = v
	}
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module(), tracks.Module()}, Env: all, Logger: log})
	return &env{Server: srv, uploads: dir}
}

// user registers name with role and returns its id and an access token.
func (e *env) user(t testing.TB, name, role string) (uuid.UUID, string) {
	t.Helper()
	var reg struct {
		User struct {
			ID uuid.UUID `json:"id"`
		} `json:"user"`
	}
	e.Do(t, "POST", "/api/v1/auth/register", map[string]string{"username": name, "email": name + "@example.com", "password": pw}).Status(t, 201).Data(t, &reg)
	if role != "user" {
		if _, err := e.Runtime.DB().Exec(`UPDATE users SET role = $2 WHERE id = $1`, reg.User.ID, role); err != nil {
			t.Fatal(err)
		}
	}
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": name + "@example.com", "password": pw}).Status(t, 200).Data(t, &tk)
	return reg.User.ID, tk.AccessToken
}

func as(token string) []string { return []string{"Authorization", "Bearer " + token} }

type track struct {
	ID          string   `json:"id"`
	OwnerID     string   `json:"owner_id"`
	Title       string   `json:"title"`
	Genre       string   `json:"genre"`
	Tags        []string `json:"tags"`
	Visibility  string   `json:"visibility"`
	Status      string   `json:"status"`
	Error       *string  `json:"error"`
	Format      string   `json:"format"`
	SizeBytes   int64    `json:"size_bytes"`
	DurationMS  *int64   `json:"duration_ms"`
	SampleRate  *int     `json:"sample_rate"`
	Channels    *int     `json:"channels"`
	BitrateKbps *int     `json:"bitrate_kbps"`
	ScanStatus  string   `json:"scan_status"`
	Plays       int64    `json:"plays"`
}

// wav makes a WAV file in memory.
func wav(t testing.TB, seconds float64) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := audiotest.WriteWAV(&b, 44100, 2, 16, seconds, 440); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("audio/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// form builds a multipart upload.
func form(t testing.TB, file []byte, filename string, fields map[string]string) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if file != nil {
		fw, err := w.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(file); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), b.Bytes()
}

func (e *env) upload(t testing.TB, token string, file []byte, fields map[string]string) *apptest.Response {
	t.Helper()
	ct, body := form(t, file, "upload.bin", fields)
	return e.Do(t, "POST", "/api/v1/tracks", body, "Content-Type", ct, "Authorization", "Bearer "+token)
}

func (e *env) uploadOK(t testing.TB, token string, file []byte, fields map[string]string) track {
	t.Helper()
	var tr track
	e.upload(t, token, file, fields).Status(t, 201).Data(t, &tr)
	return tr
}

// ready waits for the processing job and returns the track.
func (e *env) ready(t testing.TB, token, id string) track {
	t.Helper()
	var tr track
	apptest.Eventually(t, 30*time.Second, "track processed", func() bool {
		e.Do(t, "GET", "/api/v1/tracks/"+id, nil, as(token)...).Status(t, 200).Data(t, &tr)
		return tr.Status != "processing"
	})
	return tr
}

func (e *env) count(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.Runtime.DB().Get(&n, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// files counts the stored files under the upload folder.
func (e *env) files(t testing.TB) int {
	t.Helper()
	n := 0
	var walk func(dir string)
	walk = func(dir string) {
		entries, _ := os.ReadDir(dir)
		for _, en := range entries {
			if en.IsDir() {
				if en.Name() != ".tmp" {
					walk(dir + "/" + en.Name())
				}
				continue
			}
			n++
		}
	}
	walk(e.uploads + "/tracks")
	return n
}

func get(t testing.TB, url string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func readDir(dir string) ([]os.DirEntry, error) { return os.ReadDir(dir) }
