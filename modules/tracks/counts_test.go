package tracks_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/modules/social/socialapi"
	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/events"
)

type countsView struct {
	LikeCount    int64 `json:"like_count"`
	CommentCount int64 `json:"comment_count"`
}

func socialEvent(t testing.TB, typ string, payload any) events.Event {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return events.Event{ID: uuid.Must(uuid.NewV7()), Type: typ, Module: "social", Payload: b, CreatedAt: time.Now()}
}

// The counts a track shows are the social module's events' totals, of the
// highest version delivered: repeats and events out of order change
// nothing, a reconciliation batch repairs, and both GET /tracks/:id and
// /stats show them.
func TestCountsFromSocialEvents(t *testing.T) {
	e := start(t, nil)
	owner := uuid.Must(uuid.NewV7())
	id := e.seed(t, owner, 1, "", func(int) string { return "Counted" })[0]
	trackID := uuid.MustParse(id)
	liked := e.subscription(t, socialapi.EventTrackLiked)
	commented := e.subscription(t, socialapi.EventCommentCreated)
	reconciled := e.subscription(t, socialapi.EventTrackCountsReconciled)
	like := func(likes, comments, version int64) events.Event {
		return socialEvent(t, socialapi.EventTrackLiked, socialapi.LikeEvent{TrackID: trackID, TrackOwnerID: owner, UserID: uuid.New(),
			TrackCounts: socialapi.TrackCounts{LikeCount: likes, CommentCount: comments, CountsVersion: version}})
	}
	shows := func(likes, comments int64) {
		t.Helper()
		var got, stats countsView
		e.Do(t, "GET", "/api/v1/tracks/"+id, nil).Status(t, 200).Data(t, &got)
		e.Do(t, "GET", "/api/v1/tracks/"+id+"/stats", nil).Status(t, 200).Data(t, &stats)
		want := countsView{likes, comments}
		if got != want || stats != want {
			t.Fatalf("track shows %+v, stats %+v; want %+v", got, stats, want)
		}
	}
	ctx := context.Background()
	shows(0, 0)
	for _, ev := range []events.Event{like(2, 0, 3), like(1, 0, 2), like(2, 0, 3)} {
		if err := liked(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	shows(2, 0)
	c := socialEvent(t, socialapi.EventCommentCreated, socialapi.CommentEvent{CommentID: uuid.New(), TrackID: trackID, TrackOwnerID: owner,
		UserID: uuid.New(), Body: "nice", TrackCounts: socialapi.TrackCounts{LikeCount: 2, CommentCount: 1, CountsVersion: 4}})
	if err := commented(ctx, c); err != nil {
		t.Fatal(err)
	}
	shows(2, 1)
	// The copy drifted (a lost event): the reconciliation's batch repairs
	// it, an older batch does not undo it.
	if _, err := e.Runtime.DB().Exec(`UPDATE tracks SET likes = 40 WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	batch := func(likes, version int64) events.Event {
		return socialEvent(t, socialapi.EventTrackCountsReconciled, socialapi.TrackCountsBatch{Tracks: []socialapi.TrackCountsEntry{
			{TrackID: trackID, TrackCounts: socialapi.TrackCounts{LikeCount: likes, CommentCount: 1, CountsVersion: version}}}})
	}
	for _, ev := range []events.Event{batch(2, 4), batch(9, 3)} {
		if err := reconciled(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	shows(2, 1)
}

// Track events carry the track's creation time and a version that grows
// with every change: the order a copy kept from them needs.
func TestTrackEventVersions(t *testing.T) {
	e := start(t, nil)
	_, tok := e.user(t, "vera", "creator")
	tr := e.uploadOK(t, tok, wav(t, 0.2), map[string]string{"title": "Versions"})
	e.ready(t, tok, tr.ID)
	for _, vis := range []string{"private", "public", "unlisted"} {
		e.Do(t, "PUT", "/api/v1/tracks/"+tr.ID, map[string]string{"visibility": vis}, as(tok)...).Status(t, 200)
	}
	e.WaitOutbox(t, 10*time.Second)
	var rows []struct {
		Type    string `db:"type"`
		Payload string `db:"payload"`
	}
	if err := e.Runtime.DB().Select(&rows, `SELECT type, payload::text AS payload FROM outbox WHERE payload->>'track_id' = $1 ORDER BY created_at, id`, tr.ID); err != nil {
		t.Fatal(err)
	}
	var last time.Time
	var created time.Time
	for i, r := range rows {
		var p tracksapi.TrackEvent
		if err := json.Unmarshal([]byte(r.Payload), &p); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			created = p.CreatedAt
		}
		if p.CreatedAt.IsZero() || !p.CreatedAt.Equal(created) || (i > 0 && !p.UpdatedAt.After(last)) {
			t.Fatalf("event %d (%s): created_at %s, updated_at %s after %s", i, r.Type, p.CreatedAt, p.UpdatedAt, last)
		}
		last = p.UpdatedAt
	}
	if len(rows) != 5 {
		t.Fatalf("%d track events, want created, processed and 3 updates", len(rows))
	}
}
