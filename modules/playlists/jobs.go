package playlists

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/events"
)

// SweepJob removes the places of tracks that no longer exist: the
// track.deleted subscription does it at once, and this hourly pass catches
// a track added to a playlist while it was being deleted (the two modules
// share no transaction, so that race cannot be closed by a lock).
const SweepJob = "playlists:sweep"

// sweepBatch is how many distinct tracks one catalog call checks.
const sweepBatch = 1000

// onTrackDeleted takes a deleted track out of every playlist holding it,
// closing the gaps; each playlist's members get playlist.updated. Running
// it twice does nothing more.
func (ps *service) onTrackDeleted(ctx context.Context, ev events.Event) error {
	var p tracksapi.TrackEvent
	if err := ev.Decode(&p); err != nil {
		return err
	}
	return ps.dropTrack(ctx, p.TrackID)
}

// dropTrack removes track from each playlist holding it, one transaction
// per playlist, locking them in id order.
func (ps *service) dropTrack(ctx context.Context, track uuid.UUID) error {
	lists, err := ps.store.playlistsWithTrack(ctx, track)
	if err != nil {
		return err
	}
	for _, id := range lists {
		err := db.WithTx(ctx, ps.db, func(tx *sqlx.Tx) error {
			pl, err := ps.store.playlistByID(ctx, tx, id, true)
			if err != nil {
				return ignoreNotFound(err) // deleted meanwhile
			}
			removed, err := ps.store.removePlaylistTrack(ctx, tx, id, track)
			if err != nil || !removed {
				return err
			}
			if err := ps.store.renumber(ctx, tx, id); err != nil {
				return err
			}
			return ps.changed(ctx, tx, pl, "tracks")
		})
		if err != nil {
			return fmt.Errorf("drop deleted track %s from playlist %s: %w", track, id, err)
		}
	}
	return nil
}

// sweep walks every track held by a playlist and drops those the tracks
// catalog no longer knows.
func (ps *service) sweep(ctx context.Context, _ *asynq.Task) error {
	after := uuid.Nil
	for {
		ids, err := ps.store.trackIDsAfter(ctx, after, sweepBatch)
		if err != nil || len(ids) == 0 {
			return err
		}
		existing, err := ps.tracks.Existing(ctx, ids)
		if err != nil {
			return fmt.Errorf("sweep: %w", err)
		}
		for _, id := range ids {
			if !existing[id] {
				if err := ps.dropTrack(ctx, id); err != nil {
					return err
				}
			}
		}
		after = ids[len(ids)-1]
	}
}

func ignoreNotFound(err error) error {
	if errors.Is(err, errNotFound) {
		return nil
	}
	return err
}
