package playlists_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app/apptest"
)

// A playlist's tracks carry their owners' public profiles, so that a client
// renders it without asking for each owner; a profile change shows there
// too.
func TestPlaylistTracksCarryOwners(t *testing.T) {
	e := plStart(t)
	owner := e.plUser(t, "owner", "user")
	artist := e.plUser(t, "artist", "user")
	e.Do(t, "PUT", "/api/v1/users/"+artist.ID.String(), map[string]any{"display_name": "The Artist",
		"avatar_url": "https://cdn.example.com/artist.png"}, plAs(artist)...).Status(t, 200)
	pl := e.plCreate(t, owner, "mix", "public").ID
	theirs := e.plTrack(t, artist.ID, "public")
	mine := e.plTrack(t, owner.ID, "public")
	e.plAdd(t, owner, pl, theirs, nil)
	e.plAdd(t, owner, pl, mine, nil)

	type owned struct {
		ID          uuid.UUID `json:"id"`
		Username    string    `json:"username"`
		DisplayName string    `json:"display_name"`
		AvatarURL   string    `json:"avatar_url"`
	}
	want := map[uuid.UUID]owned{
		theirs: {ID: artist.ID, Username: "artist", DisplayName: "Renamed", AvatarURL: "https://cdn.example.com/artist.png"},
		mine:   {ID: owner.ID, Username: "owner"},
	}
	e.Do(t, "PUT", "/api/v1/users/"+artist.ID.String(), map[string]any{"display_name": "Renamed"}, plAs(artist)...).Status(t, 200)
	apptest.Eventually(t, 5*time.Second, "the playlist's tracks showing their owners", func() bool {
		var d struct {
			Tracks []struct {
				Track struct {
					ID    uuid.UUID `json:"id"`
					Owner owned     `json:"owner"`
				} `json:"track"`
			} `json:"tracks"`
		}
		e.Do(t, "GET", plPath(pl), nil).Status(t, 200).Data(t, &d)
		got := map[uuid.UUID]owned{}
		for _, p := range d.Tracks {
			got[p.Track.ID] = p.Track.Owner
		}
		return len(got) == 2 && got[theirs] == want[theirs] && got[mine] == want[mine]
	})
}
