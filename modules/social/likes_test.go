package social_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app/apptest"
)

type likeView struct {
	TrackID   uuid.UUID `json:"track_id"`
	Liked     bool      `json:"liked"`
	LikeCount int64     `json:"like_count"`
}

type liker struct {
	User struct {
		ID       uuid.UUID `json:"id"`
		Username string    `json:"username"`
	} `json:"user"`
	CreatedAt time.Time `json:"created_at"`
}

func likePath(id uuid.UUID) string { return "/api/v1/tracks/" + id.String() + "/like" }

// waitLikeCount waits until GET /tracks/:id shows want likes (tracks keeps
// the count from social's events).
func (e *env) waitLikeCount(t testing.TB, a account, id uuid.UUID, want int64) {
	t.Helper()
	var got track
	apptest.Eventually(t, 10*time.Second, "like_count to settle", func() bool {
		got = e.track(t, a, id)
		return got.LikeCount == want
	})
}

// Liking is idempotent: a repeat answers 200 with the same count, never a
// second row; unliking what is not liked is 204. Who liked is listed,
// newest first, and the track shows the count.
func TestLikes(t *testing.T) {
	e := start(t, nil)
	owner, ann, bob := e.user(t, "owner", "creator"), e.user(t, "ann", "user"), e.user(t, "bob", "user")
	tr := e.upload(t, owner, "Liked", "public")
	var v likeView
	for range 2 {
		e.Do(t, "POST", likePath(tr.ID), nil, as(ann)...).Status(t, 200).Data(t, &v)
		if !v.Liked || v.LikeCount != 1 || v.TrackID != tr.ID {
			t.Fatalf("ann's like: %+v", v)
		}
	}
	e.Do(t, "POST", likePath(tr.ID), nil, as(bob)...).Status(t, 200).Data(t, &v)
	if v.LikeCount != 2 {
		t.Fatalf("bob's like: %+v", v)
	}
	if n := e.count(t, `SELECT count(*) FROM social_likes WHERE track_id = $1`, tr.ID); n != 2 {
		t.Fatalf("%d like rows, want 2", n)
	}
	e.waitLikeCount(t, ann, tr.ID, 2)
	var stats struct {
		LikeCount int64 `json:"like_count"`
		Likes     int64 `json:"likes"`
	}
	e.Do(t, "GET", "/api/v1/tracks/"+tr.ID.String()+"/stats", nil).Status(t, 200).Data(t, &stats)
	if stats.LikeCount != 2 || stats.Likes != 2 {
		t.Fatalf("stats %+v", stats)
	}
	likers := walk[liker](t, e, &ann, "/api/v1/tracks/"+tr.ID.String()+"/likes", 1)
	if len(likers) != 2 || likers[0].User.ID != bob.ID || likers[0].User.Username != "bob" || likers[1].User.ID != ann.ID {
		t.Fatalf("likers %+v, want bob then ann", likers)
	}
	e.Do(t, "GET", "/api/v1/tracks/"+tr.ID.String()+"/likes", nil).ErrorCode(t, 401, "unauthorized")
	for range 2 {
		e.Do(t, "DELETE", likePath(tr.ID), nil, as(ann)...).Status(t, 204)
	}
	e.Do(t, "DELETE", likePath(tr.ID), nil, as(owner)...).Status(t, 204) // never liked
	e.waitLikeCount(t, ann, tr.ID, 1)
	e.Do(t, "POST", likePath(uuid.New()), nil, as(ann)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "POST", "/api/v1/tracks/not-a-uuid/like", nil, as(ann)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "POST", likePath(tr.ID), nil).ErrorCode(t, 401, "unauthorized")
}

// A private track's like and comment routes answer 404 to strangers, as if
// it did not exist, and work for its owner and admins; an unlisted one is
// liked by whoever has its id.
func TestPrivateTrackIsNotFoundToStrangers(t *testing.T) {
	e := start(t, nil)
	owner, stranger, admin := e.user(t, "owner", "creator"), e.user(t, "stranger", "user"), e.user(t, "root", "admin")
	private := e.upload(t, owner, "Secret", "private")
	unlisted := e.upload(t, owner, "By link", "unlisted")
	id := private.ID.String()
	comment := map[string]any{"body": "hello"}
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/like", nil}, {"DELETE", "/like", nil}, {"GET", "/likes", nil},
		{"GET", "/comments", nil}, {"POST", "/comments", comment},
	} {
		e.Do(t, r.method, "/api/v1/tracks/"+id+r.path, r.body, as(stranger)...).ErrorCode(t, 404, "not_found")
	}
	e.Do(t, "GET", "/api/v1/tracks/"+id+"/comments", nil).ErrorCode(t, 404, "not_found") // anonymous
	for _, a := range []account{owner, admin} {
		e.Do(t, "POST", likePath(private.ID), nil, as(a)...).Status(t, 200)
		e.Do(t, "POST", "/api/v1/tracks/"+id+"/comments", comment, as(a)...).Status(t, 201)
		e.Do(t, "GET", "/api/v1/tracks/"+id+"/likes", nil, as(a)...).Status(t, 200)
	}
	if n := e.count(t, `SELECT count(*) FROM social_likes WHERE track_id = $1`, private.ID); n != 2 {
		t.Fatalf("%d likes on the private track, want the owner's and the admin's", n)
	}
	var v likeView
	e.Do(t, "POST", likePath(unlisted.ID), nil, as(stranger)...).Status(t, 200).Data(t, &v)
	if v.LikeCount != 1 {
		t.Fatalf("like of the unlisted track: %+v", v)
	}
}

// 50 like and unlike requests by 10 users, all at once (5 per user,
// racing each other), leave as many likes counted as there are rows: in
// social's table, in its counter, and as like_count once tracks has the
// events. Then every user likes twice at once (exactly 10), and half of
// them unlike twice at once (exactly 5).
func TestConcurrentLikeTogglesCountExactly(t *testing.T) {
	e := start(t, nil)
	owner := e.user(t, "owner", "creator")
	tr := e.upload(t, owner, "Contested", "public")
	users := make([]account, 10)
	for i := range users {
		users[i] = e.user(t, "fan"+string(rune('a'+i)), "user")
	}
	at := func(method string, a account, wg *sync.WaitGroup) {
		defer wg.Done()
		res := e.Do(t, method, likePath(tr.ID), nil, as(a)...)
		if res.StatusCode != 200 && res.StatusCode != 204 {
			t.Errorf("%s like by %s: %d %s", method, a.Name, res.StatusCode, res.Body)
		}
	}
	burst := func(ops func(i int) (string, account), n int) {
		var wg sync.WaitGroup
		for i := range n {
			method, a := ops(i)
			wg.Add(1)
			go at(method, a, &wg)
		}
		wg.Wait()
	}
	exact := func(want int) {
		t.Helper()
		rows := e.count(t, `SELECT count(*) FROM social_likes WHERE track_id = $1`, tr.ID)
		counted := e.count(t, `SELECT likes FROM social_track_counts WHERE track_id = $1`, tr.ID)
		if want >= 0 && rows != want || counted != rows {
			t.Fatalf("%d like rows, %d counted; want %d", rows, counted, want)
		}
		e.waitLikeCount(t, owner, tr.ID, int64(rows))
		if listed := walk[liker](t, e, &owner, "/api/v1/tracks/"+tr.ID.String()+"/likes", 100); len(listed) != rows {
			t.Fatalf("%d likes listed, %d rows", len(listed), rows)
		}
	}
	burst(func(i int) (string, account) {
		if i%3 == 0 {
			return "DELETE", users[i%10]
		}
		return "POST", users[i%10]
	}, 50)
	exact(-1)
	burst(func(i int) (string, account) { return "POST", users[i%10] }, 20)
	exact(10)
	burst(func(i int) (string, account) { return "DELETE", users[i%5] }, 10)
	exact(5)
}
