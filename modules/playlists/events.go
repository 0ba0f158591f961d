package playlists

import (
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
)

// The public events of the playlists module. There is no playlist.deleted:
// members learn of a deletion as playlist.updated with change "deleted".
const (
	EventPlaylistCreated = "playlist.created"
	EventPlaylistUpdated = "playlist.updated"
)

// PlaylistEvent is the payload of the playlist events; its audience is the
// owner and the collaborators.
type PlaylistEvent struct {
	PlaylistID uuid.UUID `json:"playlist_id"`
	OwnerID    uuid.UUID `json:"owner_id"`
	Title      string    `json:"title"`
	Visibility string    `json:"visibility"`
	// Change is details, tracks, order, collaborators or deleted.
	Change string    `json:"change,omitempty"`
	At     time.Time `json:"at"`
}

func eventTypes() []app.EventType {
	pl := PlaylistEvent{PlaylistID: uuid.MustParse("0192f0c1-7a3b-7cde-8f00-1234567890ab"),
		OwnerID: uuid.MustParse("0192f0c1-0000-7000-8000-00000000000a"), Title: "Late", Visibility: "public",
		At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	upd := pl
	upd.Change = "tracks"
	return []app.EventType{
		{Type: EventPlaylistCreated, Description: "a playlist was created", Example: pl},
		{Type: EventPlaylistUpdated, Description: "a playlist's details, tracks or collaborators changed, or it was deleted", Example: upd},
	}
}
