package social

import (
	"context"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/modules/social/socialapi"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/page"
)

var errFollowSelf = httpx.Invalid(httpx.FieldError{Field: "id", Message: "you cannot follow yourself"})

// Follow makes p follow the user id, a live account other than p. A
// second follow changes nothing.
func (s *service) Follow(ctx context.Context, p *authn.Principal, id uuid.UUID) (*FollowView, error) {
	if id == p.UserID {
		return nil, errFollowSelf
	}
	if err := s.existingUser(ctx, id); err != nil {
		return nil, err
	}
	var followed userCounts
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		added, err := s.store.insertFollow(ctx, tx, p.UserID, id)
		if err != nil {
			return err
		}
		if !added {
			followed, err = s.store.userCountsOf(ctx, tx, id)
			return err
		}
		followed, err = s.countFollow(ctx, tx, p.UserID, id, 1)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &FollowView{UserID: id, Following: true, FollowersCount: followed.Followers}, nil
}

// Unfollow ends p's follow of id; without one it does nothing, unless id
// names no live account (404).
func (s *service) Unfollow(ctx context.Context, p *authn.Principal, id uuid.UUID) error {
	removed := false
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		if removed, err = s.store.deleteFollow(ctx, tx, p.UserID, id); err != nil || !removed {
			return err
		}
		_, err = s.countFollow(ctx, tx, p.UserID, id, -1)
		return err
	})
	if err != nil || removed || id == p.UserID {
		return err
	}
	// Ending the follow of an account banned since works; one that names
	// nobody is not found.
	return s.existingUser(ctx, id)
}

// countFollow changes both users' counts by delta in tx and publishes the
// change with their new totals (user.followed to the followed user;
// user.unfollowed, internal, to both).
func (s *service) countFollow(ctx context.Context, tx *sqlx.Tx, follower, followed uuid.UUID, delta int64) (userCounts, error) {
	f, d, err := s.store.addFollowCounts(ctx, tx, follower, followed, delta)
	if err != nil {
		return d, err
	}
	ev := socialapi.FollowEvent{FollowerID: follower, FollowedID: followed, FollowerCounts: f.api(), FollowedCounts: d.api(), At: s.now().UTC()}
	if delta > 0 {
		_, err = s.pub.Publish(ctx, tx, socialapi.EventUserFollowed, ev, followed)
	} else {
		_, err = s.pub.Publish(ctx, tx, socialapi.EventUserUnfollowed, ev, followed, follower)
	}
	return d, err
}

// Followers returns a page of who follows the user id, newest first.
func (s *service) Followers(ctx context.Context, id uuid.UUID, req page.Request[page.TimeID]) ([]FollowerView, string, error) {
	return s.follows(ctx, id, req, s.store.followers)
}

// Following returns a page of whom the user id follows, newest first.
func (s *service) Following(ctx context.Context, id uuid.UUID, req page.Request[page.TimeID]) ([]FollowerView, string, error) {
	return s.follows(ctx, id, req, s.store.following)
}

func (s *service) follows(ctx context.Context, id uuid.UUID, req page.Request[page.TimeID],
	list func(context.Context, uuid.UUID, *page.TimeID, int) ([]follow, error)) ([]FollowerView, string, error) {
	if err := s.existingUser(ctx, id); err != nil {
		return nil, "", err
	}
	fetch := func(ctx context.Context, after *page.TimeID, n int) ([]follow, error) { return list(ctx, id, after, n) }
	rows, next, err := page.Fetch(ctx, req, fetch, func(f *follow) page.TimeID { return page.TimeID{At: f.CreatedAt, ID: f.UserID} })
	if err != nil {
		return nil, "", err
	}
	ids := make([]uuid.UUID, len(rows))
	for i, f := range rows {
		ids[i] = f.UserID
	}
	refs, err := s.refs(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]FollowerView, len(rows))
	for i, f := range rows {
		out[i] = FollowerView{User: refs[f.UserID], CreatedAt: f.CreatedAt.UTC()}
	}
	return out, next, nil
}
