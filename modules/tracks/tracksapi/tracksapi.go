// Package tracksapi is what the tracks module offers the modules that
// require it, and nothing else: a module never reads tracks' tables or
// imports its package; it asks the Catalog the tracks module exports (and
// Files, for the original file of a track it grants access to), and
// listens to the events below.
//
//	func register(r *app.Registrar, catalog tracksapi.Catalog) { ... }
package tracksapi

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/platform/authn"
)

// Catalog answers other modules' questions about tracks. The tracks module
// exports it; a module that asks for it must list "tracks" in Requires.
type Catalog interface {
	// Visible returns, by id, those of ids that viewer may see: public and
	// unlisted tracks for anyone, private ones for their owner and admins.
	// Unknown ids and tracks hidden from viewer (nil: anonymous) are absent
	// from the map, so a caller cannot tell them apart. At most MaxBatch ids.
	Visible(ctx context.Context, viewer *authn.Principal, ids []uuid.UUID) (map[uuid.UUID]Track, error)
	// Listable returns, by id, those of ids that may appear in a list shown
	// to viewer (a playlist, a feed): public tracks, and the viewer's own of
	// any visibility; every track for an admin. An unlisted track is seen by
	// whoever has its id or link (Visible) but is listed only to its owner,
	// like a private one. Absent ids are unknown or unlistable, told apart
	// no more than by Visible. At most MaxBatch ids. A module that lets a
	// user put a track into a list others see checks it is listable to that
	// user, so that nobody lists someone else's unlisted track.
	Listable(ctx context.Context, viewer *authn.Principal, ids []uuid.UUID) (map[uuid.UUID]Track, error)
	// Existing reports which of ids name a track that still exists, whatever
	// its visibility: for a module's own housekeeping, never for answers to
	// a user. At most MaxBatch ids.
	Existing(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error)
}

// MaxBatch bounds the ids of one Catalog call.
const MaxBatch = 5000

// Index walks every track, for a module that keeps an index of tracks of
// its own from the track events (the social module's feed) and must fill
// what the events did not bring: tracks older than its index, an event
// lost. The tracks module exports it.
type Index interface {
	// TrackRefs returns at most limit (up to MaxBatch) tracks whose id is
	// greater than after, in id order; deleted tracks are absent.
	TrackRefs(ctx context.Context, after uuid.UUID, limit int) ([]TrackRef, error)
}

// TrackRef is what an index of tracks needs of one.
type TrackRef struct {
	ID         uuid.UUID
	OwnerID    uuid.UUID
	Visibility string
	CreatedAt  time.Time
	// UpdatedAt is the track's version, as in TrackEvent.
	UpdatedAt time.Time
}

// Track is a track as the API shows it (GET /api/v1/tracks/:id); modules
// that show tracks show them in this shape, owner included, so that a
// client renders a list without asking for each owner.
type Track struct {
	ID          uuid.UUID `json:"id"`
	OwnerID     uuid.UUID `json:"owner_id"`
	Owner       Owner     `json:"owner"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Genre       string    `json:"genre"`
	Tags        []string  `json:"tags"`
	Visibility  string    `json:"visibility"`
	Status      string    `json:"status"`
	Error       *string   `json:"error"`
	Format      string    `json:"format"`
	SizeBytes   int64     `json:"size_bytes"`
	DurationMS  *int64    `json:"duration_ms"`
	SampleRate  *int      `json:"sample_rate"`
	Channels    *int      `json:"channels"`
	BitrateKbps *int      `json:"bitrate_kbps"`
	ScanStatus  string    `json:"scan_status"`
	Plays       int64     `json:"plays"`
	// LikeCount and CommentCount are kept from the social module's events
	// and settle within seconds of a like or a comment (0 without social).
	LikeCount    int64     `json:"like_count"`
	CommentCount int64     `json:"comment_count"`
	StreamURL    string    `json:"stream_url"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Owner is the public profile of a track's owner, as the tracks module
// last heard of it from auth: a profile change shows within seconds. While
// the module has no copy of the account (one whose events it missed, until
// its reconciliation fills it in, every 10 minutes; or a banned account),
// only ID is set and the other fields are empty strings. DisplayName and AvatarURL are empty when
// the owner has not set them, as in auth's profiles.
type Owner struct {
	ID          uuid.UUID `json:"id"`
	Username    string    `json:"username" doc:"empty until the owner's profile is known"`
	DisplayName string    `json:"display_name" doc:"empty when not set"`
	AvatarURL   string    `json:"avatar_url" doc:"an https URL, empty when not set"`
}

// The public events of the tracks module, each with a TrackEvent payload
// and the track's owner as audience.
const (
	EventTrackCreated   = "track.created"
	EventTrackProcessed = "track.processed"
	EventTrackUpdated   = "track.updated"
	EventTrackDeleted   = "track.deleted"
)

// TrackEvent is the payload of the track events.
type TrackEvent struct {
	TrackID    uuid.UUID `json:"track_id"`
	OwnerID    uuid.UUID `json:"owner_id"`
	Title      string    `json:"title"`
	Visibility string    `json:"visibility"`
	Status     string    `json:"status,omitempty"`
	Error      string    `json:"error,omitempty"`
	At         time.Time `json:"at"`
	// CreatedAt is the track's creation time, by which lists order it.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is the track's version: it increases with every change of
	// the track, so a copy kept from these events ignores one whose
	// UpdatedAt is not after the copy's (events may arrive out of order).
	UpdatedAt time.Time `json:"updated_at"`
}
