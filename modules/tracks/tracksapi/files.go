package tracksapi

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/google/uuid"
)

// Files hands a track's original file to a module that grants access to
// it by rules of its own (the marketplace, to the holder of a licence):
// the other modules' storage is scoped to their own folder and cannot read
// tracks' files. It checks no visibility and no caller: the module asking
// has decided already, and must never use it to serve a track to whoever
// asks. The tracks module exports it; a module that asks for it must list
// "tracks" in Requires.
//
//	if url, err := files.PresignOriginal(ctx, id, 5*time.Minute); err == nil {
//		return c.Redirect(url) // S3: the client fetches the bytes from the store
//	}
//	f, err := files.Original(ctx, id) // local disk: stream f.Reader
type Files interface {
	// Original opens the original file of track id for reading. The
	// caller closes File.Reader. It fails with ErrNoTrack for an unknown
	// track, ErrNotReady while the track is processing or when it failed,
	// and an error wrapping storage.ErrNotFound when the file is missing
	// from the store.
	Original(ctx context.Context, id uuid.UUID) (File, error)
	// PresignOriginal returns a URL from which a client downloads the
	// original file of track id directly from the store for ttl, as an
	// attachment named like File.Name. On local disk it fails with an error
	// wrapping storage.ErrNotSupported: stream Original instead. The other
	// errors are Original's.
	PresignOriginal(ctx context.Context, id uuid.UUID, ttl time.Duration) (string, error)
}

// File is an opened original file, with what an HTTP answer needs.
type File struct {
	// Reader reads the bytes; it seeks, so a caller can serve a range.
	Reader io.ReadSeekCloser
	// Size is the file's length in bytes.
	Size int64
	// ContentType is the media type the upload was identified as
	// ("audio/wav"), from its bytes, not from the client's claim.
	ContentType string
	// ETag is a strong entity tag, quoted, as tracks' own routes send it.
	ETag string
	// ModTime is when the file was stored (Last-Modified).
	ModTime time.Time
	// Name is a file name for Content-Disposition: the track's title and
	// the extension of its format. It is the owner's text: encode it.
	Name string
}

// The errors of Files, for errors.Is.
var (
	// ErrNoTrack: no track has that id (or it was deleted).
	ErrNoTrack = errors.New("tracks: no such track")
	// ErrNotReady: the track is still processing, or its processing failed.
	ErrNotReady = errors.New("tracks: the track is not ready")
)
