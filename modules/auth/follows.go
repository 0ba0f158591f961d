package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/modules/social/socialapi"
	"github.com/veza/veza/platform/events"
)

// Public profiles show followers_count and following_count, which the
// social module owns: auth keeps a copy in auth_follow_counts from its
// events, through socialapi, never reading social's tables.

// onFollowEvent applies user.followed and user.unfollowed: both users'
// counts changed.
func (s *Service) onFollowEvent(ctx context.Context, ev events.Event) error {
	var p socialapi.FollowEvent
	if err := ev.Decode(&p); err != nil {
		return err
	}
	if p.FollowerID == uuid.Nil || p.FollowedID == uuid.Nil {
		return fmt.Errorf("%s event %s has no follower_id or followed_id: %w", ev.Type, ev.ID, asynq.SkipRetry)
	}
	return s.store.putFollowCounts(ctx, []socialapi.UserCountsEntry{
		{UserID: p.FollowerID, UserCounts: p.FollowerCounts},
		{UserID: p.FollowedID, UserCounts: p.FollowedCounts},
	})
}

// onUserCountsReconciled applies a batch of totals from social's periodic
// reconciliation, which repairs a copy that missed events.
func (s *Service) onUserCountsReconciled(ctx context.Context, ev events.Event) error {
	var p socialapi.UserCountsBatch
	if err := ev.Decode(&p); err != nil {
		return err
	}
	return s.store.putFollowCounts(ctx, p.Users)
}

// followCounts are what a profile shows of its follows.
type followCounts struct {
	Followers int64 `db:"followers_count"`
	Following int64 `db:"following_count"`
}

// putFollowCounts stores each entry's totals unless the copy holds a
// version at least as high (an equal version is rewritten only when it
// differs, which only a reconciliation brings). Accounts unknown to auth
// are skipped.
func (st *store) putFollowCounts(ctx context.Context, list []socialapi.UserCountsEntry) error {
	if len(list) == 0 {
		return nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("encode %d follow counts: %w", len(list), err)
	}
	// JSON goes as text: binary_parameters would send a []byte as binary
	// jsonb. The rows are written in user id order, so that two batches
	// sharing users cannot deadlock.
	_, err = st.db.ExecContext(ctx, `
		INSERT INTO auth_follow_counts AS f (user_id, followers_count, following_count, counts_version)
		SELECT c.user_id, c.followers_count, c.following_count, c.counts_version
		FROM jsonb_to_recordset($1::jsonb) AS c (user_id uuid, followers_count bigint, following_count bigint, counts_version bigint)
		WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = c.user_id)
		ORDER BY c.user_id
		ON CONFLICT (user_id) DO UPDATE SET followers_count = excluded.followers_count,
			following_count = excluded.following_count, counts_version = excluded.counts_version
		WHERE f.counts_version < excluded.counts_version OR (f.counts_version = excluded.counts_version
			AND (f.followers_count, f.following_count) IS DISTINCT FROM (excluded.followers_count, excluded.following_count))`,
		string(b))
	if err != nil {
		return fmt.Errorf("store %d follow counts: %w", len(list), err)
	}
	return nil
}

// followCounts reads the counts of id: zeros when it has none.
func (st *store) followCounts(ctx context.Context, q sqlx.QueryerContext, id uuid.UUID) (followCounts, error) {
	var c followCounts
	err := sqlx.GetContext(ctx, q, &c, `SELECT followers_count, following_count FROM auth_follow_counts WHERE user_id = $1`, id)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("follow counts of %s: %w", id, err)
	}
	return c, nil
}

// profileView is a public profile with its follow counts.
func (s *Service) profileView(ctx context.Context, u *User) (ProfileView, error) {
	c, err := s.store.followCounts(ctx, s.db, u.ID)
	if err != nil {
		return ProfileView{}, err
	}
	return ProfileView{PublicUser: publicView(u), FollowersCount: c.Followers, FollowingCount: c.Following}, nil
}
