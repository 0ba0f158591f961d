package social_test

import (
	"bytes"
	"mime/multipart"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/social"
	"github.com/veza/veza/modules/tracks"
	"github.com/veza/veza/modules/tracks/audio/audiotest"
	"github.com/veza/veza/platform/events"
)

const password = "correct horse battery staple"

type env struct{ *apptest.Server }

// start runs auth, tracks, social and the extra modules, with vars over
// the test's defaults.
func start(t testing.TB, vars map[string]string, extra ...app.Module) *env {
	t.Helper()
	all := map[string]string{"VEZA_AUTH_REQUIRE_VERIFIED_EMAIL": "false", "MAIL_DRIVER": "log", "UPLOAD_DIR": t.TempDir(),
		"RATE_LIMIT_LIMIT": "1000000", "APP_PUBLIC_URL": "https://veza.test"}
	for k, v := range vars {
		all[k] = v
	}
	mods := append([]app.Module{auth.Module(), tracks.Module(), social.Module()}, extra...)
	return &env{Server: apptest.Start(t, apptest.Options{Modules: mods, Env: all})}
}

type account struct {
	ID    uuid.UUID
	Name  string
	Token string
}

func as(a account) []string { return []string{"Authorization", "Bearer " + a.Token} }

// user registers name with role and logs it in.
func (e *env) user(t testing.TB, name, role string) account {
	t.Helper()
	var reg struct {
		User struct {
			ID uuid.UUID `json:"id"`
		} `json:"user"`
	}
	email := name + "@example.com"
	e.Do(t, "POST", "/api/v1/auth/register", map[string]string{"username": name, "email": email, "password": password}).Status(t, 201).Data(t, &reg)
	if role != "user" {
		e.exec(t, `UPDATE users SET role = $2 WHERE id = $1`, reg.User.ID, role)
	}
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password}).Status(t, 200).Data(t, &tk)
	return account{ID: reg.User.ID, Name: name, Token: tk.AccessToken}
}

func (e *env) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if _, err := e.Runtime.DB().Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func (e *env) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.Runtime.DB().Get(&n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// track is a track as the API shows it.
type track struct {
	ID      uuid.UUID `json:"id"`
	OwnerID uuid.UUID `json:"owner_id"`
	Owner   struct {
		ID       uuid.UUID `json:"id"`
		Username string    `json:"username"`
	} `json:"owner"`
	Title        string    `json:"title"`
	Visibility   string    `json:"visibility"`
	Status       string    `json:"status"`
	DurationMS   *int64    `json:"duration_ms"`
	LikeCount    int64     `json:"like_count"`
	CommentCount int64     `json:"comment_count"`
	CreatedAt    time.Time `json:"created_at"`
}

// upload uploads a 0.2 s WAV as owner (a creator) and waits until it is
// processed.
func (e *env) upload(t testing.TB, owner account, title, visibility string) track {
	t.Helper()
	var wav bytes.Buffer
	if err := audiotest.WriteWAV(&wav, 8000, 1, 16, 0.2, 440); err != nil {
		t.Fatal(err)
	}
	var form bytes.Buffer
	w := multipart.NewWriter(&form)
	_ = w.WriteField("title", title)
	_ = w.WriteField("visibility", visibility)
	fw, _ := w.CreateFormFile("file", "a.wav")
	_, _ = fw.Write(wav.Bytes())
	_ = w.Close()
	var tr track
	e.Do(t, "POST", "/api/v1/tracks", form.Bytes(), append(as(owner), "Content-Type", w.FormDataContentType())...).Status(t, 201).Data(t, &tr)
	apptest.Eventually(t, 30*time.Second, "track processed", func() bool {
		tr = e.track(t, owner, tr.ID)
		return tr.Status != "processing"
	})
	return tr
}

// track reads GET /tracks/:id as a.
func (e *env) track(t testing.TB, a account, id uuid.UUID) track {
	t.Helper()
	var tr track
	e.Do(t, "GET", "/api/v1/tracks/"+id.String(), nil, as(a)...).Status(t, 200).Data(t, &tr)
	return tr
}

// seedTracks inserts n tracks of owner straight into tracks' table, each
// a second newer than the last, starting at from; only tests write another
// module's tables, to make many tracks quickly (they reach social through
// its reconciliation, as tracks made before the module did).
func (e *env) seedTracks(t testing.TB, owner uuid.UUID, n int, visibility string, from time.Time) []uuid.UUID {
	t.Helper()
	ids := make([]uuid.UUID, n)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7())
		e.exec(t, `INSERT INTO tracks (id, owner_id, title, visibility, status, format, content_type, size_bytes, storage_key, created_at, updated_at)
			VALUES ($1, $2, $3, $4, 'ready', 'wav', 'audio/wav', 1, $5, $6, $6)`,
			ids[i], owner, "seeded", visibility, "aa/"+ids[i].String()+".wav", from.Add(time.Duration(i)*time.Second))
	}
	return ids
}

// page is a keyset page of items.
type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// walk reads every page of path as a, limit items at a time.
func walk[T any](t testing.TB, e *env, a *account, path string, limit int) []T {
	t.Helper()
	var all []T
	cursor := ""
	for range 1000 {
		url := path + "?limit=" + strconv.Itoa(limit)
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		var headers []string
		if a != nil {
			headers = as(*a)
		}
		var p page[T]
		e.Do(t, "GET", url, nil, headers...).Status(t, 200).Data(t, &p)
		if len(p.Items) > limit {
			t.Fatalf("%s: %d items for limit %d", url, len(p.Items), limit)
		}
		all = append(all, p.Items...)
		if p.NextCursor == nil {
			return all
		}
		cursor = *p.NextCursor
	}
	t.Fatalf("%s: no last page", path)
	return nil
}

// job returns the social module's handler of a job type, to run it now.
func (e *env) job(t testing.TB, taskType string) func() {
	t.Helper()
	for _, j := range e.Runtime.Contributions().Jobs {
		if j.Type == taskType {
			return func() {
				t.Helper()
				if err := j.Handler(t.Context(), nil); err != nil {
					t.Fatalf("%s: %v", taskType, err)
				}
			}
		}
	}
	t.Fatalf("no job %s", taskType)
	return nil
}

// subscription returns module's handler of an event type.
func (e *env) subscription(t testing.TB, module, eventType string) events.Handler {
	t.Helper()
	for _, s := range e.Runtime.Contributions().Subscriptions {
		if s.Module == module && s.EventType == eventType {
			return s.Handler
		}
	}
	t.Fatalf("%s does not subscribe to %s", module, eventType)
	return nil
}
