package playlists

import (
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/modules/tracks/tracksapi"
)

// The limits of a playlist. They bound the work of one request: every track
// change loads and renumbers the whole list under the playlist's row lock.
const (
	maxPlaylistTracks        = 5000
	maxPlaylistCollaborators = 100
)

// Playlist is a row of playlists.
type Playlist struct {
	ID          uuid.UUID `db:"id"`
	OwnerID     uuid.UUID `db:"owner_id"`
	Title       string    `db:"title"`
	Description string    `db:"description"`
	Visibility  string    `db:"visibility"`
	CreatedAt   time.Time `db:"created_at"`
	UpdatedAt   time.Time `db:"updated_at"`
}

// entry is a row of playlist_tracks.
type entry struct {
	TrackID  uuid.UUID `db:"track_id"`
	Position int       `db:"position"`
	AddedBy  uuid.UUID `db:"added_by"`
	AddedAt  time.Time `db:"added_at"`
}

// PlaylistView is a playlist as lists show it.
type PlaylistView struct {
	ID          uuid.UUID `json:"id"`
	OwnerID     uuid.UUID `json:"owner_id"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Visibility  string    `json:"visibility"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// PlaylistTrackView is one place of a playlist.
type PlaylistTrackView struct {
	Position int             `json:"position"`
	AddedBy  uuid.UUID       `json:"added_by"`
	AddedAt  time.Time       `json:"added_at"`
	Track    tracksapi.Track `json:"track"`
}

// PlaylistDetail is a playlist with its ordered tracks. Collaborators is
// shown to members only (nil, and left out, for everyone else).
type PlaylistDetail struct {
	PlaylistView
	Tracks        []PlaylistTrackView `json:"tracks"`
	Collaborators []uuid.UUID         `json:"collaborators,omitzero"`
}

func playlistView(pl *Playlist) PlaylistView {
	return PlaylistView{ID: pl.ID, OwnerID: pl.OwnerID, Title: pl.Title, Description: pl.Description,
		Visibility: pl.Visibility, CreatedAt: pl.CreatedAt.UTC(), UpdatedAt: pl.UpdatedAt.UTC()}
}
