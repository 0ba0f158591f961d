package tracks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/modules/tracks/tracksapi"
)

// files is the tracksapi.Files the module exports.
type files struct{ svc *Service }

func newFiles(svc *Service) tracksapi.Files { return files{svc: svc} }

// ready loads track id when its file may be served.
func (f files) ready(ctx context.Context, id uuid.UUID) (*Track, error) {
	t, err := f.svc.store.track(ctx, f.svc.db, id, false)
	if errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("track %s: %w", id, tracksapi.ErrNoTrack)
	}
	if err != nil {
		return nil, err
	}
	if t.Status != "ready" {
		return nil, fmt.Errorf("track %s is %s: %w", id, t.Status, tracksapi.ErrNotReady)
	}
	return t, nil
}

func (f files) Original(ctx context.Context, id uuid.UUID) (tracksapi.File, error) {
	t, err := f.ready(ctx, id)
	if err != nil {
		return tracksapi.File{}, err
	}
	rd, err := f.svc.files.Open(ctx, t.StorageKey)
	if err != nil {
		return tracksapi.File{}, fmt.Errorf("open the original of track %s: %w", id, err)
	}
	obj := rd.Object()
	return tracksapi.File{Reader: rd, Size: obj.Size, ContentType: t.ContentType, ETag: etag(t),
		ModTime: obj.ModTime, Name: t.Title + t.extension()}, nil
}

func (f files) PresignOriginal(ctx context.Context, id uuid.UUID, ttl time.Duration) (string, error) {
	t, err := f.ready(ctx, id)
	if err != nil {
		return "", err
	}
	url, err := f.svc.files.PresignGet(ctx, t.StorageKey, ttl, t.Title+t.extension())
	if err != nil {
		return "", fmt.Errorf("presign the original of track %s: %w", id, err)
	}
	return url, nil
}
