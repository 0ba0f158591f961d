package playlists_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/playlists"
	"github.com/veza/veza/modules/tracks"
)

const plPassword = "correct horse battery staple"

type plEnv struct{ *apptest.Server }

func plStart(t *testing.T) *plEnv {
	t.Helper()
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module(), tracks.Module(), playlists.Module()}, Env: map[string]string{
		"VEZA_AUTH_REQUIRE_VERIFIED_EMAIL": "false", "MAIL_DRIVER": "log", "UPLOAD_DIR": t.TempDir(), "RATE_LIMIT_LIMIT": "100000"}})
	return &plEnv{Server: srv}
}

type plAccount struct {
	ID    uuid.UUID
	Token string
}

func plAs(a plAccount) []string { return []string{"Authorization", "Bearer " + a.Token} }

// plUser registers name, gives it role, and logs it in.
func (e *plEnv) plUser(t *testing.T, name, role string) plAccount {
	t.Helper()
	var reg struct {
		User struct {
			ID uuid.UUID `json:"id"`
		} `json:"user"`
	}
	email := name + "@example.com"
	e.Do(t, "POST", "/api/v1/auth/register", map[string]string{"username": name, "email": email, "password": plPassword}).Status(t, 201).Data(t, &reg)
	if role != "user" {
		e.plExec(t, `UPDATE users SET role = $2 WHERE id = $1`, reg.User.ID, role)
	}
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": plPassword}).Status(t, 200).Data(t, &tk)
	return plAccount{ID: reg.User.ID, Token: tk.AccessToken}
}

func (e *plEnv) plExec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := e.Runtime.DB().Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// plTrack inserts a ready track row: playlists do not care how it came.
// Only tests write another module's table, to make tracks quickly.
func (e *plEnv) plTrack(t *testing.T, owner uuid.UUID, visibility string) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	e.plExec(t, `INSERT INTO tracks (id, owner_id, title, visibility, status, format, content_type, size_bytes, storage_key)
		VALUES ($1, $2, $3, $4, 'ready', 'wav', 'audio/wav', 1, $5)`, id, owner, "track "+id.String()[:8], visibility, "xx/"+id.String()+".wav")
	return id
}

type plPlace struct {
	Position int       `json:"position"`
	AddedBy  uuid.UUID `json:"added_by"`
	Track    struct {
		ID         uuid.UUID `json:"id"`
		Visibility string    `json:"visibility"`
	} `json:"track"`
}

type plDetail struct {
	ID            uuid.UUID    `json:"id"`
	OwnerID       uuid.UUID    `json:"owner_id"`
	Title         string       `json:"title"`
	Description   string       `json:"description"`
	Visibility    string       `json:"visibility"`
	Tracks        []plPlace    `json:"tracks"`
	Collaborators *[]uuid.UUID `json:"collaborators"`
}

// plIDs is the order of the tracks shown.
func (d plDetail) plIDs() []uuid.UUID {
	out := []uuid.UUID{}
	for _, p := range d.Tracks {
		out = append(out, p.Track.ID)
	}
	return out
}

func plPath(id uuid.UUID, rest ...string) string {
	return "/api/v1/playlists/" + id.String() + strings.Join(rest, "")
}

func (e *plEnv) plCreate(t *testing.T, a plAccount, title, visibility string) plDetail {
	t.Helper()
	var d plDetail
	e.Do(t, "POST", "/api/v1/playlists", map[string]string{"title": title, "visibility": visibility}, plAs(a)...).Status(t, 201).Data(t, &d)
	return d
}

func (e *plEnv) plGet(t *testing.T, a *plAccount, id uuid.UUID) plDetail {
	t.Helper()
	var headers []string
	if a != nil {
		headers = plAs(*a)
	}
	var d plDetail
	e.Do(t, "GET", plPath(id), nil, headers...).Status(t, 200).Data(t, &d)
	return d
}

func (e *plEnv) plAdd(t *testing.T, a plAccount, pl, track uuid.UUID, pos any) plDetail {
	t.Helper()
	body := map[string]any{"track_id": track}
	if pos != nil {
		body["position"] = pos
	}
	var d plDetail
	e.Do(t, "POST", plPath(pl, "/tracks"), body, plAs(a)...).Status(t, 201).Data(t, &d)
	return d
}

func (e *plEnv) plAddCollaborator(t *testing.T, owner plAccount, pl, user uuid.UUID) {
	t.Helper()
	e.Do(t, "POST", plPath(pl, "/collaborators"), map[string]any{"user_id": user}, plAs(owner)...).Status(t, 201)
}

// plDense reads the playlist's rows and fails unless their positions are
// exactly 0..want-1; it returns the track ids in order.
func (e *plEnv) plDense(t *testing.T, pl uuid.UUID, want int) []uuid.UUID {
	t.Helper()
	var rows []struct {
		TrackID  uuid.UUID `db:"track_id"`
		Position int       `db:"position"`
	}
	if err := e.Runtime.DB().Select(&rows, `SELECT track_id, position FROM playlist_tracks WHERE playlist_id = $1 ORDER BY position`, pl); err != nil {
		t.Fatal(err)
	}
	if len(rows) != want {
		t.Fatalf("playlist has %d rows, want %d: %+v", len(rows), want, rows)
	}
	out := make([]uuid.UUID, len(rows))
	for i, r := range rows {
		if r.Position != i {
			t.Fatalf("positions are not dense: row %d has position %d: %+v", i, r.Position, rows)
		}
		out[i] = r.TrackID
	}
	return out
}

// plWaitLen waits until the playlist holds n places.
func (e *plEnv) plWaitLen(t *testing.T, pl uuid.UUID, n int) {
	t.Helper()
	apptest.Eventually(t, 10*time.Second, fmt.Sprintf("playlist %s holding %d tracks", pl, n), func() bool {
		var got int
		err := e.Runtime.DB().Get(&got, `SELECT count(*) FROM playlist_tracks WHERE playlist_id = $1`, pl)
		return err == nil && got == n
	})
}

func plEqual(t *testing.T, what string, got, want []uuid.UUID) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func TestPlaylistCRUD(t *testing.T) {
	e := plStart(t)
	a := e.plUser(t, "alice", "user")
	b := e.plUser(t, "bob", "user")
	admin := e.plUser(t, "root", "admin")

	e.Do(t, "POST", "/api/v1/playlists", map[string]string{"title": "x"}).ErrorCode(t, 401, "unauthorized")
	for _, bad := range []struct {
		body  any
		field string
	}{
		{map[string]any{}, "title"},
		{map[string]any{"title": "   "}, "title"},
		{map[string]any{"title": strings.Repeat("é", 201)}, "title"},
		{map[string]any{"title": "ok", "description": strings.Repeat("d", 2001)}, "description"},
		{map[string]any{"title": "ok", "visibility": "friends"}, "visibility"},
		{map[string]any{"title": "a\x00b"}, "body"},
		{map[string]any{"title": "ok", "colour": "red"}, "colour"},
		{map[string]any{"title": 5}, "title"},
	} {
		env := e.Do(t, "POST", "/api/v1/playlists", bad.body, plAs(a)...).ErrorCode(t, 422, "validation_failed")
		if len(env.Error.Details) == 0 || env.Error.Details[0].Field != bad.field {
			t.Fatalf("%v: details %+v, want field %s", bad.body, env.Error.Details, bad.field)
		}
	}
	e.Do(t, "POST", "/api/v1/playlists", []byte(`{"title":`), "Content-Type", "application/json", "Authorization", "Bearer "+a.Token).ErrorCode(t, 400, "malformed_json")

	var d plDetail
	e.Do(t, "POST", "/api/v1/playlists", map[string]string{"title": "  Late night  ", "description": "slow"}, plAs(a)...).Status(t, 201).Data(t, &d)
	if d.Title != "Late night" || d.Description != "slow" || d.Visibility != "public" || d.OwnerID != a.ID ||
		d.Tracks == nil || len(d.Tracks) != 0 || d.Collaborators == nil || len(*d.Collaborators) != 0 {
		t.Fatalf("created: %+v", d)
	}
	got := e.plGet(t, nil, d.ID)
	if got.Title != "Late night" || got.Collaborators != nil {
		t.Fatalf("anonymous get: %+v", got)
	}

	// Absent fields stay.
	var upd plDetail
	e.Do(t, "PUT", plPath(d.ID), map[string]string{"description": "slower"}, plAs(a)...).Status(t, 200).Data(t, &upd)
	if upd.Title != "Late night" || upd.Description != "slower" || upd.Visibility != "public" {
		t.Fatalf("updated: %+v", upd)
	}
	e.Do(t, "PUT", plPath(d.ID), map[string]string{"title": ""}, plAs(a)...).ErrorCode(t, 422, "validation_failed")
	e.Do(t, "PUT", plPath(d.ID), map[string]string{"title": "Renamed", "visibility": "unlisted"}, plAs(a)...).Status(t, 200).Data(t, &upd)
	if upd.Title != "Renamed" || upd.Visibility != "unlisted" || upd.Description != "slower" {
		t.Fatalf("updated: %+v", upd)
	}
	e.Do(t, "PUT", plPath(d.ID), map[string]string{"title": "Mine"}, plAs(b)...).ErrorCode(t, 403, "forbidden")
	e.Do(t, "DELETE", plPath(d.ID), nil, plAs(b)...).ErrorCode(t, 403, "forbidden")

	// An admin may edit and delete anyone's playlist.
	e.Do(t, "PUT", plPath(d.ID), map[string]string{"title": "Moderated"}, plAs(admin)...).Status(t, 200).Data(t, &upd)
	if upd.Title != "Moderated" {
		t.Fatalf("admin update: %+v", upd)
	}
	e.Do(t, "DELETE", plPath(d.ID), nil, plAs(admin)...).Status(t, 204)
	e.Do(t, "GET", plPath(d.ID), nil).ErrorCode(t, 404, "not_found")

	own := e.plCreate(t, a, "Own", "private")
	e.Do(t, "DELETE", plPath(own.ID), nil, plAs(a)...).Status(t, 204)
	e.Do(t, "DELETE", plPath(own.ID), nil, plAs(a)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "GET", "/api/v1/playlists/not-a-uuid", nil).ErrorCode(t, 404, "not_found")

	// The list: public ones only, newest first, in keyset pages.
	var public []uuid.UUID
	for i := range 5 {
		public = append(public, e.plCreate(t, b, fmt.Sprintf("public %d", i), "public").ID)
	}
	e.plCreate(t, b, "hidden", "private")
	e.plCreate(t, b, "by link", "unlisted")
	slices.Reverse(public)
	var listed []uuid.UUID
	cursor := ""
	for pages := 0; ; pages++ {
		var pg struct {
			Items      []plDetail `json:"items"`
			NextCursor *string    `json:"next_cursor"`
		}
		path := "/api/v1/playlists?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		e.Do(t, "GET", path, nil).Status(t, 200).Data(t, &pg)
		for _, it := range pg.Items {
			if it.Tracks != nil || it.Collaborators != nil {
				t.Fatalf("list items carry tracks or collaborators: %+v", it)
			}
			listed = append(listed, it.ID)
		}
		if pg.NextCursor == nil {
			if pages != 2 {
				t.Fatalf("%d pages, want 3", pages+1)
			}
			break
		}
		cursor = *pg.NextCursor
	}
	plEqual(t, "public list", listed, public)
	e.Do(t, "GET", "/api/v1/playlists?limit=0", nil).ErrorCode(t, 400, "bad_limit")
	e.Do(t, "GET", "/api/v1/playlists?limit=101", nil).ErrorCode(t, 400, "bad_limit")
	e.Do(t, "GET", "/api/v1/playlists?cursor=nonsense!", nil).ErrorCode(t, 400, "bad_cursor")
}

func TestPlaylistVisibilityMatrix(t *testing.T) {
	e := plStart(t)
	owner := e.plUser(t, "owner", "user")
	other := e.plUser(t, "other", "user")
	collab := e.plUser(t, "collab", "user")
	admin := e.plUser(t, "admin", "admin")
	track := e.plTrack(t, owner.ID, "public")

	callers := []struct {
		name   string
		who    *plAccount
		member bool
	}{{"anonymous", nil, false}, {"other user", &other, false}, {"collaborator", &collab, true}, {"owner", &owner, true}, {"admin", &admin, false}}
	for _, vis := range []string{"public", "unlisted", "private"} {
		pl := e.plCreate(t, owner, vis, vis)
		e.plAdd(t, owner, pl.ID, track, nil)
		e.plAddCollaborator(t, owner, pl.ID, collab.ID)
		for _, c := range callers {
			var headers []string
			if c.who != nil {
				headers = plAs(*c.who)
			}
			res := e.Do(t, "GET", plPath(pl.ID), nil, headers...)
			if vis == "private" && (c.who == nil || *c.who == other) {
				res.ErrorCode(t, 404, "not_found")
				continue
			}
			var d plDetail
			res.Status(t, 200).Data(t, &d)
			plEqual(t, vis+" as "+c.name, d.plIDs(), []uuid.UUID{track})
			if c.member != (d.Collaborators != nil) {
				t.Fatalf("%s playlist as %s: collaborators %v", vis, c.name, d.Collaborators)
			}
			if c.member && !slices.Equal(*d.Collaborators, []uuid.UUID{collab.ID}) {
				t.Fatalf("%s playlist as %s: collaborators %v", vis, c.name, *d.Collaborators)
			}
		}
	}
	var pg struct {
		Items []plDetail `json:"items"`
	}
	e.Do(t, "GET", "/api/v1/playlists", nil, plAs(owner)...).Status(t, 200).Data(t, &pg)
	if len(pg.Items) != 1 || pg.Items[0].Visibility != "public" {
		t.Fatalf("list: %+v", pg.Items)
	}
}

func TestPlaylistIDOR(t *testing.T) {
	e := plStart(t)
	a := e.plUser(t, "alice", "user")
	b := e.plUser(t, "bob", "user")
	c := e.plUser(t, "carol", "user")
	aTrack := e.plTrack(t, a.ID, "public")
	bTrack := e.plTrack(t, b.ID, "public")

	routes := func(pl uuid.UUID) []struct {
		method, path string
		body         any
	} {
		return []struct {
			method, path string
			body         any
		}{
			{"GET", plPath(pl), nil},
			{"PUT", plPath(pl), map[string]string{"title": "taken"}},
			{"DELETE", plPath(pl), nil},
			{"POST", plPath(pl, "/tracks"), map[string]any{"track_id": bTrack}},
			{"POST", plPath(pl, "/tracks"), map[string]any{"track_id": aTrack}},
			{"DELETE", plPath(pl, "/tracks/", aTrack.String()), nil},
			{"DELETE", plPath(pl, "/tracks/not-a-uuid"), nil},
			{"PUT", plPath(pl, "/tracks/order"), map[string]any{"track_ids": []uuid.UUID{aTrack}}},
			{"PUT", plPath(pl, "/tracks/order"), map[string]any{"track_ids": []string{"junk"}}},
			{"POST", plPath(pl, "/collaborators"), map[string]any{"user_id": b.ID}},
			{"POST", plPath(pl, "/collaborators"), map[string]any{"user_id": "junk"}},
			{"DELETE", plPath(pl, "/collaborators/", c.ID.String()), nil},
			{"DELETE", plPath(pl, "/collaborators/", b.ID.String()), nil},
		}
	}
	snapshot := func(pl uuid.UUID) string {
		var s string
		if err := e.Runtime.DB().Get(&s, `SELECT coalesce((SELECT row_to_json(p)::text FROM playlists p WHERE id = $1), '') ||
			coalesce((SELECT string_agg(track_id::text || ':' || position, ',' ORDER BY position) FROM playlist_tracks WHERE playlist_id = $1), '') ||
			coalesce((SELECT string_agg(user_id::text, ',' ORDER BY user_id) FROM playlist_collaborators WHERE playlist_id = $1), '')`, pl); err != nil {
			t.Fatal(err)
		}
		return s
	}

	private := e.plCreate(t, a, "secret", "private")
	public := e.plCreate(t, a, "open", "public")
	for _, pl := range []uuid.UUID{private.ID, public.ID} {
		e.plAdd(t, a, pl, aTrack, nil)
		e.plAddCollaborator(t, a, pl, c.ID)
	}

	before := snapshot(private.ID)
	for _, r := range routes(private.ID) {
		res := e.Do(t, r.method, r.path, r.body, plAs(b)...)
		env := res.ErrorCode(t, 404, "not_found")
		if env.Error.Message != "playlist not found" {
			t.Fatalf("%s %s: message %q reveals more than the playlist's absence", r.method, r.path, env.Error.Message)
		}
		// Anonymous callers learn nothing more: 404 for reads, 401 for writes.
		if r.method == "GET" {
			e.Do(t, r.method, r.path, r.body).ErrorCode(t, 404, "not_found")
		} else {
			e.Do(t, r.method, r.path, r.body).ErrorCode(t, 401, "unauthorized")
		}
	}
	if after := snapshot(private.ID); after != before {
		t.Fatalf("B changed A's private playlist:\n%s\n%s", before, after)
	}

	before = snapshot(public.ID)
	for _, r := range routes(public.ID) {
		res := e.Do(t, r.method, r.path, r.body, plAs(b)...)
		if r.method == "GET" {
			res.Status(t, 200)
			continue
		}
		res.ErrorCode(t, 403, "forbidden")
	}
	if after := snapshot(public.ID); after != before {
		t.Fatalf("B changed A's public playlist:\n%s\n%s", before, after)
	}
}

func TestPlaylistTracks(t *testing.T) {
	e := plStart(t)
	a := e.plUser(t, "alice", "user")
	x := e.plUser(t, "xavier", "user")
	pl := e.plCreate(t, a, "mix", "public").ID
	t1, t2, t3, t4, t5 := e.plTrack(t, a.ID, "public"), e.plTrack(t, a.ID, "private"), e.plTrack(t, a.ID, "unlisted"), e.plTrack(t, a.ID, "public"), e.plTrack(t, a.ID, "public")

	d := e.plAdd(t, a, pl, t1, nil)
	plEqual(t, "append to empty", d.plIDs(), []uuid.UUID{t1})
	d = e.plAdd(t, a, pl, t2, 0)
	plEqual(t, "insert at 0", d.plIDs(), []uuid.UUID{t2, t1})
	plEqual(t, "rows", e.plDense(t, pl, 2), []uuid.UUID{t2, t1})
	d = e.plAdd(t, a, pl, t3, 1)
	plEqual(t, "insert in the middle", e.plDense(t, pl, 3), []uuid.UUID{t2, t3, t1})
	for i, p := range d.Tracks {
		if p.Position != i || p.AddedBy != a.ID {
			t.Fatalf("place %d: %+v", i, p)
		}
	}
	e.plAdd(t, a, pl, t4, 999)
	plEqual(t, "position clamped to n", e.plDense(t, pl, 4), []uuid.UUID{t2, t3, t1, t4})
	e.plAdd(t, a, pl, t5, -7)
	plEqual(t, "position clamped to 0", e.plDense(t, pl, 5), []uuid.UUID{t5, t2, t3, t1, t4})

	// The private and unlisted tracks are A's own: the playlist does not
	// list them to others.
	anon := e.plGet(t, nil, pl)
	plEqual(t, "anonymous view", anon.plIDs(), []uuid.UUID{t5, t1, t4})
	if anon.Tracks[1].Position != 3 {
		t.Fatalf("hidden tracks keep their places: %+v", anon.Tracks)
	}
	plEqual(t, "owner's view", e.plGet(t, &a, pl).plIDs(), []uuid.UUID{t5, t2, t3, t1, t4})

	e.Do(t, "POST", plPath(pl, "/tracks"), map[string]any{"track_id": t1}, plAs(a)...).ErrorCode(t, 409, "already_in_playlist")
	e.Do(t, "POST", plPath(pl, "/tracks"), map[string]any{"track_id": uuid.New()}, plAs(a)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "POST", plPath(pl, "/tracks"), map[string]any{"track_id": "junk"}, plAs(a)...).ErrorCode(t, 422, "validation_failed")
	e.Do(t, "POST", plPath(pl, "/tracks"), map[string]any{}, plAs(a)...).ErrorCode(t, 422, "validation_failed")
	e.Do(t, "POST", plPath(pl, "/tracks"), map[string]any{"track_id": t1, "position": 1.5}, plAs(a)...).ErrorCode(t, 422, "validation_failed")

	// Someone else's private track is not found, and nothing is added.
	xPrivate := e.plTrack(t, x.ID, "private")
	env := e.Do(t, "POST", plPath(pl, "/tracks"), map[string]any{"track_id": xPrivate}, plAs(a)...).ErrorCode(t, 404, "not_found")
	if env.Error.Message != "track not found" {
		t.Fatalf("message %q", env.Error.Message)
	}
	e.plDense(t, pl, 5)

	// Removal closes the gap.
	e.Do(t, "DELETE", plPath(pl, "/tracks/", t3.String()), nil, plAs(a)...).Status(t, 204)
	plEqual(t, "after removal", e.plDense(t, pl, 4), []uuid.UUID{t5, t2, t1, t4})
	e.Do(t, "DELETE", plPath(pl, "/tracks/", t3.String()), nil, plAs(a)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "DELETE", plPath(pl, "/tracks/junk"), nil, plAs(a)...).ErrorCode(t, 404, "not_found")

	// Reorder: exactly the current set, else 422 with details.
	wrong := []struct {
		name string
		ids  any
	}{
		{"missing one", []uuid.UUID{t5, t2, t1}},
		{"one too many", []uuid.UUID{t5, t2, t1, t4, t3}},
		{"a duplicate", []uuid.UUID{t5, t2, t1, t4, t4}},
		{"a stranger", []uuid.UUID{t5, t2, t1, xPrivate}},
		{"not an id", []string{t5.String(), t2.String(), t1.String(), "junk"}},
		{"absent", nil},
	}
	for _, w := range wrong {
		body := map[string]any{}
		if w.ids != nil {
			body["track_ids"] = w.ids
		}
		env := e.Do(t, "PUT", plPath(pl, "/tracks/order"), body, plAs(a)...).ErrorCode(t, 422, "validation_failed")
		if len(env.Error.Details) == 0 || env.Error.Details[0].Field != "track_ids" {
			t.Fatalf("%s: details %+v", w.name, env.Error.Details)
		}
	}
	plEqual(t, "after refused orders", e.plDense(t, pl, 4), []uuid.UUID{t5, t2, t1, t4})
	e.Do(t, "PUT", plPath(pl, "/tracks/order"), map[string]any{"track_ids": []uuid.UUID{t4, t1, t2, t5}}, plAs(a)...).Status(t, 200).Data(t, &d)
	plEqual(t, "answer after reorder", d.plIDs(), []uuid.UUID{t4, t1, t2, t5})
	plEqual(t, "rows after reorder", e.plDense(t, pl, 4), []uuid.UUID{t4, t1, t2, t5})

	// A track made private by its owner after it was added: gone from
	// others' view, in its place for the owner; the others reorder around it.
	xTrack := e.plTrack(t, x.ID, "public")
	e.plAdd(t, a, pl, xTrack, 1)
	plEqual(t, "rows", e.plDense(t, pl, 5), []uuid.UUID{t4, xTrack, t1, t2, t5})
	e.Do(t, "PUT", "/api/v1/tracks/"+xTrack.String(), map[string]string{"visibility": "private"}, plAs(x)...).Status(t, 200)
	plEqual(t, "owner's view", e.plGet(t, &a, pl).plIDs(), []uuid.UUID{t4, t1, t2, t5})
	plEqual(t, "track owner's view", e.plGet(t, &x, pl).plIDs(), []uuid.UUID{t4, xTrack, t1, t5})
	e.Do(t, "PUT", plPath(pl, "/tracks/order"), map[string]any{"track_ids": []uuid.UUID{t5, t2, t1, t4}}, plAs(a)...).Status(t, 200)
	plEqual(t, "hidden track kept its place", e.plDense(t, pl, 5), []uuid.UUID{t5, xTrack, t2, t1, t4})

	// Deleting a track through the API closes its gap in every playlist,
	// once its track.deleted event arrives.
	other := e.plCreate(t, a, "other", "private").ID
	e.plAdd(t, a, other, t2, nil)
	e.plAdd(t, a, other, t1, nil)
	e.plAdd(t, a, other, t4, nil)
	e.Do(t, "DELETE", "/api/v1/tracks/"+t1.String(), nil, plAs(a)...).Status(t, 204)
	e.plWaitLen(t, other, 2)
	e.plWaitLen(t, pl, 4)
	plEqual(t, "after track deletion", e.plDense(t, pl, 4), []uuid.UUID{t5, xTrack, t2, t4})
	plEqual(t, "other after track deletion", e.plDense(t, other, 2), []uuid.UUID{t2, t4})
}

func TestPlaylistFull(t *testing.T) {
	e := plStart(t)
	a := e.plUser(t, "alice", "user")
	pl := e.plCreate(t, a, "huge", "public").ID
	e.plExec(t, `
		WITH t AS (
			INSERT INTO tracks (id, owner_id, title, status, format, content_type, size_bytes, storage_key)
			SELECT gen_random_uuid(), $2, 'bulk ' || g, 'ready', 'wav', 'audio/wav', 1, 'tracks/xx/bulk' || g || '.wav'
			FROM generate_series(1, 5000) g RETURNING id
		)
		INSERT INTO playlist_tracks (playlist_id, track_id, position, added_by)
		SELECT $1, id, row_number() OVER () - 1, $2 FROM t`, pl, a.ID)
	extra := e.plTrack(t, a.ID, "public")
	e.Do(t, "POST", plPath(pl, "/tracks"), map[string]any{"track_id": extra}, plAs(a)...).ErrorCode(t, 409, "playlist_full")
	e.plDense(t, pl, 5000)
	e.Do(t, "DELETE", plPath(pl, "/tracks/", e.plDense(t, pl, 5000)[0].String()), nil, plAs(a)...).Status(t, 204)
	e.plAdd(t, a, pl, extra, 0)
	e.plDense(t, pl, 5000)
}

func TestPlaylistCollaborators(t *testing.T) {
	e := plStart(t)
	a := e.plUser(t, "alice", "user")
	c := e.plUser(t, "carol", "user")
	d := e.plUser(t, "dave", "user")
	admin := e.plUser(t, "admin", "admin")
	banned := e.plUser(t, "banned", "user")
	e.plExec(t, `UPDATE users SET banned_at = now() WHERE id = $1`, banned.ID)
	pl := e.plCreate(t, a, "shared", "private").ID

	e.plAddCollaborator(t, a, pl, c.ID)
	e.Do(t, "POST", plPath(pl, "/collaborators"), map[string]any{"user_id": c.ID}, plAs(a)...).ErrorCode(t, 409, "already_collaborator")
	for _, bad := range []any{a.ID, uuid.New(), banned.ID, "junk", nil} {
		body := map[string]any{}
		if bad != nil {
			body["user_id"] = bad
		}
		env := e.Do(t, "POST", plPath(pl, "/collaborators"), body, plAs(a)...).ErrorCode(t, 422, "validation_failed")
		if env.Error.Details[0].Field != "user_id" {
			t.Fatalf("%v: %+v", bad, env.Error.Details)
		}
	}
	e.plAddCollaborator(t, a, pl, d.ID)
	if got := *e.plGet(t, &c, pl).Collaborators; !slices.Equal(got, []uuid.UUID{c.ID, d.ID}) {
		t.Fatalf("collaborators %v", got)
	}

	// A collaborator edits the tracks, with tracks they may see...
	ct1, ct2 := e.plTrack(t, c.ID, "private"), e.plTrack(t, c.ID, "public")
	e.plAdd(t, c, pl, ct1, nil)
	e.plAdd(t, c, pl, ct2, nil)
	at := e.plTrack(t, a.ID, "public")
	e.plAdd(t, c, pl, at, 0)
	e.Do(t, "POST", plPath(pl, "/tracks"), map[string]any{"track_id": e.plTrack(t, a.ID, "private")}, plAs(c)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "PUT", plPath(pl, "/tracks/order"), map[string]any{"track_ids": []uuid.UUID{ct2, ct1, at}}, plAs(c)...).Status(t, 200)
	plEqual(t, "reordered by a collaborator", e.plDense(t, pl, 3), []uuid.UUID{ct2, ct1, at})
	e.Do(t, "DELETE", plPath(pl, "/tracks/", ct2.String()), nil, plAs(c)...).Status(t, 204)
	plEqual(t, "removed by a collaborator", e.plDense(t, pl, 2), []uuid.UUID{ct1, at})
	// ...but the owner does not see the collaborator's private track.
	plEqual(t, "owner's view", e.plGet(t, &a, pl).plIDs(), []uuid.UUID{at})

	// ...and may not rename, delete, or manage collaborators.
	e.Do(t, "PUT", plPath(pl), map[string]string{"title": "mine"}, plAs(c)...).ErrorCode(t, 403, "forbidden")
	e.Do(t, "DELETE", plPath(pl), nil, plAs(c)...).ErrorCode(t, 403, "forbidden")
	e.Do(t, "POST", plPath(pl, "/collaborators"), map[string]any{"user_id": admin.ID}, plAs(c)...).ErrorCode(t, 403, "forbidden")
	e.Do(t, "DELETE", plPath(pl, "/collaborators/", d.ID.String()), nil, plAs(c)...).ErrorCode(t, 403, "forbidden")

	// An admin sees and edits the details, but is no member.
	e.Do(t, "POST", plPath(pl, "/tracks"), map[string]any{"track_id": at}, plAs(admin)...).ErrorCode(t, 403, "forbidden")
	e.Do(t, "POST", plPath(pl, "/collaborators"), map[string]any{"user_id": admin.ID}, plAs(admin)...).ErrorCode(t, 403, "forbidden")

	// A collaborator may leave; the owner may remove one.
	e.Do(t, "DELETE", plPath(pl, "/collaborators/", c.ID.String()), nil, plAs(c)...).Status(t, 204)
	e.Do(t, "GET", plPath(pl), nil, plAs(c)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "DELETE", plPath(pl, "/collaborators/", d.ID.String()), nil, plAs(a)...).Status(t, 204)
	e.Do(t, "DELETE", plPath(pl, "/collaborators/", d.ID.String()), nil, plAs(a)...).ErrorCode(t, 404, "not_found")
	if got := *e.plGet(t, &a, pl).Collaborators; len(got) != 0 {
		t.Fatalf("collaborators %v", got)
	}
	// The tracks they added stay.
	e.plDense(t, pl, 2)
}

func TestPlaylistEvents(t *testing.T) {
	e := plStart(t)
	a := e.plUser(t, "alice", "user")
	c := e.plUser(t, "carol", "user")
	pl := e.plCreate(t, a, "news", "public").ID
	tr := e.plTrack(t, a.ID, "public")
	tr2 := e.plTrack(t, a.ID, "public")
	e.plAddCollaborator(t, a, pl, c.ID)
	e.plAdd(t, c, pl, tr, nil)
	e.plAdd(t, a, pl, tr2, nil)
	e.Do(t, "PUT", plPath(pl, "/tracks/order"), map[string]any{"track_ids": []uuid.UUID{tr2, tr}}, plAs(a)...).Status(t, 200)
	e.Do(t, "PUT", plPath(pl), map[string]string{"title": "olds"}, plAs(a)...).Status(t, 200)
	e.Do(t, "PUT", plPath(pl), map[string]string{"title": "olds"}, plAs(a)...).Status(t, 200) // no change, no event
	e.Do(t, "DELETE", plPath(pl, "/tracks/", tr.String()), nil, plAs(c)...).Status(t, 204)
	e.Do(t, "DELETE", plPath(pl, "/collaborators/", c.ID.String()), nil, plAs(c)...).Status(t, 204)
	e.Do(t, "DELETE", plPath(pl), nil, plAs(a)...).Status(t, 204)

	var rows []struct {
		Type     string         `db:"type"`
		Module   string         `db:"module"`
		Change   string         `db:"change"`
		Title    string         `db:"title"`
		Audience pq.StringArray `db:"audience"`
	}
	if err := e.Runtime.DB().Select(&rows, `SELECT type, module, coalesce(payload->>'change', '') AS change, payload->>'title' AS title,
		audience::text[] AS audience FROM outbox WHERE kind = 'event' AND payload->>'playlist_id' = $1 ORDER BY created_at, id`, pl.String()); err != nil {
		t.Fatal(err)
	}
	ac := []string{a.ID.String(), c.ID.String()}
	only := []string{a.ID.String()}
	want := []struct {
		typ, change string
		audience    []string
	}{
		{playlists.EventPlaylistCreated, "", only},
		{playlists.EventPlaylistUpdated, "collaborators", ac},
		{playlists.EventPlaylistUpdated, "tracks", ac},
		{playlists.EventPlaylistUpdated, "tracks", ac},
		{playlists.EventPlaylistUpdated, "order", ac},
		{playlists.EventPlaylistUpdated, "details", ac},
		{playlists.EventPlaylistUpdated, "tracks", ac},
		{playlists.EventPlaylistUpdated, "collaborators", ac},
		{playlists.EventPlaylistUpdated, "deleted", only},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(rows), len(want), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Type != w.typ || r.Change != w.change || r.Module != "playlists" || !slices.Equal([]string(r.Audience), w.audience) {
			t.Fatalf("event %d: %+v, want %+v", i, r, w)
		}
	}
	if rows[5].Title != "olds" {
		t.Fatalf("the details event should carry the new title: %+v", rows[5])
	}
}

// plSend is an HTTP call for goroutines, which may not call t.Fatal.
func plSend(client *http.Client, method, url, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func TestPlaylistConcurrentEdits(t *testing.T) {
	e := plStart(t)
	a := e.plUser(t, "alice", "user")
	c := e.plUser(t, "carol", "user")
	pl := e.plCreate(t, a, "busy", "public").ID
	e.plAddCollaborator(t, a, pl, c.ID)
	const initial, adders, reorderers = 10, 20, 10
	for range initial {
		e.plAdd(t, a, pl, e.plTrack(t, a.ID, "public"), nil)
	}
	fresh := make([]uuid.UUID, adders)
	for i := range fresh {
		fresh[i] = e.plTrack(t, a.ID, "public")
	}

	type outcome struct {
		what   string
		status int
		body   string
		err    error
	}
	var mu sync.Mutex
	var outcomes []outcome
	record := func(o outcome) {
		mu.Lock()
		defer mu.Unlock()
		outcomes = append(outcomes, o)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, tr := range fresh {
		who := []plAccount{a, c}[i%2]
		body := map[string]any{"track_id": tr}
		if i%3 != 0 {
			body["position"] = i % 7
		}
		wg.Go(func() {
			<-start
			status, b, err := plSend(e.Client, "POST", e.URL+plPath(pl, "/tracks"), who.Token, body)
			record(outcome{"add", status, string(b), err})
		})
	}
	// A reorder whose set changed between its read and its write is
	// refused; each reorderer tries again until one lands, so that reorders
	// also run between adds, not only before them.
	for i := range reorderers {
		who := []plAccount{a, c}[i%2]
		wg.Go(func() {
			<-start
			for range 50 {
				status, b, err := plSend(e.Client, "GET", e.URL+plPath(pl), who.Token, nil)
				if err != nil || status != 200 {
					record(outcome{"read", status, string(b), err})
					return
				}
				var env struct {
					Data plDetail `json:"data"`
				}
				if err := json.Unmarshal(b, &env); err != nil {
					record(outcome{"read", status, string(b), err})
					return
				}
				ids := env.Data.plIDs()
				slices.Reverse(ids)
				status, b, err = plSend(e.Client, "PUT", e.URL+plPath(pl, "/tracks/order"), who.Token, map[string]any{"track_ids": ids})
				record(outcome{"reorder", status, string(b), err})
				if err != nil || (status != 422 && status != 409) {
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()

	added, reordered, stale := 0, 0, 0
	for _, o := range outcomes {
		switch {
		case o.err != nil:
			t.Errorf("%s: %v", o.what, o.err)
		case o.what == "add" && o.status == 201:
			added++
		case o.what == "reorder" && o.status == 200:
			reordered++
		case o.what == "reorder" && o.status == 422 && strings.Contains(o.body, `"validation_failed"`):
			stale++ // the set changed between its read and its write
		case o.what == "reorder" && o.status == 409 && strings.Contains(o.body, `"playlist_busy"`):
			stale++ // it kept changing while the server tried again
		default:
			t.Errorf("%s: status %d: %s", o.what, o.status, o.body)
		}
	}
	if added != adders || reordered != reorderers {
		t.Fatalf("added %d, reordered %d, stale %d", added, reordered, stale)
	}
	t.Logf("reorders applied %d, refused as stale %d", reordered, stale)
	final := e.plDense(t, pl, initial+adders)
	for _, tr := range fresh {
		if !slices.Contains(final, tr) {
			t.Fatalf("track %s lost", tr)
		}
	}
	plEqual(t, "API view matches the rows", e.plGet(t, &a, pl).plIDs(), final)
}
