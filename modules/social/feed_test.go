package social_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/social"
	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/events"
)

func (e *env) feed(t testing.TB, a account, limit int) []track {
	t.Helper()
	return walk[track](t, e, &a, "/api/v1/feed", limit)
}

func trackIDs(list []track) []uuid.UUID {
	out := make([]uuid.UUID, len(list))
	for i, tr := range list {
		out[i] = tr.ID
	}
	return out
}

// waitFeed waits until a's feed is exactly want, in order.
func (e *env) waitFeed(t testing.TB, a account, want []uuid.UUID) []track {
	t.Helper()
	var got []track
	apptest.Eventually(t, 10*time.Second, "the feed to be as expected", func() bool {
		got = e.feed(t, a, 2)
		return sameIDs(trackIDs(got), want)
	})
	return got
}

// The feed holds the public tracks of the users the reader follows, newest
// first, across keyset pages, each shaped like a GET /tracks item with its
// owner; not their unlisted or private tracks, nor anyone else's. It is
// empty when following nobody, and follows visibility changes, deletions
// and unfollows.
func TestFeed(t *testing.T) {
	e := start(t, nil)
	ann, bob, cat, dan := e.user(t, "ann", "user"), e.user(t, "bob", "creator"), e.user(t, "cat", "creator"), e.user(t, "dan", "creator")
	if got := e.feed(t, ann, 20); len(got) != 0 {
		t.Fatalf("a feed following nobody: %d tracks", len(got))
	}
	b1 := e.upload(t, bob, "bob 1", "public")
	c1 := e.upload(t, cat, "cat 1", "public")
	e.upload(t, bob, "bob unlisted", "unlisted")
	e.upload(t, cat, "cat private", "private")
	e.upload(t, dan, "dan 1", "public")
	b2 := e.upload(t, bob, "bob 2", "public")
	c2 := e.upload(t, cat, "cat 2", "public")
	for _, u := range []account{bob, cat} {
		e.Do(t, "POST", followPath(u.ID), nil, as(ann)...).Status(t, 200)
	}
	got := e.waitFeed(t, ann, []uuid.UUID{c2.ID, b2.ID, c1.ID, b1.ID})
	if got[0].Owner.ID != cat.ID || got[0].Owner.Username != "cat" || got[0].Title != "cat 2" || got[0].Visibility != "public" {
		t.Fatalf("a feed item: %+v", got[0])
	}
	if other := e.feed(t, bob, 20); len(other) != 0 {
		t.Fatalf("bob follows nobody, yet his feed has %d tracks", len(other))
	}

	e.Do(t, "PUT", "/api/v1/tracks/"+c2.ID.String(), map[string]string{"visibility": "private"}, as(cat)...).Status(t, 200)
	e.Do(t, "DELETE", "/api/v1/tracks/"+b1.ID.String(), nil, as(bob)...).Status(t, 204)
	e.waitFeed(t, ann, []uuid.UUID{b2.ID, c1.ID})
	e.Do(t, "PUT", "/api/v1/tracks/"+c2.ID.String(), map[string]string{"visibility": "public"}, as(cat)...).Status(t, 200)
	e.waitFeed(t, ann, []uuid.UUID{c2.ID, b2.ID, c1.ID})
	e.Do(t, "DELETE", followPath(cat.ID), nil, as(ann)...).Status(t, 204)
	e.waitFeed(t, ann, []uuid.UUID{b2.ID})
	e.Do(t, "GET", "/api/v1/feed", nil).ErrorCode(t, 401, "unauthorized")
	e.Do(t, "GET", "/api/v1/feed?cursor=bogus", nil, as(ann)...).ErrorCode(t, 400, "bad_cursor")
}

// Tracks made before the module heard of them (no events: an existing
// deployment enabling social, or events lost) reach the feed through the
// reconciliation, which also buries tracks deleted without an event; a
// page boundary between tracks of the same second orders by id.
func TestFeedReconciliation(t *testing.T) {
	e := start(t, nil)
	ann, bob, cat := e.user(t, "ann", "user"), e.user(t, "bob", "creator"), e.user(t, "cat", "creator")
	for _, u := range []account{bob, cat} {
		e.Do(t, "POST", followPath(u.ID), nil, as(ann)...).Status(t, 200)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	bobs := e.seedTracks(t, bob.ID, 7, "public", base)
	cats := e.seedTracks(t, cat.ID, 7, "public", base.Add(500*time.Millisecond))
	e.seedTracks(t, cat.ID, 3, "unlisted", base)
	same := e.seedTracks(t, bob.ID, 3, "public", base.Add(-time.Hour)) // three in the same instant
	e.exec(t, `UPDATE tracks SET created_at = $2 WHERE id = ANY($1::uuid[])`, uuidArray(same), base.Add(-time.Hour))
	if got := e.feed(t, ann, 20); len(got) != 0 {
		t.Fatalf("the feed shows %d tracks it heard nothing of", len(got))
	}
	reconcile := e.job(t, social.ReconcileFeedJob)
	reconcile()
	var want []uuid.UUID
	for i := 6; i >= 0; i-- {
		want = append(want, cats[i], bobs[i])
	}
	sameSecond := slices.Clone(same)
	slices.SortFunc(sameSecond, func(a, b uuid.UUID) int { return -compareUUID(a, b) })
	want = append(want, sameSecond...)
	for _, limit := range []int{1, 2, 3, 5, 100} {
		if got := trackIDs(e.feed(t, ann, limit)); !sameIDs(got, want) {
			t.Fatalf("limit %d: feed %v, want %v", limit, got, want)
		}
	}
	// Deleted behind the module's back: the next run buries them.
	e.exec(t, `DELETE FROM tracks WHERE id = ANY($1::uuid[])`, uuidArray([]uuid.UUID{bobs[6], cats[0]}))
	reconcile()
	if got := e.feed(t, ann, 100); len(got) != len(want)-2 || slices.Contains(trackIDs(got), bobs[6]) {
		t.Fatalf("after the deletions the feed holds %d tracks", len(got))
	}
	if n := e.count(t, `SELECT count(*) FROM social_feed_tracks WHERE deleted`); n != 2 {
		t.Fatalf("%d tombstones, want 2", n)
	}
}

// Track events delivered late, twice or out of order never bring back an
// older state, and a deleted track never comes back.
func TestFeedEventsOutOfOrder(t *testing.T) {
	e := start(t, nil)
	ann, bob := e.user(t, "ann", "user"), e.user(t, "bob", "creator")
	e.Do(t, "POST", followPath(bob.ID), nil, as(ann)...).Status(t, 200)
	updated := e.subscription(t, "social", tracksapi.EventTrackUpdated)
	deleted := e.subscription(t, "social", tracksapi.EventTrackDeleted)
	id := uuid.Must(uuid.NewV7())
	t0 := time.Now().Add(-time.Minute).UTC()
	ev := func(typ, vis string, version time.Time) events.Event {
		b, _ := json.Marshal(tracksapi.TrackEvent{TrackID: id, OwnerID: bob.ID, Visibility: vis, At: version, CreatedAt: t0, UpdatedAt: version})
		return events.Event{ID: uuid.Must(uuid.NewV7()), Type: typ, Module: "tracks", Payload: b, CreatedAt: version}
	}
	e.exec(t, `INSERT INTO tracks (id, owner_id, title, visibility, status, format, content_type, size_bytes, storage_key, created_at)
		VALUES ($1, $2, 'x', 'public', 'ready', 'wav', 'audio/wav', 1, 'aa/x.wav', $3)`, id, bob.ID, t0)
	ctx := context.Background()
	for _, step := range []events.Event{
		ev(tracksapi.EventTrackUpdated, "public", t0.Add(3*time.Second)),
		ev(tracksapi.EventTrackUpdated, "private", t0.Add(2*time.Second)), // older: ignored
		ev(tracksapi.EventTrackUpdated, "public", t0.Add(3*time.Second)),
	} {
		if err := updated(ctx, step); err != nil {
			t.Fatal(err)
		}
	}
	if got := trackIDs(e.feed(t, ann, 20)); !sameIDs(got, []uuid.UUID{id}) {
		t.Fatalf("feed %v", got)
	}
	if err := deleted(ctx, ev(tracksapi.EventTrackDeleted, "public", t0.Add(4*time.Second))); err != nil {
		t.Fatal(err)
	}
	if err := updated(ctx, ev(tracksapi.EventTrackUpdated, "public", t0.Add(5*time.Second))); err != nil {
		t.Fatal(err)
	}
	e.job(t, social.ReconcileFeedJob)() // the row is still in tracks' table: the walk must not revive it either
	if got := e.feed(t, ann, 20); len(got) != 0 {
		t.Fatalf("a deleted track came back: %v", trackIDs(got))
	}
}

func uuidArray(ids []uuid.UUID) string {
	b, _ := json.Marshal(ids)
	return "{" + string(b[1:len(b)-1]) + "}"
}

func compareUUID(a, b uuid.UUID) int {
	return slices.Compare(a[:], b[:])
}
