// Package playlists is the playlists module: ordered lists of tracks kept
// dense under concurrent edits, with collaborators and visibility. It sits
// on top of the tracks module and uses only what that module exports
// (tracksapi.Catalog and its events), so an operator can run tracks without
// playlists: disabled, its routes answer 404 and its tables are left alone.
package playlists

import (
	"embed"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/tracks/tracksapi"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Module returns the playlists module.
func Module() app.Module {
	return app.Module{
		Name:        "playlists",
		Description: "playlists of tracks: ordered, shared with collaborators, public, unlisted or private",
		// auth for authn.Users (collaborators must exist), tracks for its
		// catalog.
		Requires:   []string{"auth", "tracks"},
		Migrations: migrations,
		Events:     eventTypes(),
		Provides:   []any{newStore, newService},
		Register:   register,
	}
}

func register(r *app.Registrar, svc *service) {
	(&handler{svc: svc}).routes(r)
	r.Subscribe(tracksapi.EventTrackDeleted, svc.onTrackDeleted)
	r.Job(SweepJob, svc.sweep)
	r.Schedule("@hourly", SweepJob, nil)
}
