package social

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/httpx"
)

// service holds the rules of likes, follows and comments. What it knows of
// tracks and users comes from the modules it requires, through their
// exported interfaces, asked outside its transactions: another module's
// query must not wait for a pool connection while a transaction of ours
// holds one.
type service struct {
	db       *sqlx.DB
	store    *store
	pub      *events.Publisher
	tracks   tracksapi.Catalog
	users    authn.Users
	profiles authn.Profiles
	limiter  *commentLimiter
	log      *zap.Logger
	now      func() time.Time
}

func newService(pool *sqlx.DB, st *store, pub *events.Publisher, tracks tracksapi.Catalog, users authn.Users,
	profiles authn.Profiles, limiter *commentLimiter, log *zap.Logger) *service {
	return &service{db: pool, store: st, pub: pub, tracks: tracks, users: users, profiles: profiles, limiter: limiter,
		log: log, now: time.Now}
}

var (
	errTrackNotFound   = httpx.NotFound("track not found")
	errUserNotFound    = httpx.NotFound("user not found")
	errCommentNotFound = httpx.NotFound("comment not found")
)

// visibleTrack returns the track id names if p may see it: public and
// unlisted tracks for anyone, private ones for their owner and admins.
// Anything else is not found, so a private track's existence is not
// revealed.
func (s *service) visibleTrack(ctx context.Context, p *authn.Principal, id uuid.UUID) (tracksapi.Track, error) {
	found, err := s.tracks.Visible(ctx, p, []uuid.UUID{id})
	if err != nil {
		return tracksapi.Track{}, fmt.Errorf("look up track %s: %w", id, err)
	}
	t, ok := found[id]
	if !ok {
		return t, errTrackNotFound
	}
	return t, nil
}

// existingUser answers 404 unless id names a live account.
func (s *service) existingUser(ctx context.Context, id uuid.UUID) error {
	ok, err := s.users.Exists(ctx, id)
	if err != nil {
		return fmt.Errorf("look up user %s: %w", id, err)
	}
	if !ok {
		return errUserNotFound
	}
	return nil
}

// refs returns the users of ids as the lists show them, by id. An account
// auth no longer shows (banned) keeps its id with an empty username.
func (s *service) refs(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]UserRef, error) {
	out := make(map[uuid.UUID]UserRef, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	found, err := s.profiles.Profiles(ctx, unique(ids))
	if err != nil {
		return nil, fmt.Errorf("read %d profiles: %w", len(ids), err)
	}
	for _, id := range ids {
		out[id] = UserRef{ID: id, Username: found[id].Username}
	}
	return out, nil
}

// unique returns ids without repeats, in their first order.
func unique(ids []uuid.UUID) []uuid.UUID {
	seen := make(map[uuid.UUID]bool, len(ids))
	out := make([]uuid.UUID, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
