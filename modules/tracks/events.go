package tracks

import (
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
)

// The public events of the tracks module.
const (
	EventTrackCreated    = "track.created"
	EventTrackProcessed  = "track.processed"
	EventTrackUpdated    = "track.updated"
	EventTrackDeleted    = "track.deleted"
	EventPlaylistCreated = "playlist.created"
	EventPlaylistUpdated = "playlist.updated"
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
}

// PlaylistEvent is the payload of the playlist events.
type PlaylistEvent struct {
	PlaylistID uuid.UUID `json:"playlist_id"`
	OwnerID    uuid.UUID `json:"owner_id"`
	Title      string    `json:"title"`
	Visibility string    `json:"visibility"`
	Change     string    `json:"change,omitempty"`
	At         time.Time `json:"at"`
}

func eventTypes() []app.EventType {
	id := uuid.MustParse("0192f0c1-7a3b-7cde-8f00-1234567890ab")
	owner := uuid.MustParse("0192f0c1-0000-7000-8000-00000000000a")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tr := TrackEvent{TrackID: id, OwnerID: owner, Title: "Night Drive", Visibility: "public", Status: "processing", At: at}
	done := tr
	done.Status = "ready"
	pl := PlaylistEvent{PlaylistID: id, OwnerID: owner, Title: "Late", Visibility: "public", At: at}
	upd := pl
	upd.Change = "tracks"
	return []app.EventType{
		{Type: EventTrackCreated, Description: "a track was uploaded; its processing has begun", Example: tr},
		{Type: EventTrackProcessed, Description: "a track's processing ended, ready or failed", Example: done},
		{Type: EventTrackUpdated, Description: "a track's metadata changed", Example: done},
		{Type: EventTrackDeleted, Description: "a track was deleted", Example: done},
		{Type: EventPlaylistCreated, Description: "a playlist was created", Example: pl},
		{Type: EventPlaylistUpdated, Description: "a playlist's details, tracks or collaborators changed", Example: upd},
	}
}
