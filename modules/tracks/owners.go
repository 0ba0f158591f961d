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

// ReconcileOwnersJob brings the copy of owners' profiles up to date with
// auth: what the events did not bring.
const ReconcileOwnersJob = "tracks:reconcile_owners"

// reconcileEvery is how often ReconcileOwnersJob runs: it bounds how long a
// lost event leaves an owner's profile missing or stale in lists.
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

// reconcile brings the copy of every track owner's profile up to date
// with auth: missing ones (owners older than the copy, an event lost) are
// filled, stale ones (an update lost) replaced, and those of accounts auth
// no longer shows (banned, gone) dropped, so that lists show only the id.
// It walks the owners in batches and returns how many rows it changed.
func (o *owners) reconcile(ctx context.Context) (int, error) {
	changed := 0
	after := uuid.Nil
	for {
		ids, err := o.store.owners(ctx, after, authn.MaxProfiles)
		if err != nil || len(ids) == 0 {
			return changed, err
		}
		n, err := o.sync(ctx, ids)
		changed += n
		if err != nil {
			return changed, err
		}
		after = ids[len(ids)-1]
	}
}

// sync brings the copies of ids' profiles up to date with auth and returns
// how many rows it changed.
func (o *owners) sync(ctx context.Context, ids []uuid.UUID) (int, error) {
	found, err := o.profiles.Profiles(ctx, ids)
	if err != nil {
		return 0, fmt.Errorf("read %d profiles from auth: %w", len(ids), err)
	}
	rows := make([]ownerRow, 0, len(found))
	var gone []uuid.UUID
	for _, id := range ids {
		p, ok := found[id]
		if !ok {
			gone = append(gone, id)
			continue
		}
		rows = append(rows, ownerRow{UserID: p.ID, Username: p.Username, DisplayName: p.DisplayName,
			AvatarURL: p.AvatarURL, UpdatedAt: p.UpdatedAt})
	}
	put, err := o.store.putOwners(ctx, rows)
	if err != nil {
		return put, err
	}
	dropped, err := o.store.dropOwners(ctx, gone)
	return put + dropped, err
}

// handleReconcile is ReconcileOwnersJob.
func (o *owners) handleReconcile(ctx context.Context, _ *asynq.Task) error {
	n, err := o.reconcile(ctx)
	if n > 0 {
		o.log.Info("brought the copy of track owners' profiles up to date: events were missed", zap.Int("owners", n))
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
		_, err = o.sync(ctx, []uuid.UUID{id})
	}
	if err != nil {
		o.log.Warn("could not copy a track owner's profile; the reconciliation will", zap.Stringer("user_id", id), zap.Error(err))
	}
}
