package social_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app/apptest"
)

type notificationView struct {
	ID    uuid.UUID `json:"id"`
	Type  string    `json:"type"`
	Actor struct {
		ID       uuid.UUID `json:"id"`
		Username string    `json:"username"`
	} `json:"actor"`
	Target struct {
		Type    string     `json:"type"`
		ID      uuid.UUID  `json:"id"`
		TrackID *uuid.UUID `json:"track_id"`
	} `json:"target"`
	ReadAt    *time.Time `json:"read_at"`
	CreatedAt time.Time  `json:"created_at"`
}

func (e *env) notifications(t testing.TB, a account) []notificationView {
	t.Helper()
	return walk[notificationView](t, e, &a, "/api/v1/notifications", 2)
}

func (e *env) waitNotifications(t testing.TB, a account, n int) []notificationView {
	t.Helper()
	var got []notificationView
	apptest.Eventually(t, 10*time.Second, "notifications", func() bool {
		got = e.notifications(t, a)
		return len(got) == n
	})
	return got
}

// Likes, comments and follows notify the owner of the track and the
// followed user, from events on a worker: never one's own likes or
// comments, a like once however often it is taken back and made again, a
// deleted comment no more. Notifications are read all at once or by id.
func TestNotifications(t *testing.T) {
	e := start(t, nil)
	owner, ann, bob := e.user(t, "owner", "creator"), e.user(t, "ann", "user"), e.user(t, "bob", "user")
	tr := e.upload(t, owner, "Noticed", "public")
	e.Do(t, "POST", likePath(tr.ID), nil, as(owner)...).Status(t, 200) // own: no notification
	e.comment(t, owner, tr.ID, map[string]any{"body": "mine"})
	for range 2 {
		e.Do(t, "POST", likePath(tr.ID), nil, as(ann)...).Status(t, 200)
		e.Do(t, "DELETE", likePath(tr.ID), nil, as(ann)...).Status(t, 204)
	}
	e.Do(t, "POST", likePath(tr.ID), nil, as(ann)...).Status(t, 200)
	c := e.comment(t, bob, tr.ID, map[string]any{"body": "great", "at_ms": 100})
	gone := e.comment(t, bob, tr.ID, map[string]any{"body": "oops"})
	e.Do(t, "POST", followPath(owner.ID), nil, as(bob)...).Status(t, 200)
	e.Do(t, "DELETE", "/api/v1/comments/"+gone.ID.String(), nil, as(bob)...).Status(t, 204)
	// The events travel through the outbox to workers, in any order: wait
	// for the one state they all lead to.
	var got []notificationView
	byType := map[string]notificationView{}
	apptest.Eventually(t, 10*time.Second, "the like, the comment and the follow notified", func() bool {
		got = e.notifications(t, owner)
		clear(byType)
		for _, n := range got {
			byType[n.Type] = n
		}
		return len(got) == 3 && len(byType) == 3 && byType["comment.created"].Target.ID == c.ID
	})
	for _, n := range got {
		if n.ReadAt != nil {
			t.Fatalf("unread notification %+v", n)
		}
	}
	like, comment, follow := byType["track.liked"], byType["comment.created"], byType["user.followed"]
	if like.Actor.ID != ann.ID || like.Actor.Username != "ann" || like.Target.Type != "track" || like.Target.ID != tr.ID {
		t.Fatalf("like notification %+v", like)
	}
	if comment.Actor.ID != bob.ID || comment.Target.Type != "comment" || comment.Target.ID != c.ID || comment.Target.TrackID == nil || *comment.Target.TrackID != tr.ID {
		t.Fatalf("comment notification %+v", comment)
	}
	if follow.Actor.ID != bob.ID || follow.Target.Type != "user" || follow.Target.ID != owner.ID || follow.Target.TrackID != nil {
		t.Fatalf("follow notification %+v", follow)
	}
	if got[0].Type != "user.followed" {
		t.Fatalf("newest first: %+v", got)
	}
	if n := e.notifications(t, ann); len(n) != 0 {
		t.Fatalf("ann got %d notifications", len(n))
	}

	// One by id (someone else's id changes nothing), then all.
	e.Do(t, "POST", "/api/v1/notifications/read", map[string]any{"ids": []uuid.UUID{like.ID}}, as(ann)...).Status(t, 204)
	e.Do(t, "POST", "/api/v1/notifications/read", map[string]any{"ids": []uuid.UUID{like.ID}}, as(owner)...).Status(t, 204)
	e.Do(t, "POST", "/api/v1/notifications/read", map[string]any{"ids": []string{"nope"}}, as(owner)...).ErrorCode(t, 422, "validation_failed")
	read := 0
	for _, n := range e.notifications(t, owner) {
		if n.ReadAt != nil {
			read++
			if n.ID != like.ID {
				t.Fatalf("%s read, not the like", n.Type)
			}
		}
	}
	if read != 1 {
		t.Fatalf("%d read, want 1", read)
	}
	e.Do(t, "POST", "/api/v1/notifications/read", map[string]any{"ids": []uuid.UUID{}}, as(owner)...).Status(t, 204)
	e.Do(t, "POST", "/api/v1/notifications/read", nil, as(owner)...).Status(t, 204)
	for _, n := range e.notifications(t, owner) {
		if n.ReadAt == nil {
			t.Fatalf("%s still unread", n.Type)
		}
	}
	e.Do(t, "GET", "/api/v1/notifications", nil).ErrorCode(t, 401, "unauthorized")
}

// Deleting a track forgets its likes, comments, counts and notifications.
func TestTrackDeletionForgetsItsSocialData(t *testing.T) {
	e := start(t, nil)
	owner, ann := e.user(t, "owner", "creator"), e.user(t, "ann", "user")
	tr := e.upload(t, owner, "Doomed", "public")
	e.Do(t, "POST", likePath(tr.ID), nil, as(ann)...).Status(t, 200)
	e.comment(t, ann, tr.ID, map[string]any{"body": "bye"})
	e.waitNotifications(t, owner, 2)
	e.Do(t, "DELETE", "/api/v1/tracks/"+tr.ID.String(), nil, as(owner)...).Status(t, 204)
	e.waitNotifications(t, owner, 0)
	for _, table := range []string{"social_likes", "social_comments", "social_track_counts"} {
		if n := e.count(t, `SELECT count(*) FROM `+table+` WHERE track_id = $1`, tr.ID); n != 0 {
			t.Fatalf("%d rows of %s left", n, table)
		}
	}
}
