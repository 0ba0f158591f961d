package tracks

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/veza/veza/modules/social/socialapi"
	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/events"
)

// The like and comment counts every track shows are the social module's:
// tracks keeps a copy in its likes and comments columns from social's
// events (never reading social's tables), each carrying the new totals and
// their version. Without the social module they stay 0.

// onTrackCounts applies track.liked, track.unliked, comment.created and
// comment.deleted: the payloads share the track id and the totals.
func (s *Service) onTrackCounts(ctx context.Context, ev events.Event) error {
	var p struct {
		TrackID uuid.UUID `json:"track_id"`
		socialapi.TrackCounts
	}
	if err := ev.Decode(&p); err != nil {
		return err
	}
	if p.TrackID == uuid.Nil || p.CountsVersion < 1 {
		return fmt.Errorf("%s event %s has no track_id or counts_version: %w", ev.Type, ev.ID, asynq.SkipRetry)
	}
	return s.store.putCounts(ctx, []socialapi.TrackCountsEntry{{TrackID: p.TrackID, TrackCounts: p.TrackCounts}})
}

// onCountsReconciled applies a batch of totals from social's periodic
// reconciliation, which repairs a copy that missed events.
func (s *Service) onCountsReconciled(ctx context.Context, ev events.Event) error {
	var p socialapi.TrackCountsBatch
	if err := ev.Decode(&p); err != nil {
		return err
	}
	return s.store.putCounts(ctx, p.Tracks)
}

// putCounts stores each entry's totals unless the track holds totals of a
// version at least as high; equal versions are rewritten only when they
// differ, which only a reconciliation can bring.
func (s *store) putCounts(ctx context.Context, list []socialapi.TrackCountsEntry) error {
	if len(list) == 0 {
		return nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return fmt.Errorf("encode %d track counts: %w", len(list), err)
	}
	// JSON goes as text: with binary_parameters a []byte would be sent in
	// jsonb's binary format. updated_at stays: counts are not the track's
	// metadata, and updated_at is the version of the track events.
	_, err = s.db.ExecContext(ctx, `
		UPDATE tracks t SET likes = c.like_count, comments = c.comment_count, counts_version = c.counts_version
		FROM jsonb_to_recordset($1::jsonb) AS c (track_id uuid, like_count bigint, comment_count bigint, counts_version bigint)
		WHERE t.id = c.track_id AND (t.counts_version < c.counts_version
			OR (t.counts_version = c.counts_version AND (t.likes, t.comments) IS DISTINCT FROM (c.like_count, c.comment_count)))`,
		string(b))
	if err != nil {
		return fmt.Errorf("store %d track counts: %w", len(list), err)
	}
	return nil
}

// trackRefs returns at most limit tracks after the id after, in id order.
func (s *store) trackRefs(ctx context.Context, after uuid.UUID, limit int) ([]tracksapi.TrackRef, error) {
	var rows []struct {
		ID         uuid.UUID `db:"id"`
		OwnerID    uuid.UUID `db:"owner_id"`
		Visibility string    `db:"visibility"`
		CreatedAt  time.Time `db:"created_at"`
		UpdatedAt  time.Time `db:"updated_at"`
	}
	err := s.db.SelectContext(ctx, &rows, `SELECT id, owner_id, visibility, created_at, updated_at FROM tracks
		WHERE id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list tracks after %s: %w", after, err)
	}
	out := make([]tracksapi.TrackRef, len(rows))
	for i, r := range rows {
		out[i] = tracksapi.TrackRef(r)
	}
	return out, nil
}
