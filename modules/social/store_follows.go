package social

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/veza/veza/modules/social/socialapi"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/page"
)

// insertFollow reports whether the follow is new.
func (s *store) insertFollow(ctx context.Context, tx sqlx.ExtContext, follower, followed uuid.UUID) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO social_follows (follower_id, followed_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		follower, followed)
	if err != nil {
		return false, fmt.Errorf("follow %s: %w", followed, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// deleteFollow reports whether there was a follow to end.
func (s *store) deleteFollow(ctx context.Context, tx sqlx.ExtContext, follower, followed uuid.UUID) (bool, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM social_follows WHERE follower_id = $1 AND followed_id = $2`, follower, followed)
	if err != nil {
		return false, fmt.Errorf("unfollow %s: %w", followed, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// userCounts is a row of social_user_counts.
type userCounts struct {
	UserID    uuid.UUID `db:"user_id"`
	Followers int64     `db:"followers"`
	Following int64     `db:"following"`
	Version   int64     `db:"version"`
}

func (c userCounts) api() socialapi.UserCounts {
	return socialapi.UserCounts{FollowersCount: c.Followers, FollowingCount: c.Following, CountsVersion: c.Version}
}

// addFollowCounts counts a follow (delta 1) or its end (-1): the follower
// follows one more (or fewer), the followed has one more (or fewer)
// follower. Both rows change in one statement, locked in id order so
// that two users following each other at once cannot deadlock; their
// versions number the changes of each user.
func (s *store) addFollowCounts(ctx context.Context, tx sqlx.ExtContext, follower, followed uuid.UUID, delta int64) (f, d userCounts, err error) {
	first, second := follower, followed
	if bytes.Compare(followed[:], follower[:]) < 0 {
		first, second = followed, follower
	}
	var out []userCounts
	err = sqlx.SelectContext(ctx, tx, &out, `
		INSERT INTO social_user_counts AS c (user_id, followers, following, version)
		SELECT u, greatest(CASE WHEN u = $3 THEN $5 ELSE 0 END, 0), greatest(CASE WHEN u = $4 THEN $5 ELSE 0 END, 0), 1
		FROM unnest(ARRAY[$1::uuid, $2::uuid]) WITH ORDINALITY AS r (u, n) ORDER BY n
		ON CONFLICT (user_id) DO UPDATE SET
			followers = greatest(c.followers + CASE WHEN c.user_id = $3 THEN $5 ELSE 0 END, 0),
			following = greatest(c.following + CASE WHEN c.user_id = $4 THEN $5 ELSE 0 END, 0),
			version = c.version + 1
		RETURNING user_id, followers, following, version`,
		first, second, followed, follower, delta)
	if err != nil {
		return f, d, fmt.Errorf("count the follow of %s by %s: %w", followed, follower, err)
	}
	for _, c := range out {
		if c.UserID == follower {
			f = c
		} else {
			d = c
		}
	}
	return f, d, nil
}

// userCountsOf reads a user's counts (zeros when they have none).
func (s *store) userCountsOf(ctx context.Context, q sqlx.QueryerContext, user uuid.UUID) (userCounts, error) {
	c := userCounts{UserID: user}
	var list []userCounts
	err := sqlx.SelectContext(ctx, q, &list, `SELECT user_id, followers, following, version FROM social_user_counts WHERE user_id = $1`, user)
	if err != nil {
		return c, fmt.Errorf("follow counts of %s: %w", user, err)
	}
	if len(list) == 1 {
		c = list[0]
	}
	return c, nil
}

// follow is one user of a followers or following page.
type follow struct {
	UserID    uuid.UUID `db:"user_id"`
	CreatedAt time.Time `db:"created_at"`
}

// followers returns who follows user, newest first, after the cursor.
func (s *store) followers(ctx context.Context, user uuid.UUID, after *page.TimeID, limit int) ([]follow, error) {
	query, args := keyset(`SELECT follower_id AS user_id, created_at FROM social_follows WHERE followed_id = $1`,
		"created_at", "follower_id", after, limit, user)
	var out []follow
	if err := s.db.SelectContext(ctx, &out, query, args...); err != nil {
		return nil, fmt.Errorf("followers of %s: %w", user, err)
	}
	return out, nil
}

// following returns whom user follows, newest first, after the cursor.
func (s *store) following(ctx context.Context, user uuid.UUID, after *page.TimeID, limit int) ([]follow, error) {
	query, args := keyset(`SELECT followed_id AS user_id, created_at FROM social_follows WHERE follower_id = $1`,
		"created_at", "followed_id", after, limit, user)
	var out []follow
	if err := s.db.SelectContext(ctx, &out, query, args...); err != nil {
		return nil, fmt.Errorf("users %s follows: %w", user, err)
	}
	return out, nil
}

// countedUsers returns at most limit users with counts after the id after,
// in id order: the reconciliation's walk.
func (s *store) countedUsers(ctx context.Context, after uuid.UUID, limit int) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := s.db.SelectContext(ctx, &out, `SELECT user_id FROM social_user_counts WHERE user_id > $1 ORDER BY user_id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("counted users after %s: %w", after, err)
	}
	return out, nil
}

// recountUsers is recountTracks for follows.
func (s *store) recountUsers(ctx context.Context, users []uuid.UUID) ([]userCounts, error) {
	var out []userCounts
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		ids := pq.Array(idStrings(users))
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM social_user_counts WHERE user_id = ANY($1::uuid[])
			ORDER BY user_id FOR UPDATE`, ids); err != nil {
			return fmt.Errorf("lock %d user counts: %w", len(users), err)
		}
		err := sqlx.SelectContext(ctx, tx, &out, `
			WITH real AS (
				SELECT c.user_id,
					(SELECT count(*) FROM social_follows f WHERE f.followed_id = c.user_id) AS followers,
					(SELECT count(*) FROM social_follows f WHERE f.follower_id = c.user_id) AS following
				FROM social_user_counts c WHERE c.user_id = ANY($1::uuid[])
			), fixed AS (
				UPDATE social_user_counts c SET followers = r.followers, following = r.following, version = c.version + 1
				FROM real r WHERE c.user_id = r.user_id AND (c.followers, c.following) IS DISTINCT FROM (r.followers, r.following)
				RETURNING c.user_id, c.followers, c.following, c.version
			)
			SELECT c.user_id, coalesce(f.followers, c.followers) AS followers, coalesce(f.following, c.following) AS following,
				coalesce(f.version, c.version) AS version
			FROM social_user_counts c LEFT JOIN fixed f ON f.user_id = c.user_id
			WHERE c.user_id = ANY($1::uuid[]) ORDER BY c.user_id`, ids)
		if err != nil {
			return fmt.Errorf("recount %d users: %w", len(users), err)
		}
		return nil
	})
	return out, err
}
