package social_test

import (
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app/apptest"
)

type followView struct {
	UserID         uuid.UUID `json:"user_id"`
	Following      bool      `json:"following"`
	FollowersCount int64     `json:"followers_count"`
}

type followEntry struct {
	User struct {
		ID       uuid.UUID `json:"id"`
		Username string    `json:"username"`
	} `json:"user"`
	CreatedAt time.Time `json:"created_at"`
}

type profileCounts struct {
	Followers int64 `json:"followers_count"`
	Following int64 `json:"following_count"`
}

func followPath(id uuid.UUID) string { return "/api/v1/users/" + id.String() + "/follow" }

// waitProfile waits until GET /users/:id shows want (auth keeps the counts
// from social's events).
func (e *env) waitProfile(t testing.TB, id uuid.UUID, want profileCounts) {
	t.Helper()
	var got profileCounts
	apptest.Eventually(t, 10*time.Second, "follow counts to settle", func() bool {
		e.Do(t, "GET", "/api/v1/users/"+id.String(), nil).Status(t, 200).Data(t, &got)
		return got == want
	})
}

func ids(list []followEntry) []uuid.UUID {
	out := make([]uuid.UUID, len(list))
	for i, f := range list {
		out[i] = f.User.ID
	}
	return out
}

func sameIDs(got, want []uuid.UUID) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// Following is idempotent (a repeat answers 200, never 409), never of
// oneself (422) and only of live accounts (404). Followers and following
// are public keyset pages, newest first, and profiles show the counts.
func TestFollows(t *testing.T) {
	e := start(t, nil)
	ann, bob, cat := e.user(t, "ann", "user"), e.user(t, "bob", "user"), e.user(t, "cat", "user")
	var v followView
	for range 2 {
		e.Do(t, "POST", followPath(bob.ID), nil, as(ann)...).Status(t, 200).Data(t, &v)
		if !v.Following || v.FollowersCount != 1 || v.UserID != bob.ID {
			t.Fatalf("ann follows bob: %+v", v)
		}
	}
	e.Do(t, "POST", followPath(bob.ID), nil, as(cat)...).Status(t, 200).Data(t, &v)
	e.Do(t, "POST", followPath(cat.ID), nil, as(ann)...).Status(t, 200)
	if v.FollowersCount != 2 {
		t.Fatalf("cat follows bob: %+v", v)
	}
	e.Do(t, "POST", followPath(ann.ID), nil, as(ann)...).ErrorCode(t, 422, "validation_failed")
	e.Do(t, "POST", followPath(uuid.New()), nil, as(ann)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "POST", "/api/v1/users/nobody/follow", nil, as(ann)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "POST", followPath(bob.ID), nil).ErrorCode(t, 401, "unauthorized")

	followers := walk[followEntry](t, e, nil, "/api/v1/users/"+bob.ID.String()+"/followers", 1)
	if !sameIDs(ids(followers), []uuid.UUID{cat.ID, ann.ID}) || followers[0].User.Username != "cat" {
		t.Fatalf("bob's followers %+v, want cat then ann", followers)
	}
	following := walk[followEntry](t, e, nil, "/api/v1/users/"+ann.ID.String()+"/following", 1)
	if !sameIDs(ids(following), []uuid.UUID{cat.ID, bob.ID}) {
		t.Fatalf("ann follows %+v, want cat then bob", following)
	}
	e.Do(t, "GET", "/api/v1/users/"+uuid.NewString()+"/followers", nil).ErrorCode(t, 404, "not_found")
	e.waitProfile(t, bob.ID, profileCounts{Followers: 2})
	e.waitProfile(t, ann.ID, profileCounts{Following: 2})

	for range 2 {
		e.Do(t, "DELETE", followPath(bob.ID), nil, as(ann)...).Status(t, 204)
	}
	e.Do(t, "DELETE", followPath(ann.ID), nil, as(ann)...).Status(t, 204)
	e.Do(t, "DELETE", followPath(uuid.New()), nil, as(ann)...).ErrorCode(t, 404, "not_found")
	e.waitProfile(t, bob.ID, profileCounts{Followers: 1})
	e.waitProfile(t, ann.ID, profileCounts{Following: 1})
	// A banned account cannot be followed, and its lists are gone with
	// its profile; the follows it had can still be ended.
	e.exec(t, `UPDATE users SET banned_at = now() WHERE id = $1`, cat.ID)
	e.Do(t, "POST", followPath(cat.ID), nil, as(bob)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "GET", "/api/v1/users/"+cat.ID.String()+"/following", nil).ErrorCode(t, 404, "not_found")
	e.Do(t, "DELETE", followPath(cat.ID), nil, as(ann)...).Status(t, 204)
}

// Users following each other at once, repeatedly, end with counts equal to
// their rows, in social and on their profiles.
func TestConcurrentFollowsCountExactly(t *testing.T) {
	e := start(t, nil)
	users := make([]account, 6)
	for i := range users {
		users[i] = e.user(t, "user"+string(rune('a'+i)), "user")
	}
	var wg sync.WaitGroup
	for i, a := range users {
		for j, b := range users {
			if i == j {
				continue
			}
			wg.Add(2)
			for range 2 {
				go func() {
					defer wg.Done()
					if res := e.Do(t, "POST", followPath(b.ID), nil, as(a)...); res.StatusCode != 200 {
						t.Errorf("%s follows %s: %d %s", a.Name, b.Name, res.StatusCode, res.Body)
					}
				}()
			}
		}
	}
	wg.Wait()
	n := int64(len(users) - 1)
	for _, a := range users {
		e.waitProfile(t, a.ID, profileCounts{Followers: n, Following: n})
	}
}
