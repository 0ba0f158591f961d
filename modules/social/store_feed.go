package social

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/veza/veza/platform/page"
)

// feedTrack is a row of social_feed_tracks: what the feed knows of a track.
type feedTrack struct {
	TrackID    uuid.UUID `db:"track_id" json:"track_id"`
	OwnerID    uuid.UUID `db:"owner_id" json:"owner_id"`
	Visibility string    `db:"visibility" json:"visibility"`
	CreatedAt  time.Time `db:"created_at" json:"created_at"`
	Version    time.Time `db:"version" json:"version"`
}

// putFeedTracks stores each track unless the index holds a version at
// least as new, or a tombstone; it returns how many rows it wrote.
func (s *store) putFeedTracks(ctx context.Context, list []feedTrack) (int, error) {
	if len(list) == 0 {
		return 0, nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return 0, fmt.Errorf("encode %d feed tracks: %w", len(list), err)
	}
	// JSON goes as text: binary_parameters would send a []byte as binary
	// jsonb.
	res, err := s.db.ExecContext(ctx, `
		INSERT INTO social_feed_tracks AS f (track_id, owner_id, visibility, created_at, version)
		SELECT track_id, owner_id, visibility, created_at, version
		FROM jsonb_to_recordset($1::jsonb) AS t (track_id uuid, owner_id uuid, visibility text, created_at timestamptz, version timestamptz)
		ORDER BY track_id
		ON CONFLICT (track_id) DO UPDATE SET owner_id = excluded.owner_id, visibility = excluded.visibility,
			created_at = excluded.created_at, version = excluded.version
		WHERE f.version < excluded.version AND NOT f.deleted`, string(b))
	if err != nil {
		return 0, fmt.Errorf("store %d feed tracks: %w", len(list), err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// buryFeedTrack marks a deleted track, for good: a late event of its
// changes nothing. A track the index never saw gets a tombstone too.
func (s *store) buryFeedTrack(ctx context.Context, id, owner uuid.UUID) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO social_feed_tracks AS f (track_id, owner_id, visibility, created_at, version, deleted)
		VALUES ($1, $2, 'private', now(), now(), true)
		ON CONFLICT (track_id) DO UPDATE SET deleted = true WHERE NOT f.deleted`, id, owner)
	if err != nil {
		return fmt.Errorf("mark feed track %s deleted: %w", id, err)
	}
	return nil
}

// buryFeedTracks marks tracks of the index deleted and returns how many it
// marked.
func (s *store) buryFeedTracks(ctx context.Context, ids []uuid.UUID) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	res, err := s.db.ExecContext(ctx, `UPDATE social_feed_tracks SET deleted = true WHERE track_id = ANY($1::uuid[]) AND NOT deleted`,
		pq.Array(idStrings(ids)))
	if err != nil {
		return 0, fmt.Errorf("mark %d feed tracks deleted: %w", len(ids), err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// liveFeedTracks returns at most limit tracks the index holds as not
// deleted, after the id after, in id order.
func (s *store) liveFeedTracks(ctx context.Context, after uuid.UUID, limit int) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := s.db.SelectContext(ctx, &out, `SELECT track_id FROM social_feed_tracks WHERE track_id > $1 AND NOT deleted
		ORDER BY track_id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("feed tracks after %s: %w", after, err)
	}
	return out, nil
}

// The feed's queries, a merge over the users the reader followed, in two
// steps that each read only social_feed_tracks_owner_idx (index-only):
//
//  1. heads: for each followed user, the created_at of their newest public
//     track (after the cursor): one index descent each;
//  2. bound: the n-th newest of those heads, n being the rows asked for.
//     The n newest heads are n distinct tracks at least as new as bound, so
//     no track older than bound can be among the n newest of the feed:
//     only the users whose head is at least bound can contribute, and
//     only their tracks at least as new as bound, at most n each.
//
// The cost is one index descent per followed user, plus the few rows
// newer than bound; it never grows with the size of the table or the age
// of the tracks. Fewer than n heads leave no bound (-infinity).
const (
	feedFirstQuery = `WITH heads AS MATERIALIZED (
			SELECT f.followed_id, h.created_at FROM social_follows f
			CROSS JOIN LATERAL (
				SELECT t.created_at FROM social_feed_tracks t
				WHERE t.owner_id = f.followed_id AND t.visibility = 'public' AND NOT t.deleted
				ORDER BY t.created_at DESC, t.track_id DESC LIMIT 1
			) h
			WHERE f.follower_id = $1
		), bound AS (
			SELECT coalesce((SELECT created_at FROM heads ORDER BY created_at DESC OFFSET $2 - 1 LIMIT 1), '-infinity') AS at
		)
		SELECT x.track_id, x.created_at FROM heads hd CROSS JOIN bound b
		CROSS JOIN LATERAL (
			SELECT t.track_id, t.created_at FROM social_feed_tracks t
			WHERE t.owner_id = hd.followed_id AND t.visibility = 'public' AND NOT t.deleted AND t.created_at >= b.at
			ORDER BY t.created_at DESC, t.track_id DESC LIMIT $2
		) x
		WHERE hd.created_at >= b.at
		ORDER BY x.created_at DESC, x.track_id DESC LIMIT $2`
	feedAfterQuery = `WITH heads AS MATERIALIZED (
			SELECT f.followed_id, h.created_at FROM social_follows f
			CROSS JOIN LATERAL (
				SELECT t.created_at FROM social_feed_tracks t
				WHERE t.owner_id = f.followed_id AND t.visibility = 'public' AND NOT t.deleted
					AND (t.created_at, t.track_id) < ($2, $3)
				ORDER BY t.created_at DESC, t.track_id DESC LIMIT 1
			) h
			WHERE f.follower_id = $1
		), bound AS (
			SELECT coalesce((SELECT created_at FROM heads ORDER BY created_at DESC OFFSET $4 - 1 LIMIT 1), '-infinity') AS at
		)
		SELECT x.track_id, x.created_at FROM heads hd CROSS JOIN bound b
		CROSS JOIN LATERAL (
			SELECT t.track_id, t.created_at FROM social_feed_tracks t
			WHERE t.owner_id = hd.followed_id AND t.visibility = 'public' AND NOT t.deleted
				AND (t.created_at, t.track_id) < ($2, $3) AND t.created_at >= b.at
			ORDER BY t.created_at DESC, t.track_id DESC LIMIT $4
		) x
		WHERE hd.created_at >= b.at
		ORDER BY x.created_at DESC, x.track_id DESC LIMIT $4`
)

// feedEntry is one track of a feed page.
type feedEntry struct {
	TrackID   uuid.UUID `db:"track_id"`
	CreatedAt time.Time `db:"created_at"`
}

// feed returns the public tracks of the users reader follows, newest
// first, strictly after the cursor.
func (s *store) feed(ctx context.Context, reader uuid.UUID, after *page.TimeID, limit int) ([]feedEntry, error) {
	var out []feedEntry
	var err error
	if after == nil {
		err = s.hot.Select(ctx, &out, feedFirstQuery, reader, limit)
	} else {
		err = s.hot.Select(ctx, &out, feedAfterQuery, reader, after.At, after.ID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("feed of %s: %w", reader, err)
	}
	return out, nil
}
