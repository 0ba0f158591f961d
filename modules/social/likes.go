package social

import (
	"context"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/modules/social/socialapi"
	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/page"
)

// Like records p's like of a track p may see. A second like, even one
// racing the first, changes nothing: the like is a row keyed by track and
// user, and only the statement that inserted it counts it and publishes
// track.liked.
func (s *service) Like(ctx context.Context, p *authn.Principal, id uuid.UUID) (*LikeView, error) {
	t, err := s.visibleTrack(ctx, p, id)
	if err != nil {
		return nil, err
	}
	var c trackCounts
	err = db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		added, err := s.store.insertLike(ctx, tx, id, p.UserID)
		if err != nil {
			return err
		}
		if !added {
			c, err = s.store.trackCounts(ctx, tx, id)
			return err
		}
		return s.countLike(ctx, tx, t, p.UserID, 1, &c)
	})
	if err != nil {
		return nil, err
	}
	return &LikeView{TrackID: id, Liked: true, LikeCount: c.Likes}, nil
}

// Unlike takes back p's like of a track p may see; without one it does
// nothing.
func (s *service) Unlike(ctx context.Context, p *authn.Principal, id uuid.UUID) error {
	t, err := s.visibleTrack(ctx, p, id)
	if err != nil {
		return err
	}
	return db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		removed, err := s.store.deleteLike(ctx, tx, id, p.UserID)
		if err != nil || !removed {
			return err
		}
		var c trackCounts
		return s.countLike(ctx, tx, t, p.UserID, -1, &c)
	})
}

// countLike changes the track's like count by delta in tx and publishes
// the change with the new totals, to the track's owner.
func (s *service) countLike(ctx context.Context, tx *sqlx.Tx, t tracksapi.Track, user uuid.UUID, delta int64, c *trackCounts) error {
	var err error
	if *c, err = s.store.addTrackCounts(ctx, tx, t.ID, delta, 0); err != nil {
		return err
	}
	typ := socialapi.EventTrackLiked
	if delta < 0 {
		typ = socialapi.EventTrackUnliked
	}
	_, err = s.pub.Publish(ctx, tx, typ, socialapi.LikeEvent{TrackID: t.ID, TrackOwnerID: t.OwnerID, UserID: user,
		TrackCounts: c.api(), At: s.now().UTC()}, t.OwnerID)
	return err
}

// Likes returns a page of who liked a track p may see, newest first.
func (s *service) Likes(ctx context.Context, p *authn.Principal, id uuid.UUID, req page.Request[page.TimeID]) ([]LikerView, string, error) {
	if _, err := s.visibleTrack(ctx, p, id); err != nil {
		return nil, "", err
	}
	fetch := func(ctx context.Context, after *page.TimeID, n int) ([]like, error) {
		return s.store.likes(ctx, id, after, n)
	}
	list, next, err := page.Fetch(ctx, req, fetch, func(l *like) page.TimeID { return page.TimeID{At: l.CreatedAt, ID: l.UserID} })
	if err != nil {
		return nil, "", err
	}
	ids := make([]uuid.UUID, len(list))
	for i, l := range list {
		ids[i] = l.UserID
	}
	refs, err := s.refs(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]LikerView, len(list))
	for i, l := range list {
		out[i] = LikerView{User: refs[l.UserID], CreatedAt: l.CreatedAt.UTC()}
	}
	return out, next, nil
}
