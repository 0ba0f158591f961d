package social

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/veza/veza/modules/social/socialapi"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/page"
)

var errNotFound = errors.New("not found")

// store holds the module's SQL, one method per statement.
type store struct {
	db *sqlx.DB
	// hot runs the feed's queries as prepared statements: they run on every
	// feed page and cost more to plan than to run.
	hot *db.Statements
}

func newStore(pool *sqlx.DB) *store { return &store{db: pool, hot: db.NewStatements(pool)} }

// keyset completes query (which ends in a WHERE clause) with "strictly
// after the cursor" on the columns at and id, newest first, and the limit.
func keyset(query, at, id string, after *page.TimeID, limit int, args ...any) (string, []any) {
	if after != nil {
		args = append(args, after.At, after.ID)
		query += fmt.Sprintf(" AND (%s, %s) < ($%d, $%d)", at, id, len(args)-1, len(args))
	}
	args = append(args, limit)
	return query + fmt.Sprintf(" ORDER BY %s DESC, %s DESC LIMIT $%d", at, id, len(args)), args
}

func idStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// insertLike reports whether the like is new.
func (s *store) insertLike(ctx context.Context, tx sqlx.ExtContext, track, user uuid.UUID) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO social_likes (track_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, track, user)
	if err != nil {
		return false, fmt.Errorf("like %s: %w", track, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// deleteLike reports whether there was a like to take back.
func (s *store) deleteLike(ctx context.Context, tx sqlx.ExtContext, track, user uuid.UUID) (bool, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM social_likes WHERE track_id = $1 AND user_id = $2`, track, user)
	if err != nil {
		return false, fmt.Errorf("unlike %s: %w", track, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// like is a row of social_likes.
type like struct {
	UserID    uuid.UUID `db:"user_id"`
	CreatedAt time.Time `db:"created_at"`
}

// likes returns a track's likes, newest first, strictly after the cursor.
func (s *store) likes(ctx context.Context, track uuid.UUID, after *page.TimeID, limit int) ([]like, error) {
	query, args := keyset(`SELECT user_id, created_at FROM social_likes WHERE track_id = $1`, "created_at", "user_id", after, limit, track)
	var out []like
	if err := s.db.SelectContext(ctx, &out, query, args...); err != nil {
		return nil, fmt.Errorf("likes of %s: %w", track, err)
	}
	return out, nil
}

// trackCounts is a row of social_track_counts.
type trackCounts struct {
	TrackID  uuid.UUID `db:"track_id"`
	Likes    int64     `db:"likes"`
	Comments int64     `db:"comments"`
	Version  int64     `db:"version"`
}

func (c trackCounts) api() socialapi.TrackCounts {
	return socialapi.TrackCounts{LikeCount: c.Likes, CommentCount: c.Comments, CountsVersion: c.Version}
}

// addTrackCounts changes a track's counts by the deltas, in tx, and
// returns the new totals and their version. The row's lock, held until tx
// ends, orders the changes of one track: the version numbers them as they
// commit. A missing row starts at zero; no count goes below zero (the
// reconciliation recounts).
func (s *store) addTrackCounts(ctx context.Context, tx sqlx.ExtContext, track uuid.UUID, likes, comments int64) (trackCounts, error) {
	var c trackCounts
	err := sqlx.GetContext(ctx, tx, &c, `
		INSERT INTO social_track_counts AS c (track_id, likes, comments, version) VALUES ($1, greatest($2, 0), greatest($3, 0), 1)
		ON CONFLICT (track_id) DO UPDATE SET likes = greatest(c.likes + $2, 0), comments = greatest(c.comments + $3, 0),
			version = c.version + 1
		RETURNING track_id, likes, comments, version`, track, likes, comments)
	if err != nil {
		return c, fmt.Errorf("count for %s: %w", track, err)
	}
	return c, nil
}

// trackCounts reads a track's counts (zeros when it has none).
func (s *store) trackCounts(ctx context.Context, q sqlx.QueryerContext, track uuid.UUID) (trackCounts, error) {
	c := trackCounts{TrackID: track}
	err := sqlx.GetContext(ctx, q, &c, `SELECT track_id, likes, comments, version FROM social_track_counts WHERE track_id = $1`, track)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("counts of %s: %w", track, err)
	}
	return c, nil
}

// Comment is a row of social_comments.
type Comment struct {
	ID           uuid.UUID `db:"id"`
	TrackID      uuid.UUID `db:"track_id"`
	TrackOwnerID uuid.UUID `db:"track_owner_id"`
	UserID       uuid.UUID `db:"user_id"`
	Body         string    `db:"body"`
	AtMS         *int64    `db:"at_ms"`
	CreatedAt    time.Time `db:"created_at"`
}

const commentColumns = `id, track_id, track_owner_id, user_id, body, at_ms, created_at`

func (s *store) insertComment(ctx context.Context, tx sqlx.ExtContext, c *Comment) error {
	err := sqlx.GetContext(ctx, tx, c, `INSERT INTO social_comments (id, track_id, track_owner_id, user_id, body, at_ms)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+commentColumns, c.ID, c.TrackID, c.TrackOwnerID, c.UserID, c.Body, c.AtMS)
	if err != nil {
		return fmt.Errorf("insert comment on %s: %w", c.TrackID, err)
	}
	return nil
}

func (s *store) comment(ctx context.Context, id uuid.UUID) (*Comment, error) {
	var c Comment
	err := s.db.GetContext(ctx, &c, `SELECT `+commentColumns+` FROM social_comments WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load comment %s: %w", id, err)
	}
	return &c, nil
}

// deleteComment removes a comment and reports whether it was there.
func (s *store) deleteComment(ctx context.Context, tx sqlx.ExtContext, id uuid.UUID) (bool, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM social_comments WHERE id = $1`, id)
	if err != nil {
		return false, fmt.Errorf("delete comment %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// comments returns a track's comments, newest first, strictly after the
// cursor.
func (s *store) comments(ctx context.Context, track uuid.UUID, after *page.TimeID, limit int) ([]Comment, error) {
	query, args := keyset(`SELECT `+commentColumns+` FROM social_comments WHERE track_id = $1`, "created_at", "id", after, limit, track)
	var out []Comment
	if err := s.db.SelectContext(ctx, &out, query, args...); err != nil {
		return nil, fmt.Errorf("comments of %s: %w", track, err)
	}
	return out, nil
}

// forgetTrack removes what the module holds of a deleted track: likes,
// comments, counts and the notifications about them.
func (s *store) forgetTrack(ctx context.Context, track uuid.UUID) error {
	return db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		for _, q := range []string{
			`DELETE FROM social_likes WHERE track_id = $1`,
			`DELETE FROM social_comments WHERE track_id = $1`,
			`DELETE FROM social_track_counts WHERE track_id = $1`,
			`DELETE FROM social_notifications WHERE track_id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, track); err != nil {
				return fmt.Errorf("forget deleted track %s: %w", track, err)
			}
		}
		return nil
	})
}

// countedTracks returns at most limit tracks with counts after the id
// after, in id order: the reconciliation's walk.
func (s *store) countedTracks(ctx context.Context, after uuid.UUID, limit int) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := s.db.SelectContext(ctx, &out, `SELECT track_id FROM social_track_counts WHERE track_id > $1 ORDER BY track_id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("counted tracks after %s: %w", after, err)
	}
	return out, nil
}

// recountTracks sets the counts of tracks to what their rows say, bumping
// the version of those that were wrong, and returns every track's totals.
// The rows are locked first, in id order, by a statement of their own: a
// like in flight then either committed before the count (which sees it) or
// waits for the lock and adds itself to the corrected total afterwards.
func (s *store) recountTracks(ctx context.Context, tracks []uuid.UUID) ([]trackCounts, error) {
	var out []trackCounts
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		ids := pq.Array(idStrings(tracks))
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM social_track_counts WHERE track_id = ANY($1::uuid[])
			ORDER BY track_id FOR UPDATE`, ids); err != nil {
			return fmt.Errorf("lock %d track counts: %w", len(tracks), err)
		}
		// The UPDATE's changes are not visible to the SELECT of the same
		// statement, hence the coalesce.
		err := sqlx.SelectContext(ctx, tx, &out, `
			WITH real AS (
				SELECT c.track_id,
					(SELECT count(*) FROM social_likes l WHERE l.track_id = c.track_id) AS likes,
					(SELECT count(*) FROM social_comments m WHERE m.track_id = c.track_id) AS comments
				FROM social_track_counts c WHERE c.track_id = ANY($1::uuid[])
			), fixed AS (
				UPDATE social_track_counts c SET likes = r.likes, comments = r.comments, version = c.version + 1
				FROM real r WHERE c.track_id = r.track_id AND (c.likes, c.comments) IS DISTINCT FROM (r.likes, r.comments)
				RETURNING c.track_id, c.likes, c.comments, c.version
			)
			SELECT c.track_id, coalesce(f.likes, c.likes) AS likes, coalesce(f.comments, c.comments) AS comments,
				coalesce(f.version, c.version) AS version
			FROM social_track_counts c LEFT JOIN fixed f ON f.track_id = c.track_id
			WHERE c.track_id = ANY($1::uuid[]) ORDER BY c.track_id`, ids)
		if err != nil {
			return fmt.Errorf("recount %d tracks: %w", len(tracks), err)
		}
		return nil
	})
	return out, err
}
