package webhooks_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/webhooks"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/httpx"
)

const password = "correct horse battery staple"

// emitter is a test module that publishes thing.happened about the users it
// is told, as any module publishing events would.
func emitter() app.Module {
	return app.Module{
		Name: "emitter", Description: "test: publishes events on request", Requires: []string{"auth"},
		Events: []app.EventType{{Type: "thing.happened", Description: "a test event", Example: map[string]any{"n": 1}}},
		Register: func(r *app.Registrar, pool *sqlx.DB, pub *events.Publisher) {
			r.Post("/emit", func(c *fiber.Ctx) error {
				var in struct {
					N        int         `json:"n"`
					Audience []uuid.UUID `json:"audience"`
				}
				if err := httpx.Bind(c, &in); err != nil {
					return err
				}
				var id uuid.UUID
				err := db.WithTx(c.UserContext(), pool, func(tx *sqlx.Tx) error {
					var err error
					id, err = pub.Publish(c.UserContext(), tx, "thing.happened", map[string]int{"n": in.N}, in.Audience...)
					return err
				})
				if err != nil {
					return err
				}
				return httpx.Created(c, fiber.Map{"event_id": id})
			}, app.Summary("publish thing.happened"), app.RequireRoles(authn.RoleAdmin),
				app.Response(201, "the event's id", struct {
					EventID uuid.UUID `json:"event_id"`
				}{}))
		},
	}
}

type env struct {
	*apptest.Server
	admin string // access token
}

func start(t testing.TB, vars map[string]string) *env {
	t.Helper()
	all := map[string]string{"VEZA_AUTH_REQUIRE_VERIFIED_EMAIL": "false", "MAIL_DRIVER": "log",
		"VEZA_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true", "VEZA_WEBHOOKS_RETRY_SCHEDULE": "1s,1s,1s", "VEZA_WEBHOOKS_RETRY_JITTER": "0",
		"RATE_LIMIT_LIMIT": "100000"}
	for k, v := range vars {
		all[k] = v
	}
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module(), webhooks.Module(), emitter()}, Env: all})
	e := &env{Server: srv}
	id := e.user(t, "root")
	if _, err := srv.Runtime.DB().Exec(`UPDATE users SET role = 'admin' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	e.admin = e.login(t, "root")
	return e
}

// user registers name and returns its id.
func (e *env) user(t testing.TB, name string) uuid.UUID {
	t.Helper()
	var out struct {
		User struct {
			ID uuid.UUID `json:"id"`
		} `json:"user"`
	}
	e.Do(t, "POST", "/api/v1/auth/register", map[string]string{"username": name, "email": name + "@example.com", "password": password}).Status(t, 201).Data(t, &out)
	return out.User.ID
}

func (e *env) login(t testing.TB, name string) string {
	t.Helper()
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": name + "@example.com", "password": password}).Status(t, 200).Data(t, &tk)
	return tk.AccessToken
}

func as(token string) []string { return []string{"Authorization", "Bearer " + token} }

type endpoint struct {
	ID      string   `json:"id"`
	URL     string   `json:"url"`
	Events  []string `json:"events"`
	Secret  string   `json:"secret"`
	Enabled bool     `json:"enabled"`
	Scope   string   `json:"scope"`
}

func (e *env) endpoint(t testing.TB, token string, body map[string]any) endpoint {
	t.Helper()
	var ep endpoint
	e.Do(t, "POST", "/api/v1/webhooks", body, as(token)...).Status(t, 201).Data(t, &ep)
	return ep
}

func (e *env) emit(t testing.TB, n int, audience ...uuid.UUID) string {
	t.Helper()
	var out struct {
		EventID string `json:"event_id"`
	}
	if audience == nil {
		audience = []uuid.UUID{}
	}
	e.Do(t, "POST", "/api/v1/emit", map[string]any{"n": n, "audience": audience}, as(e.admin)...).Status(t, 201).Data(t, &out)
	return out.EventID
}

// hit is one request a receiver got.
type hit struct {
	id, ts, sig string
	body        []byte
	at          time.Time
}

// receiver is a webhook receiver on loopback answering from a script.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	hits   []hit
	answer func(n int, w http.ResponseWriter) // n counts from 1
}

func newReceiver(t testing.TB, answer func(n int, w http.ResponseWriter)) *receiver {
	r := &receiver{answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.hits = append(r.hits, hit{id: req.Header.Get("webhook-id"), ts: req.Header.Get("webhook-timestamp"),
			sig: req.Header.Get("webhook-signature"), body: body, at: time.Now()})
		n := len(r.hits)
		r.mu.Unlock()
		if r.answer != nil {
			r.answer(n, w)
			return
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...)
}

func (r *receiver) waitFor(t testing.TB, n int) []hit {
	t.Helper()
	apptest.Eventually(t, 20*time.Second, "webhook requests", func() bool { return len(r.got()) >= n })
	return r.got()
}

// verifies reports whether one of the signatures of h is right for secret
// (Standard Webhooks: HMAC-SHA256 of "id.timestamp.body", base64, "v1,").
func verifies(h hit, secret string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.id + "." + h.ts + "."))
	mac.Write(h.body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, s := range strings.Fields(h.sig) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return true
		}
	}
	return false
}

type delivery struct {
	ID             string `json:"id"`
	EventID        string `json:"event_id"`
	EventType      string `json:"event_type"`
	Status         string `json:"status"`
	LastStatusCode *int   `json:"last_status_code"`
	LastError      *string
	Attempts       []struct {
		Attempt     int        `json:"attempt"`
		StatusCode  *int       `json:"status_code"`
		LatencyMS   int        `json:"latency_ms"`
		Error       *string    `json:"error"`
		NextRetryAt *time.Time `json:"next_retry_at"`
		At          time.Time  `json:"at"`
	} `json:"attempts"`
}

func (e *env) deliveries(t testing.TB, token, endpointID string) []delivery {
	t.Helper()
	var page struct {
		Items []delivery `json:"items"`
	}
	e.Do(t, "GET", "/api/v1/webhooks/"+endpointID+"/deliveries", nil, as(token)...).Status(t, 200).Data(t, &page)
	return page.Items
}

func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	return m
}
