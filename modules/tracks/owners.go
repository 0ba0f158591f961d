package tracks

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/auth/authapi"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/events"
)

// ReconcileOwnersJob fills the copy of owners' profiles with those it lacks.
const ReconcileOwnersJob = "tracks:reconcile_owners"

// reconcileEvery is how often ReconcileOwnersJob runs: it bounds how long a
// track whose owner's events were lost shows an owner without a profile.
const reconcileEvery = "@every 10m"

// owners keeps the module's copy of accounts' public profiles
// (track_owners), which every track answer joins to show its owner. Tracks
// must not read auth's tables; auth's events keep the copy current
// (user.registered, user.updated), and authn.Profiles fills what they did
// not bring: accounts older than the copy, an event lost or not yet
// delivered.
type owners struct {
	store    *store
	profiles authn.Profiles
	log      *zap.Logger
}

func newOwners(st *store, profiles authn.Profiles, log *zap.Logger) *owners {
	return &owners{store: st, profiles: profiles, log: log}
}

// onUserEvent applies user.registered and user.updated. It needs no
// deduplication: putOwner keeps the newest version by the event's at, so a
// delivery repeated or overtaken by a later event changes nothing.
func (o *owners) onUserEvent(ctx context.Context, ev events.Event) error {
	var p authapi.UserEvent
	if err := ev.Decode(&p); err != nil {
		return err
	}
	if p.UserID == uuid.Nil || p.At.IsZero() {
		return fmt.Errorf("%s event %s has no user_id or at: %w", ev.Type, ev.ID, asynq.SkipRetry)
	}
	_, err := o.store.putOwner(ctx, ownerRow{UserID: p.UserID, Username: p.Username, DisplayName: p.DisplayName,
		AvatarURL: p.AvatarURL, UpdatedAt: p.At})
	return err
}

// reconcile fills the profiles of every track owner the copy lacks and
// returns how many it filled. Owners auth does not return (banned, gone)
// stay without one, and are asked again next time.
func (o *owners) reconcile(ctx context.Context) (int, error) {
	filled := 0
	after := uuid.Nil
	for {
		ids, err := o.store.missingOwners(ctx, after, authn.MaxProfiles)
		if err != nil || len(ids) == 0 {
			return filled, err
		}
		n, err := o.fill(ctx, ids)
		filled += n
		if err != nil {
			return filled, err
		}
		after = ids[len(ids)-1]
	}
}

// fill copies the profiles of ids from auth; it returns how many it wrote.
func (o *owners) fill(ctx context.Context, ids []uuid.UUID) (int, error) {
	found, err := o.profiles.Profiles(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("read %d profiles from auth: %w", len(ids), err)
	}
	n := 0
	for _, p := range found {
		wrote, err := o.store.putOwner(ctx, ownerRow{UserID: p.ID, Username: p.Username, DisplayName: p.DisplayName,
			AvatarURL: p.AvatarURL, UpdatedAt: p.UpdatedAt})
		if err != nil {
			return n, err
		}
		if wrote {
			n++
		}
	}
	return n, nil
}

// handleReconcile is ReconcileOwnersJob.
func (o *owners) handleReconcile(ctx context.Context, _ *asynq.Task) error {
	n, err := o.reconcile(ctx)
	if n > 0 {
		o.log.Info("copied the profiles of track owners the events had not brought", zap.Int("owners", n))
	}
	return err
}

// backfill reconciles once when a worker starts, so that tracks uploaded
// before the copy existed show their owners without waiting for the
// schedule. It returns nil when done, which ends the loop; a failure is
// retried by the platform with backoff.
func (o *owners) backfill(ctx context.Context) error {
	return o.handleReconcile(ctx, nil)
}

// ensure copies id's profile if the copy lacks it, so that a new track
// shows its owner at once even when the owner's events were missed. A
// failure is logged, not returned: the track does not depend on it, and the
// reconciliation retries.
func (o *owners) ensure(ctx context.Context, id uuid.UUID) {
	ok, err := o.store.hasOwner(ctx, id)
	if err == nil && !ok {
		_, err = o.fill(ctx, []uuid.UUID{id})
	}
	if err != nil {
		o.log.Warn("could not copy a track owner's profile; the reconciliation will", zap.Stringer("user_id", id), zap.Error(err))
	}
}
