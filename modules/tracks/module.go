// Package tracks is the tracks module: uploads streamed to storage and
// identified by their bytes, processing (duration, format details,
// waveform) in a job, streaming with ranges, visibility, edit history,
// share links, play counts and playlists.
package tracks

import (
	"context"
	"embed"

	"go.uber.org/fx"

	"github.com/veza/veza/app"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Module returns the tracks module.
func Module() app.Module {
	return app.Module{
		Name:        "tracks",
		Description: "track upload, processing, storage, streaming, sharing and playlists",
		Requires:    []string{"auth"},
		Settings:    defaultSettings,
		Migrations:  migrations,
		Events:      eventTypes(),
		Options: fx.Options(
			fx.Provide(newStore, newFiles, newService, newPlaylistService),
			fx.Invoke(register),
		),
	}
}

func register(r *app.Registrar, lc fx.Lifecycle, svc *Service, s *Settings, ps *playlistService) {
	(&handler{svc: svc}).routes(r, s)
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			go func() { defer close(done); svc.enqueuePlays() }()
			return nil
		},
		OnStop: func(ctx context.Context) error {
			close(svc.plays)
			select {
			case <-done:
			case <-ctx.Done():
			}
			return nil
		},
	})
	registerPlaylists(r, ps)
	r.Job(ProcessJob, svc.process)
	r.Job(DeleteFileJob, svc.deleteFile)
	r.Job(CountPlayJob, svc.countPlay)
	r.HealthCheck("storage", svc.files.Ping)
}
