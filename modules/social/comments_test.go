package social_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/social"
	"github.com/veza/veza/modules/tracks"
)

type commentView struct {
	ID     uuid.UUID `json:"id"`
	UserID uuid.UUID `json:"user_id"`
	User   struct {
		ID       uuid.UUID `json:"id"`
		Username string    `json:"username"`
	} `json:"user"`
	Body      string    `json:"body"`
	AtMS      *int64    `json:"at_ms"`
	CreatedAt time.Time `json:"created_at"`
}

func commentsPath(id uuid.UUID) string { return "/api/v1/tracks/" + id.String() + "/comments" }

func (e *env) comment(t testing.TB, a account, id uuid.UUID, body map[string]any) commentView {
	t.Helper()
	var c commentView
	e.Do(t, "POST", commentsPath(id), body, as(a)...).Status(t, 201).Data(t, &c)
	return c
}

// Comments hold 1 to 2000 characters (not bytes) of text stored as
// written, markup included, and a position within the track; they are
// listed newest first with their author, and counted on the track.
func TestComments(t *testing.T) {
	e := start(t, nil)
	owner, ann := e.user(t, "owner", "creator"), e.user(t, "ann", "user")
	tr := e.upload(t, owner, "Commented", "public")
	if tr.DurationMS == nil || *tr.DurationMS != 200 {
		t.Fatalf("the fixture's duration: %v", tr.DurationMS)
	}
	markup := `<script>alert("x")</script><b>bold</b> & "quotes"`
	c := e.comment(t, ann, tr.ID, map[string]any{"body": "  " + markup + "\n", "at_ms": 200})
	if c.Body != markup || c.AtMS == nil || *c.AtMS != 200 || c.UserID != ann.ID || c.ID == uuid.Nil || c.CreatedAt.IsZero() {
		t.Fatalf("created %+v", c)
	}
	res := e.Do(t, "GET", commentsPath(tr.ID), nil)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("comments answered as %q", ct)
	}
	longest := strings.Repeat("é", social.MaxCommentLength) // 4000 bytes, 2000 characters
	e.comment(t, owner, tr.ID, map[string]any{"body": longest, "at_ms": 0})
	last := e.comment(t, ann, tr.ID, map[string]any{"body": "whole track"})
	if last.AtMS != nil {
		t.Fatalf("a comment without at_ms: %+v", last)
	}
	for _, body := range []map[string]any{
		{"body": ""}, {"body": " \n\t "}, {"body": longest + "é"}, {"body": "x", "at_ms": 201}, {"body": "x", "at_ms": -1},
		{"body": "x", "at_ms": 1.5}, {"body": 5}, {"at_ms": 3}, {"body": "x", "extra": true},
	} {
		e.Do(t, "POST", commentsPath(tr.ID), body, as(ann)...).ErrorCode(t, 422, "validation_failed")
	}

	list := walk[commentView](t, e, nil, commentsPath(tr.ID), 2)
	if len(list) != 3 || list[0].ID != last.ID || list[2].ID != c.ID || list[2].Body != markup ||
		list[1].User.Username != "owner" || list[2].User.ID != ann.ID || list[2].User.Username != "ann" {
		t.Fatalf("listed %+v", list)
	}
	apptest.Eventually(t, 10*time.Second, "comment_count to settle", func() bool { return e.track(t, ann, tr.ID).CommentCount == 3 })
}

// A comment is deleted by its author, the track's owner or an admin; anyone
// else who sees it gets 403, whoever cannot see the track 404.
func TestDeleteComment(t *testing.T) {
	e := start(t, nil)
	owner, ann, bob, admin := e.user(t, "owner", "creator"), e.user(t, "ann", "user"), e.user(t, "bob", "user"), e.user(t, "root", "admin")
	tr := e.upload(t, owner, "Public", "public")
	hidden := e.upload(t, owner, "Hidden", "private")
	path := func(c commentView) string { return "/api/v1/comments/" + c.ID.String() }
	mine := e.comment(t, ann, tr.ID, map[string]any{"body": "ann's"})
	e.Do(t, "DELETE", path(mine), nil, as(bob)...).ErrorCode(t, 403, "forbidden")
	e.Do(t, "DELETE", path(mine), nil, as(ann)...).Status(t, 204)
	e.Do(t, "DELETE", path(mine), nil, as(ann)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "DELETE", path(e.comment(t, ann, tr.ID, map[string]any{"body": "x"})), nil, as(owner)...).Status(t, 204)
	e.Do(t, "DELETE", path(e.comment(t, ann, tr.ID, map[string]any{"body": "x"})), nil, as(admin)...).Status(t, 204)
	secret := e.comment(t, owner, hidden.ID, map[string]any{"body": "note to self"})
	e.Do(t, "DELETE", path(secret), nil, as(bob)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "DELETE", "/api/v1/comments/"+uuid.NewString(), nil, as(bob)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "DELETE", "/api/v1/comments/nope", nil, as(bob)...).ErrorCode(t, 404, "not_found")
	kept := e.comment(t, bob, tr.ID, map[string]any{"body": "kept"})
	apptest.Eventually(t, 10*time.Second, "comment_count to settle", func() bool { return e.track(t, ann, tr.ID).CommentCount == 1 })
	if list := walk[commentView](t, e, nil, commentsPath(tr.ID), 20); len(list) != 1 || list[0].ID != kept.ID {
		t.Fatalf("listed %+v, want bob's only", list)
	}
}

// Each user posts at most 20 comments a minute, counted across API
// processes through Redis: the 21st, on either process, is refused with
// 429 and Retry-After, and other users are not affected.
func TestCommentRateLimitSharedAcrossProcesses(t *testing.T) {
	e := start(t, nil)
	second := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module(), tracks.Module(), social.Module()}, Role: app.RoleAPI,
		DatabaseURL: e.Config.DatabaseURL, RedisURL: e.Redis.URL(), Env: map[string]string{"RATE_LIMIT_LIMIT": "1000000", "MAIL_DRIVER": "log",
			"UPLOAD_DIR": t.TempDir()}})
	owner, ann, bob := e.user(t, "owner", "creator"), e.user(t, "ann", "user"), e.user(t, "bob", "user")
	tr := e.upload(t, owner, "Busy", "public")
	servers := []*apptest.Server{e.Server, second}
	body := map[string]any{"body": "again"}
	for i := range 20 {
		servers[i%2].Do(t, "POST", commentsPath(tr.ID), body, as(ann)...).Status(t, 201)
	}
	for _, srv := range servers {
		res := srv.Do(t, "POST", commentsPath(tr.ID), body, as(ann)...)
		res.ErrorCode(t, 429, "too_many_comments")
		wait, err := strconv.Atoi(res.Header.Get("Retry-After"))
		if err != nil || wait < 1 || wait > 60 {
			t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
		}
		if res.Header.Get("X-RateLimit-Limit") != "20" || res.Header.Get("X-RateLimit-Remaining") != "0" {
			t.Fatalf("X-RateLimit headers %v", res.Header)
		}
	}
	e.Do(t, "POST", commentsPath(tr.ID), body, as(bob)...).Status(t, 201)
	if n := e.count(t, `SELECT count(*) FROM social_comments WHERE user_id = $1`, ann.ID); n != 20 {
		t.Fatalf("%d comments stored, want 20", n)
	}
}
