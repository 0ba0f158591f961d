package tracks_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/auth/authapi"
	"github.com/veza/veza/modules/tracks"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/events"
)

// ownerView is a track's owner as the API shows it.
type ownerView struct {
	ID          uuid.UUID `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	AvatarURL   string    `json:"avatar_url"`
}

type ownedTrack struct {
	ID    string    `json:"id"`
	Owner ownerView `json:"owner"`
}

// listed returns the owner of each public track of owner, as GET /tracks
// shows them.
func (e *env) listed(t testing.TB, owner uuid.UUID) []ownerView {
	t.Helper()
	var p struct {
		Items []ownedTrack `json:"items"`
	}
	e.Do(t, "GET", "/api/v1/tracks?user_id="+owner.String(), nil).Status(t, 200).Data(t, &p)
	out := make([]ownerView, len(p.Items))
	for i, it := range p.Items {
		out[i] = it.Owner
	}
	return out
}

// waitOwner waits up to timeout for every listed track of owner to show
// want, and returns how long that took.
func (e *env) waitOwner(t testing.TB, owner uuid.UUID, want ownerView, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	var got []ownerView
	apptest.Eventually(t, timeout, "the listed owner to be "+want.Username+"/"+want.DisplayName, func() bool {
		got = e.listed(t, owner)
		for _, o := range got {
			if o != want {
				return false
			}
		}
		return len(got) > 0
	})
	return time.Since(start)
}

func (e *env) profile(t testing.TB, id uuid.UUID, token string, fields map[string]any) {
	t.Helper()
	e.Do(t, "PUT", "/api/v1/users/"+id.String(), fields, as(token)...).Status(t, 200)
}

// A track comes with its owner's public profile wherever the API shows it
// (GET /tracks, GET /tracks/:id, a share link, the upload's answer), and a
// profile change shows in the lists within 5 seconds.
func TestTracksShowTheirOwner(t *testing.T) {
	e := start(t, nil)
	ada, tok := e.user(t, "ada", "creator")
	e.profile(t, ada, tok, map[string]any{"display_name": "Ada Lovelace", "avatar_url": "https://cdn.example.com/ada.png"})
	want := ownerView{ID: ada, Username: "ada", DisplayName: "Ada Lovelace", AvatarURL: "https://cdn.example.com/ada.png"}

	var up ownedTrack
	ct, body := form(t, wav(t, 0.2), "a.wav", map[string]string{"title": "Analytical"})
	e.Do(t, "POST", "/api/v1/tracks", body, "Content-Type", ct, "Authorization", "Bearer "+tok).Status(t, 201).Data(t, &up)
	if up.Owner.ID != ada || up.Owner.Username != "ada" {
		t.Fatalf("upload answer's owner = %+v, want ada's", up.Owner)
	}
	e.seed(t, ada, 3, "baroque", func(i int) string { return "Engine " + string(rune('A'+i)) })
	e.waitOwner(t, ada, want, 5*time.Second)

	var one ownedTrack
	e.Do(t, "GET", "/api/v1/tracks/"+up.ID, nil).Status(t, 200).Data(t, &one)
	if one.Owner != want {
		t.Fatalf("GET /tracks/:id owner = %+v, want %+v", one.Owner, want)
	}
	var link struct {
		Token string `json:"token"`
	}
	e.Do(t, "POST", "/api/v1/tracks/"+up.ID+"/share", map[string]any{}, as(tok)...).Status(t, 201).Data(t, &link)
	var shared ownedTrack
	e.Do(t, "GET", "/api/v1/tracks/shared/"+link.Token, nil).Status(t, 200).Data(t, &shared)
	if shared.Owner != want {
		t.Fatalf("shared track's owner = %+v, want %+v", shared.Owner, want)
	}

	e.profile(t, ada, tok, map[string]any{"display_name": "Countess of Lovelace", "avatar_url": ""})
	want.DisplayName, want.AvatarURL = "Countess of Lovelace", ""
	took := e.waitOwner(t, ada, want, 5*time.Second)
	t.Logf("the profile change showed in GET /tracks after %s", took.Round(time.Millisecond))

	// A change of other fields publishes nothing tracks needs.
	before := e.count(t, `SELECT count(*) FROM outbox WHERE type = 'user.updated'`)
	e.profile(t, ada, tok, map[string]any{"bio": "First programmer."})
	if after := e.count(t, `SELECT count(*) FROM outbox WHERE type = 'user.updated'`); after != before {
		t.Fatalf("a bio change published user.updated (%d events, %d before)", after, before)
	}
}

// jobHandler returns the tracks job handler of taskType.
func (e *env) jobHandler(t testing.TB, taskType string) func(context.Context) error {
	t.Helper()
	for _, j := range e.Runtime.Contributions().Jobs {
		if j.Type == taskType {
			return func(ctx context.Context) error { return j.Handler(ctx, nil) }
		}
	}
	t.Fatalf("no job %s", taskType)
	return nil
}

// The reconciliation job brings the copy of owners' profiles up to date
// with auth whatever events were lost: a missing owner is filled (a track is
// listed meanwhile, with its owner's id and empty fields), a stale one
// replaced, a banned one dropped. The process runs no worker, so no event
// reaches the copy: every event is "lost".
func TestOwnersReconciled(t *testing.T) {
	dir := t.TempDir()
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module(), tracks.Module()}, Role: app.RoleAPI,
		Env: map[string]string{"VEZA_AUTH_REQUIRE_VERIFIED_EMAIL": "false", "MAIL_DRIVER": "log", "UPLOAD_DIR": dir, "RATE_LIMIT_LIMIT": "100000"}})
	e := &env{Server: srv, uploads: dir}
	ada, tok := e.user(t, "ada", "user")
	e.profile(t, ada, tok, map[string]any{"display_name": "Ada", "avatar_url": "https://cdn.example.com/a.png"})
	e.seed(t, ada, 2, "", func(int) string { return "Note G" })
	ghost := uuid.Must(uuid.NewV7()) // an owner without an account
	e.seed(t, ghost, 1, "", func(int) string { return "Orphan" })
	banned, _ := e.user(t, "banned", "user") // not shown, as GET /users/:id does not find it
	e.seed(t, banned, 1, "", func(int) string { return "Gone quiet" })
	if _, err := e.Runtime.DB().Exec(`UPDATE users SET banned_at = now() WHERE id = $1`, banned); err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := e.Runtime.DB().Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	blank := func(id uuid.UUID) {
		t.Helper()
		got := e.listed(t, id)
		for _, o := range got {
			if o != (ownerView{ID: id}) {
				t.Fatalf("owner without a copy shown as %+v, want only its id", o)
			}
		}
		if len(got) == 0 {
			t.Fatalf("the tracks of %s are not listed", id)
		}
	}
	want := ownerView{ID: ada, Username: "ada", DisplayName: "Ada", AvatarURL: "https://cdn.example.com/a.png"}
	shows := func(id uuid.UUID, want ownerView) {
		t.Helper()
		for _, o := range e.listed(t, id) {
			if o != want {
				t.Fatalf("listed with owner %+v, want %+v", o, want)
			}
		}
	}
	blank(ada)
	blank(ghost)
	blank(banned)

	reconcile := e.jobHandler(t, tracks.ReconcileOwnersJob)
	run := func() {
		t.Helper()
		if err := reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	run()
	shows(ada, want)
	blank(ghost)
	blank(banned)
	run() // nothing to do
	shows(ada, want)

	// The copy loses ada's row; then it holds an older version of her
	// profile (a user.updated lost): each time the next run repairs it.
	exec(`DELETE FROM track_owners WHERE user_id = $1`, ada)
	blank(ada)
	run()
	shows(ada, want)
	exec(`UPDATE track_owners SET display_name = 'Old name', updated_at = updated_at - interval '1 hour' WHERE user_id = $1`, ada)
	run()
	shows(ada, want)

	// A copied account banned since: the run drops its profile.
	exec(`UPDATE users SET banned_at = now() WHERE id = $1`, ada)
	run()
	blank(ada)
}

// subscription returns the tracks handler of eventType.
func (e *env) subscription(t testing.TB, eventType string) events.Handler {
	t.Helper()
	for _, s := range e.Runtime.Contributions().Subscriptions {
		if s.Module == "tracks" && s.EventType == eventType {
			return s.Handler
		}
	}
	t.Fatalf("tracks does not subscribe to %s", eventType)
	return nil
}

func userEvent(t testing.TB, typ string, p authapi.UserEvent) events.Event {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return events.Event{ID: uuid.Must(uuid.NewV7()), Type: typ, Module: "auth", Payload: b, Audience: []uuid.UUID{p.UserID}, CreatedAt: p.At}
}

// Events delivered late, twice or out of order never bring back an older
// profile: the copy keeps the one with the latest at.
func TestOwnerEventsOutOfOrder(t *testing.T) {
	e := start(t, nil)
	id := uuid.Must(uuid.NewV7())
	e.seed(t, id, 1, "", func(int) string { return "Out of order" })
	registered := e.subscription(t, authapi.EventUserRegistered)
	updated := e.subscription(t, authapi.EventUserUpdated)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	reg := userEvent(t, authapi.EventUserRegistered, authapi.UserEvent{UserID: id, Username: "grace", At: t0})
	first := userEvent(t, authapi.EventUserUpdated, authapi.UserEvent{UserID: id, Username: "grace", DisplayName: "Grace", At: t0.Add(time.Second)})
	second := userEvent(t, authapi.EventUserUpdated, authapi.UserEvent{UserID: id, Username: "grace", DisplayName: "Grace Hopper",
		AvatarURL: "https://cdn.example.com/g.png", At: t0.Add(time.Second + time.Microsecond)})
	latest := ownerView{ID: id, Username: "grace", DisplayName: "Grace Hopper", AvatarURL: "https://cdn.example.com/g.png"}

	ctx := context.Background()
	for _, step := range []struct {
		h  events.Handler
		ev events.Event
	}{{updated, second}, {updated, first}, {registered, reg}, {updated, second}, {updated, first}} {
		if err := step.h(ctx, step.ev); err != nil {
			t.Fatal(err)
		}
		if got := e.listed(t, id); len(got) != 1 || got[0] != latest {
			t.Fatalf("after %s at %s: %+v, want %+v", step.ev.Type, step.ev.CreatedAt.Format(time.RFC3339Nano), got, latest)
		}
	}
	// A payload without the account or the version is refused for good.
	bad := userEvent(t, authapi.EventUserUpdated, authapi.UserEvent{UserID: id, Username: "x"})
	if err := updated(ctx, bad); err == nil {
		t.Fatal("an event without at was applied")
	}
}

// The reconciliation walks every owner, past authn.MaxProfiles of them.
func TestOwnersReconciledInBatches(t *testing.T) {
	dir := t.TempDir()
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module(), tracks.Module()}, Role: app.RoleAPI,
		Env: map[string]string{"MAIL_DRIVER": "log", "UPLOAD_DIR": dir}})
	e := &env{Server: srv, uploads: dir}
	const n = 2*authn.MaxProfiles + 5
	// Accounts and tracks written directly (only tests write other
	// modules' tables): registering 2,005 accounts would take minutes.
	_, err := e.Runtime.DB().Exec(`
		WITH u AS (
			INSERT INTO users (id, username, email, password_hash, display_name)
			SELECT gen_random_uuid(), 'u' || i, 'u' || i || '@example.com', 'x', 'User ' || i FROM generate_series(1, $1) AS i
			RETURNING id)
		INSERT INTO tracks (id, owner_id, title, visibility, status, format, content_type, size_bytes, storage_key)
		SELECT gen_random_uuid(), id, 'T', 'public', 'ready', 'wav', 'audio/wav', 1, 'aa/' || id FROM u`, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.jobHandler(t, tracks.ReconcileOwnersJob)(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := e.count(t, `SELECT count(*) FROM track_owners WHERE display_name LIKE 'User %'`); got != n {
		t.Fatalf("%d owners copied, want %d", got, n)
	}
}
