package social_test

import (
	"testing"
	"time"

	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/social"
)

// The periodic reconciliation repairs every copy of the counts: social's
// own counters against their rows, tracks' like and comment counts, auth's
// follow counts, and forgets the likes of tracks deleted without an event.
func TestCountsReconciliation(t *testing.T) {
	e := start(t, nil)
	owner, ann, bob := e.user(t, "owner", "creator"), e.user(t, "ann", "user"), e.user(t, "bob", "user")
	tr := e.upload(t, owner, "Counted", "public")
	gone := e.upload(t, owner, "Gone", "public")
	for _, a := range []account{ann, bob} {
		e.Do(t, "POST", likePath(tr.ID), nil, as(a)...).Status(t, 200)
		e.Do(t, "POST", likePath(gone.ID), nil, as(a)...).Status(t, 200)
	}
	e.comment(t, ann, tr.ID, map[string]any{"body": "one"})
	e.Do(t, "POST", followPath(owner.ID), nil, as(ann)...).Status(t, 200)
	e.waitLikeCount(t, owner, tr.ID, 2)
	e.waitProfile(t, owner.ID, profileCounts{Followers: 1})

	// Drift everywhere: a like row lost from social's counter, tracks'
	// and auth's copies wrong (events lost), a track deleted unseen.
	e.exec(t, `DELETE FROM social_likes WHERE track_id = $1 AND user_id = $2`, tr.ID, bob.ID)
	e.exec(t, `UPDATE tracks SET comments = 9 WHERE id = $1`, tr.ID)
	e.exec(t, `UPDATE auth_follow_counts SET followers_count = 5 WHERE user_id = $1`, owner.ID)
	e.exec(t, `DELETE FROM tracks WHERE id = $1`, gone.ID)
	e.WaitOutbox(t, 10*time.Second)
	e.job(t, social.ReconcileCountsJob)()

	if n := e.count(t, `SELECT likes FROM social_track_counts WHERE track_id = $1`, tr.ID); n != 1 {
		t.Fatalf("social counts %d likes, want 1", n)
	}
	apptest.Eventually(t, 10*time.Second, "tracks' copy repaired", func() bool {
		got := e.track(t, owner, tr.ID)
		return got.LikeCount == 1 && got.CommentCount == 1
	})
	e.waitProfile(t, owner.ID, profileCounts{Followers: 1})
	e.waitProfile(t, ann.ID, profileCounts{Following: 1})
	for _, table := range []string{"social_likes", "social_track_counts"} {
		if n := e.count(t, `SELECT count(*) FROM `+table+` WHERE track_id = $1`, gone.ID); n != 0 {
			t.Fatalf("%d rows of %s left for the deleted track", n, table)
		}
	}
	// A like after the repair counts on from the repaired total.
	e.Do(t, "POST", likePath(tr.ID), nil, as(bob)...).Status(t, 200)
	e.waitLikeCount(t, owner, tr.ID, 2)
}
