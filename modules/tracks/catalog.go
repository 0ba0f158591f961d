package tracks

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/authn"
)

// catalog is the tracksapi.Catalog the module exports.
type catalog struct{ svc *Service }

func newCatalog(svc *Service) tracksapi.Catalog { return catalog{svc: svc} }

// newIndex exports the walk over every track (tracksapi.Index).
func newIndex(svc *Service) tracksapi.Index { return catalog{svc: svc} }

func (c catalog) Visible(ctx context.Context, viewer *authn.Principal, ids []uuid.UUID) (map[uuid.UUID]tracksapi.Track, error) {
	return c.tracks(ctx, ids, func(t *Track) bool { return canSee(viewer, t) })
}

func (c catalog) Listable(ctx context.Context, viewer *authn.Principal, ids []uuid.UUID) (map[uuid.UUID]tracksapi.Track, error) {
	return c.tracks(ctx, ids, func(t *Track) bool { return canList(viewer, t) })
}

// tracks loads those of ids that keep lets through, by id.
func (c catalog) tracks(ctx context.Context, ids []uuid.UUID, keep func(*Track) bool) (map[uuid.UUID]tracksapi.Track, error) {
	list, err := c.svc.store.tracksByID(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]tracksapi.Track, len(list))
	for i := range list {
		if keep(&list[i]) {
			out[list[i].ID] = view(&list[i])
		}
	}
	return out, nil
}

func (c catalog) Existing(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	found, err := c.svc.store.existing(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]bool, len(found))
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

func (c catalog) TrackRefs(ctx context.Context, after uuid.UUID, limit int) ([]tracksapi.TrackRef, error) {
	if limit < 1 || limit > tracksapi.MaxBatch {
		return nil, fmt.Errorf("tracks index: limit %d out of 1 to %d", limit, tracksapi.MaxBatch)
	}
	return c.svc.store.trackRefs(ctx, after, limit)
}
