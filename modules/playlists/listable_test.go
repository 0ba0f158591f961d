package playlists_test

import (
	"testing"

	"github.com/google/uuid"
)

// A playlist is a list: someone's unlisted track (seen by whoever has its
// id) is not listed to the playlist's readers, only to the track's owner
// and admins, like a private one; and nobody can put someone else's
// unlisted or private track into a playlist.
func TestPlaylistListsOnlyListableTracks(t *testing.T) {
	e := plStart(t)
	owner := e.plUser(t, "owner", "user")   // the playlist's
	artist := e.plUser(t, "artist", "user") // the tracks'
	collab := e.plUser(t, "collab", "user")
	stranger := e.plUser(t, "stranger", "user")
	admin := e.plUser(t, "admin", "admin")
	public := e.plTrack(t, artist.ID, "public")
	unlisted := e.plTrack(t, artist.ID, "unlisted")
	private := e.plTrack(t, artist.ID, "private")
	ownUnlisted := e.plTrack(t, owner.ID, "unlisted")
	pl := e.plCreate(t, owner, "mix", "public").ID
	e.plAddCollaborator(t, owner, pl, collab.ID)

	for _, id := range []uuid.UUID{unlisted, private} {
		for _, who := range []plAccount{owner, collab} {
			env := e.Do(t, "POST", plPath(pl, "/tracks"), map[string]any{"track_id": id}, plAs(who)...).ErrorCode(t, 404, "not_found")
			if env.Error.Message != "track not found" {
				t.Fatalf("adding someone else's %s track: %q", id, env.Error.Message)
			}
		}
	}
	e.plDense(t, pl, 0)
	e.plAdd(t, owner, pl, public, nil)
	e.plAdd(t, owner, pl, ownUnlisted, nil) // one's own unlisted track: fine
	// The artist's track was public when it was added, unlisted since.
	gone := e.plTrack(t, artist.ID, "public")
	e.plAdd(t, collab, pl, gone, 0)
	e.Do(t, "PUT", "/api/v1/tracks/"+gone.String(), map[string]string{"visibility": "unlisted"}, plAs(artist)...).Status(t, 200)
	plEqual(t, "rows", e.plDense(t, pl, 3), []uuid.UUID{gone, public, ownUnlisted})

	views := []struct {
		name string
		who  *plAccount
		want []uuid.UUID
	}{
		{"anonymous", nil, []uuid.UUID{public}},
		{"a stranger", &stranger, []uuid.UUID{public}},
		{"a collaborator", &collab, []uuid.UUID{public}},
		{"the playlist's owner", &owner, []uuid.UUID{public, ownUnlisted}},
		{"the tracks' owner", &artist, []uuid.UUID{gone, public}},
		{"an admin", &admin, []uuid.UUID{gone, public, ownUnlisted}},
	}
	for _, v := range views {
		d := e.plGet(t, v.who, pl)
		plEqual(t, v.name, d.plIDs(), v.want)
		for _, p := range d.Tracks {
			if p.Track.ID == public && p.Position != 1 {
				t.Fatalf("%s: the public track moved to %d", v.name, p.Position)
			}
		}
	}

	// The owner reorders what is listed to them; the hidden track stays put.
	e.Do(t, "PUT", plPath(pl, "/tracks/order"), map[string]any{"track_ids": []uuid.UUID{ownUnlisted, public}}, plAs(owner)...).Status(t, 200)
	plEqual(t, "rows after reorder", e.plDense(t, pl, 3), []uuid.UUID{gone, ownUnlisted, public})
	e.Do(t, "PUT", plPath(pl, "/tracks/order"), map[string]any{"track_ids": []uuid.UUID{gone, public, ownUnlisted}}, plAs(owner)...).
		ErrorCode(t, 422, "validation_failed")
}
