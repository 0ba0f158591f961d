package social

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/social/socialapi"
	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/events"
)

// ReconcileCountsJob recounts likes, comments and follows from their rows
// and re-publishes the totals, so that the copies tracks and auth keep
// from this module's events are repaired when they missed one.
const ReconcileCountsJob = Name + ":reconcile_counts"

// reconcileCountsEvery bounds how long a lost event leaves a count wrong.
const reconcileCountsEvery = "@every 1h"

// countsBatch is how many tracks (users) one reconciliation event carries.
const countsBatch = 500

// onTrackDeleted forgets a deleted track: its place in the feed's index
// (a tombstone, so that a late event cannot bring it back), its likes,
// comments, counts and notifications. Running it twice does nothing more.
func (s *service) onTrackDeleted(ctx context.Context, ev events.Event) error {
	var p tracksapi.TrackEvent
	if err := ev.Decode(&p); err != nil {
		return err
	}
	if p.TrackID == uuid.Nil {
		return fmt.Errorf("%s event %s has no track_id: %w", ev.Type, ev.ID, asynq.SkipRetry)
	}
	if err := s.store.buryFeedTrack(ctx, p.TrackID, p.OwnerID); err != nil {
		return err
	}
	return s.store.forgetTrack(ctx, p.TrackID)
}

// handleReconcileCounts is ReconcileCountsJob.
func (s *service) handleReconcileCounts(ctx context.Context, _ *asynq.Task) error {
	tracks, err := s.reconcileTracks(ctx)
	if err != nil {
		return err
	}
	users, err := s.reconcileUsers(ctx)
	if tracks+users > 0 {
		s.log.Info("re-published counts", zap.Int("tracks", tracks), zap.Int("users", users))
	}
	return err
}

// reconcileTracks walks every counted track: it forgets those the tracks
// module no longer has (a like racing the track's deletion), recounts the
// others and publishes their totals in batches. It returns how many
// tracks it published.
func (s *service) reconcileTracks(ctx context.Context) (int, error) {
	published := 0
	after := uuid.Nil
	for {
		ids, err := s.store.countedTracks(ctx, after, countsBatch)
		if err != nil || len(ids) == 0 {
			return published, err
		}
		after = ids[len(ids)-1]
		live, err := s.dropDeleted(ctx, ids)
		if err != nil {
			return published, err
		}
		if len(live) == 0 {
			continue
		}
		counts, err := s.store.recountTracks(ctx, live)
		if err != nil {
			return published, err
		}
		batch := socialapi.TrackCountsBatch{Tracks: make([]socialapi.TrackCountsEntry, len(counts))}
		for i, c := range counts {
			batch.Tracks[i] = socialapi.TrackCountsEntry{TrackID: c.TrackID, TrackCounts: c.api()}
		}
		if _, err := s.pub.Publish(ctx, s.db, socialapi.EventTrackCountsReconciled, batch); err != nil {
			return published, err
		}
		published += len(counts)
	}
}

// dropDeleted forgets the tracks of ids that the tracks module no longer
// has and returns the others.
func (s *service) dropDeleted(ctx context.Context, ids []uuid.UUID) ([]uuid.UUID, error) {
	existing, err := s.tracks.Existing(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("which counted tracks exist: %w", err)
	}
	live := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		if existing[id] {
			live = append(live, id)
			continue
		}
		if err := s.store.forgetTrack(ctx, id); err != nil {
			return nil, err
		}
	}
	return live, nil
}

// reconcileUsers recounts every counted user's follows and publishes their
// totals in batches. It returns how many users it published.
func (s *service) reconcileUsers(ctx context.Context) (int, error) {
	published := 0
	after := uuid.Nil
	for {
		ids, err := s.store.countedUsers(ctx, after, countsBatch)
		if err != nil || len(ids) == 0 {
			return published, err
		}
		after = ids[len(ids)-1]
		counts, err := s.store.recountUsers(ctx, ids)
		if err != nil {
			return published, err
		}
		batch := socialapi.UserCountsBatch{Users: make([]socialapi.UserCountsEntry, len(counts))}
		for i, c := range counts {
			batch.Users[i] = socialapi.UserCountsEntry{UserID: c.UserID, UserCounts: c.api()}
		}
		if _, err := s.pub.Publish(ctx, s.db, socialapi.EventUserCountsReconciled, batch); err != nil {
			return published, err
		}
		published += len(counts)
	}
}
