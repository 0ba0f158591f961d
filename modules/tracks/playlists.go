package tracks

import (
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/platform/authn"
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

// playlistEntry is a row of playlist_tracks with its track.
type playlistEntry struct {
	Position int       `db:"position"`
	AddedBy  uuid.UUID `db:"added_by"`
	AddedAt  time.Time `db:"added_at"`
	Track
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
	Position int       `json:"position"`
	AddedBy  uuid.UUID `json:"added_by"`
	AddedAt  time.Time `json:"added_at"`
	Track    TrackView `json:"track"`
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

// playlistService adds to the tracks service what only playlists need: the
// auth module's answer to "does this user exist" for collaborators.
type playlistService struct {
	*Service
	users authn.Users
}

func newPlaylistService(svc *Service, users authn.Users) *playlistService {
	return &playlistService{Service: svc, users: users}
}

// registerPlaylists adds the playlist routes.
func registerPlaylists(r *app.Registrar, ps *playlistService) {
	(&playlistHandler{ps: ps}).routes(r)
}
