package social

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/page"
)

// ReconcileFeedJob brings the feed's index of tracks up to date with the
// tracks module: what its events did not bring.
const ReconcileFeedJob = Name + ":reconcile_feed"

// reconcileFeedEvery bounds how long a lost track event leaves the feed
// wrong about a track.
const reconcileFeedEvery = "@every 1h"

// walkBatch is how many tracks one step of a walk reads.
const walkBatch = 1000

// feed serves GET /feed: the public tracks of the users the reader
// follows, newest first. Social may not read tracks' tables, so it keeps
// an index of its own (social_feed_tracks: id, owner, visibility,
// created_at) from tracks' events, and renders a page through
// tracksapi.Catalog, which answers each track as GET /tracks shows it.
type feed struct {
	store  *store
	tracks tracksapi.Catalog
	index  tracksapi.Index
	log    *zap.Logger
}

func newFeed(st *store, tracks tracksapi.Catalog, index tracksapi.Index, log *zap.Logger) *feed {
	return &feed{store: st, tracks: tracks, index: index, log: log}
}

// Page returns a page of p's feed and the next page's cursor. The cursor
// follows the index, and the page shows what the catalog lists to p now:
// a track made private a moment ago, before the index heard of it, is left
// out (that page is one item short) rather than shown.
func (f *feed) Page(ctx context.Context, p *authn.Principal, req page.Request[page.TimeID]) ([]tracksapi.Track, string, error) {
	fetch := func(ctx context.Context, after *page.TimeID, n int) ([]feedEntry, error) {
		return f.store.feed(ctx, p.UserID, after, n)
	}
	entries, next, err := page.Fetch(ctx, req, fetch, func(e *feedEntry) page.TimeID { return page.TimeID{At: e.CreatedAt, ID: e.TrackID} })
	if err != nil || len(entries) == 0 {
		return []tracksapi.Track{}, next, err
	}
	ids := make([]uuid.UUID, len(entries))
	for i, e := range entries {
		ids[i] = e.TrackID
	}
	listed, err := f.tracks.Listable(ctx, p, ids)
	if err != nil {
		return nil, "", fmt.Errorf("tracks of a feed page: %w", err)
	}
	out := make([]tracksapi.Track, 0, len(ids))
	for _, id := range ids {
		// Listable lets an admin see everything: the feed is public tracks.
		if t, ok := listed[id]; ok && t.Visibility == "public" {
			out = append(out, t)
		}
	}
	return out, next, nil
}

// onTrackEvent applies track.created, track.processed and track.updated
// to the index. It needs no deduplication: the index keeps the newest
// version of a track (the event's updated_at), so a repeated or overtaken
// event changes nothing.
func (f *feed) onTrackEvent(ctx context.Context, ev events.Event) error {
	var p tracksapi.TrackEvent
	if err := ev.Decode(&p); err != nil {
		return err
	}
	if p.TrackID == uuid.Nil || p.OwnerID == uuid.Nil {
		return fmt.Errorf("%s event %s has no track_id or owner_id: %w", ev.Type, ev.ID, asynq.SkipRetry)
	}
	// Events published before tracks carried its versions: their at
	// stands in, and the reconciliation corrects what it gets wrong.
	created, version := p.CreatedAt, p.UpdatedAt
	if created.IsZero() {
		created = p.At
	}
	if version.IsZero() {
		version = p.At
	}
	_, err := f.store.putFeedTracks(ctx, []feedTrack{{TrackID: p.TrackID, OwnerID: p.OwnerID, Visibility: p.Visibility,
		CreatedAt: created, Version: version}})
	return err
}

// reconcile brings the index up to date with tracks: it walks every track
// through tracksapi.Index, storing those newer than the index (tracks
// older than the module, a lost event), then walks the index and marks the
// tracks tracks no longer has deleted (a lost track.deleted). It returns
// how many rows it changed.
func (f *feed) reconcile(ctx context.Context) (int, error) {
	filled, err := f.fill(ctx)
	if err != nil {
		return filled, err
	}
	buried, err := f.bury(ctx)
	return filled + buried, err
}

func (f *feed) fill(ctx context.Context) (int, error) {
	changed := 0
	after := uuid.Nil
	for {
		refs, err := f.index.TrackRefs(ctx, after, walkBatch)
		if err != nil || len(refs) == 0 {
			return changed, err
		}
		rows := make([]feedTrack, len(refs))
		for i, r := range refs {
			rows[i] = feedTrack{TrackID: r.ID, OwnerID: r.OwnerID, Visibility: r.Visibility, CreatedAt: r.CreatedAt, Version: r.UpdatedAt}
		}
		n, err := f.store.putFeedTracks(ctx, rows)
		changed += n
		if err != nil {
			return changed, err
		}
		after = refs[len(refs)-1].ID
	}
}

// bury asks the catalog, a batch at a time, which tracks of the index
// still exist. A track the index holds was created before it reached the
// index, so the catalog not finding it now means it was deleted.
func (f *feed) bury(ctx context.Context) (int, error) {
	changed := 0
	after := uuid.Nil
	for {
		ids, err := f.store.liveFeedTracks(ctx, after, walkBatch)
		if err != nil || len(ids) == 0 {
			return changed, err
		}
		existing, err := f.tracks.Existing(ctx, ids)
		if err != nil {
			return changed, fmt.Errorf("which feed tracks exist: %w", err)
		}
		var gone []uuid.UUID
		for _, id := range ids {
			if !existing[id] {
				gone = append(gone, id)
			}
		}
		n, err := f.store.buryFeedTracks(ctx, gone)
		changed += n
		if err != nil {
			return changed, err
		}
		after = ids[len(ids)-1]
	}
}

// handleReconcile is ReconcileFeedJob.
func (f *feed) handleReconcile(ctx context.Context, _ *asynq.Task) error {
	n, err := f.reconcile(ctx)
	if n > 0 {
		f.log.Info("brought the feed's index of tracks up to date", zap.Int("tracks", n))
	}
	return err
}

// backfill reconciles once when a worker starts, so that a deployment
// enabling the module finds the tracks made before it in feeds within
// seconds. It returns nil when done, which ends the loop; the platform
// retries a failure with backoff.
func (f *feed) backfill(ctx context.Context) error {
	return f.handleReconcile(ctx, nil)
}
