package social

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/modules/social/socialapi"
	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/page"
)

// MaxCommentLength is the longest comment, in characters.
const MaxCommentLength = 2000

// checkBody returns the body to store: as written, without surrounding
// white space, 1 to MaxCommentLength characters. Markup is text like any
// other: the API answers it inside JSON strings and never renders it.
func checkBody(raw string) (string, error) {
	body := strings.TrimSpace(raw)
	if n := utf8.RuneCountInString(body); n == 0 || n > MaxCommentLength {
		return "", httpx.Invalid(httpx.FieldError{Field: "body", Message: fmt.Sprintf("must be 1 to %d characters", MaxCommentLength)})
	}
	return body, nil
}

// checkAt refuses a position outside the track: 0 to its duration, which
// is known once the track is processed.
func checkAt(at *int64, t tracksapi.Track) error {
	switch {
	case at == nil:
		return nil
	case t.DurationMS == nil:
		return httpx.Invalid(httpx.FieldError{Field: "at_ms", Message: "the track's duration is not known yet (it is " + t.Status + "); comment without at_ms or later"})
	case *at < 0 || *at > *t.DurationMS:
		return httpx.Invalid(httpx.FieldError{Field: "at_ms", Message: fmt.Sprintf("must be 0 to %d, the track's duration in milliseconds", *t.DurationMS)})
	}
	return nil
}

// Comment posts p's comment on a track p may see. Each user posts at most
// comments_per_window comments per comment_window; the attempt that would
// pass it is refused with 429 and Retry-After, before anything is written.
func (s *service) Comment(ctx context.Context, p *authn.Principal, trackID uuid.UUID, in CommentInput) (*CommentView, error) {
	body, err := checkBody(in.Body)
	if err != nil {
		return nil, err
	}
	t, err := s.visibleTrack(ctx, p, trackID)
	if err != nil {
		return nil, err
	}
	if err := checkAt(in.AtMS, t); err != nil {
		return nil, err
	}
	c := &Comment{ID: uuid.Must(uuid.NewV7()), TrackID: trackID, TrackOwnerID: t.OwnerID, UserID: p.UserID, Body: body, AtMS: in.AtMS}
	if err := s.limiter.take(ctx, p.UserID, c.ID); err != nil {
		return nil, err
	}
	err = db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := s.store.insertComment(ctx, tx, c); err != nil {
			return err
		}
		return s.countComment(ctx, tx, c, nil, 1)
	})
	if err != nil {
		return nil, err
	}
	refs, err := s.refs(ctx, []uuid.UUID{p.UserID})
	if err != nil {
		return nil, err
	}
	v := commentView(c, refs)
	return &v, nil
}

// DeleteComment removes a comment, for its author, the track's owner or an
// admin. Others get 403 when they can see the track and 404 when they
// cannot; an author may delete their comment on a track since hidden from
// them.
func (s *service) DeleteComment(ctx context.Context, p *authn.Principal, id uuid.UUID) error {
	c, err := s.store.comment(ctx, id)
	if errors.Is(err, errNotFound) {
		return errCommentNotFound
	}
	if err != nil {
		return err
	}
	if p.UserID != c.UserID && p.UserID != c.TrackOwnerID && !p.IsAdmin() {
		if _, err := s.visibleTrack(ctx, p, c.TrackID); err != nil {
			return errCommentNotFound
		}
		return httpx.Forbidden("forbidden", "only the comment's author, the track's owner or an admin may delete it")
	}
	return db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		removed, err := s.store.deleteComment(ctx, tx, id)
		if err != nil || !removed {
			return err // deleted meanwhile: done all the same
		}
		return s.countComment(ctx, tx, c, &p.UserID, -1)
	})
}

// countComment changes the track's comment count by delta in tx and
// publishes the change with the new totals, to the track's owner.
func (s *service) countComment(ctx context.Context, tx *sqlx.Tx, c *Comment, by *uuid.UUID, delta int64) error {
	counts, err := s.store.addTrackCounts(ctx, tx, c.TrackID, 0, delta)
	if err != nil {
		return err
	}
	typ := socialapi.EventCommentCreated
	if delta < 0 {
		typ = socialapi.EventCommentDeleted
	}
	_, err = s.pub.Publish(ctx, tx, typ, socialapi.CommentEvent{CommentID: c.ID, TrackID: c.TrackID, TrackOwnerID: c.TrackOwnerID,
		UserID: c.UserID, Body: c.Body, AtMS: c.AtMS, DeletedBy: by, TrackCounts: counts.api(), At: s.now().UTC()}, c.TrackOwnerID)
	return err
}

// Comments returns a page of a track's comments, newest first, for a
// caller who may see the track.
func (s *service) Comments(ctx context.Context, p *authn.Principal, trackID uuid.UUID, req page.Request[page.TimeID]) ([]CommentView, string, error) {
	if _, err := s.visibleTrack(ctx, p, trackID); err != nil {
		return nil, "", err
	}
	fetch := func(ctx context.Context, after *page.TimeID, n int) ([]Comment, error) {
		return s.store.comments(ctx, trackID, after, n)
	}
	list, next, err := page.Fetch(ctx, req, fetch, func(c *Comment) page.TimeID { return page.TimeID{At: c.CreatedAt, ID: c.ID} })
	if err != nil {
		return nil, "", err
	}
	ids := make([]uuid.UUID, len(list))
	for i := range list {
		ids[i] = list[i].UserID
	}
	refs, err := s.refs(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]CommentView, len(list))
	for i := range list {
		out[i] = commentView(&list[i], refs)
	}
	return out, next, nil
}

func commentView(c *Comment, refs map[uuid.UUID]UserRef) CommentView {
	return CommentView{ID: c.ID, TrackID: c.TrackID, UserID: c.UserID, User: refs[c.UserID], Body: c.Body, AtMS: c.AtMS,
		CreatedAt: c.CreatedAt.UTC()}
}
