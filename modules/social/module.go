// Package social is the social module: likes, follows, timed comments, the
// feed of followed users' tracks, notifications and chat tokens. It sits on
// top of auth and tracks and uses only what they export (authn.Users and
// authn.Profiles, tracksapi.Catalog and tracksapi.Index) and their events:
// it never reads their tables. The counts other modules show (a track's
// like_count and comment_count, a profile's followers_count and
// following_count) are theirs, kept from this module's events, which carry
// the new totals (package socialapi).
package social

import (
	"embed"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/social/socialapi"
	"github.com/veza/veza/modules/tracks/tracksapi"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Name is the module's name.
const Name = "social"

// Module returns the social module.
func Module() app.Module {
	return app.Module{
		Name:        Name,
		Description: "likes, follows, timed comments, the feed of followed users' tracks, notifications, chat tokens",
		// auth for who users are (authn.Users, authn.Profiles), tracks for
		// what may be seen (tracksapi.Catalog) and its events.
		Requires:   []string{"auth", "tracks"},
		Settings:   defaultSettings,
		Migrations: migrations,
		Events:     eventTypes(),
		Provides:   []any{newStore, newLimiter, newChat, newService, newFeed, newNotifier},
		Register:   register,
	}
}

func register(r *app.Registrar, svc *service, f *feed, n *notifier, chat *chat) {
	(&handler{svc: svc, feed: f, notes: n, chat: chat}).routes(r)
	// The feed's index of tracks, from tracks' events, back-filled and
	// repaired from tracksapi.Index.
	for _, t := range []string{tracksapi.EventTrackCreated, tracksapi.EventTrackProcessed, tracksapi.EventTrackUpdated} {
		r.Subscribe(t, f.onTrackEvent)
	}
	r.Subscribe(tracksapi.EventTrackDeleted, svc.onTrackDeleted)
	r.Job(ReconcileFeedJob, f.handleReconcile)
	r.Schedule(reconcileFeedEvery, ReconcileFeedJob, nil)
	r.Background("feed-backfill", f.backfill, app.OnlyIn(app.RoleWorker))
	// The counts' periodic repair.
	r.Job(ReconcileCountsJob, svc.handleReconcileCounts)
	r.Schedule(reconcileCountsEvery, ReconcileCountsJob, nil)
	// Notifications, from the module's own events.
	r.Subscribe(socialapi.EventTrackLiked, n.onTrackLiked)
	r.Subscribe(socialapi.EventCommentCreated, n.onCommentCreated)
	r.Subscribe(socialapi.EventCommentDeleted, n.onCommentDeleted)
	r.Subscribe(socialapi.EventUserFollowed, n.onUserFollowed)
}
