// Package tracks is the tracks module: uploads streamed to storage and
// identified by their bytes, processing (duration, format details,
// waveform) in a job, streaming with ranges, visibility, edit history,
// share links and play counts. Playlists are a module of their own on top of
// it (modules/playlists), which uses only what package tracksapi offers.
package tracks

import (
	"embed"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/auth/authapi"
	"github.com/veza/veza/modules/social/socialapi"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Module returns the tracks module.
func Module() app.Module {
	return app.Module{
		Name:        "tracks",
		Description: "track upload, processing, storage, streaming and sharing",
		Requires:    []string{"auth"},
		Settings:    defaultSettings,
		Migrations:  migrations,
		Events:      eventTypes(),
		Provides:    []any{newStore, newOwners, newService},
		// What other modules may use of tracks: see package tracksapi.
		Exports:  []any{newCatalog, newFiles, newIndex},
		Register: register,
	}
}

func register(r *app.Registrar, svc *Service, o *owners, s *Settings) {
	(&handler{svc: svc}).routes(r, s)
	r.Job(ProcessJob, svc.process)
	r.Job(DeleteFileJob, svc.deleteFile)
	r.Job(CountPlayJob, svc.countPlay)
	r.Background("play-queue", svc.queuePlays, app.OnlyIn(app.RoleAPI))
	r.HealthCheck("storage", svc.files.Ping)
	// The copy of owners' profiles that track answers show.
	r.Subscribe(authapi.EventUserRegistered, o.onUserEvent)
	r.Subscribe(authapi.EventUserUpdated, o.onUserEvent)
	r.Job(ReconcileOwnersJob, o.handleReconcile)
	r.Schedule(reconcileEvery, ReconcileOwnersJob, nil)
	r.Background("owners-backfill", o.backfill, app.OnlyIn(app.RoleWorker))
	// The like and comment counts, from the social module's events.
	for _, t := range []string{socialapi.EventTrackLiked, socialapi.EventTrackUnliked,
		socialapi.EventCommentCreated, socialapi.EventCommentDeleted} {
		r.Subscribe(t, svc.onTrackCounts)
	}
	r.Subscribe(socialapi.EventTrackCountsReconciled, svc.onCountsReconciled)
}
