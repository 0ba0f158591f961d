package playlists

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/page"
)

// service holds the rules of playlists. What it knows of tracks and users
// comes from the modules it requires, through their exported interfaces.
type service struct {
	db     *sqlx.DB
	store  *store
	pub    *events.Publisher
	tracks tracksapi.Catalog
	users  authn.Users
	log    *zap.Logger
	now    func() time.Time
}

func newService(pool *sqlx.DB, st *store, pub *events.Publisher, tracks tracksapi.Catalog, users authn.Users, log *zap.Logger) *service {
	return &service{db: pool, store: st, pub: pub, tracks: tracks, users: users, log: log, now: time.Now}
}

var (
	errPlaylistNotFound   = httpx.NotFound("playlist not found")
	errNotPlaylistOwner   = httpx.Forbidden("forbidden", "only the playlist's owner or an admin may do this")
	errNotPlaylistMember  = httpx.Forbidden("forbidden", "only the playlist's owner and collaborators may change its tracks")
	errNotCollaboratorMgr = httpx.Forbidden("forbidden", "only the playlist's owner may manage its collaborators")
	errTrackNotFound      = httpx.NotFound("track not found")
)

// playlistAccess is where the caller stands with a playlist.
type playlistAccess struct {
	pl           *Playlist
	owner        bool
	collaborator bool
	admin        bool
}

func (a *playlistAccess) member() bool { return a.owner || a.collaborator }

// canSee: public and unlisted playlists are seen by anyone who has the id;
// private ones by their members and admins.
func (a *playlistAccess) canSee() bool { return a.pl.Visibility != "private" || a.member() || a.admin }

// access loads a playlist the caller may see, with where they stand;
// anything else is not found, so a private playlist's existence is not
// revealed. With lock, q must be a transaction: the row stays locked.
func (ps *service) access(ctx context.Context, q sqlx.QueryerContext, p *authn.Principal, id uuid.UUID, lock bool) (*playlistAccess, error) {
	pl, err := ps.store.playlistByID(ctx, q, id, lock)
	if errors.Is(err, errNotFound) {
		return nil, errPlaylistNotFound
	}
	if err != nil {
		return nil, err
	}
	a := &playlistAccess{pl: pl}
	if p != nil {
		a.owner, a.admin = p.UserID == pl.OwnerID, p.IsAdmin()
		if !a.owner {
			if a.collaborator, err = ps.store.isPlaylistCollaborator(ctx, q, id, p.UserID); err != nil {
				return nil, err
			}
		}
	}
	if !a.canSee() {
		return nil, errPlaylistNotFound
	}
	return a, nil
}

// memberAccess locks a playlist in tx for a change of its tracks, which
// only its owner and collaborators may make.
func (ps *service) memberAccess(ctx context.Context, tx *sqlx.Tx, p *authn.Principal, id uuid.UUID) (*playlistAccess, error) {
	a, err := ps.access(ctx, tx, p, id, true)
	if err != nil {
		return nil, err
	}
	if !a.member() {
		return nil, errNotPlaylistMember
	}
	return a, nil
}

// PlaylistInput holds a playlist's editable fields. On creation title is
// required and visibility defaults to public; on update absent fields stay.
type PlaylistInput struct {
	Title       *string `json:"title"`
	Description *string `json:"description"`
	Visibility  *string `json:"visibility" doc:"public, private or unlisted"`
}

// apply validates in onto pl and reports whether anything changed.
func (in PlaylistInput) apply(pl *Playlist) (bool, error) {
	changed := false
	var v httpx.Checker
	if in.Title != nil {
		title := strings.TrimSpace(*in.Title)
		v.Check(title != "" && len([]rune(title)) <= 200, "title", "must be 1 to 200 characters")
		v.Check(!strings.ContainsRune(title, 0), "title", "must not contain NUL characters")
		changed = changed || title != pl.Title
		pl.Title = title
	}
	if in.Description != nil {
		// PostgreSQL's text cannot hold NUL: refuse it here rather than fail
		// with a 500 at the INSERT.
		v.Check(len([]rune(*in.Description)) <= 2000, "description", "at most 2000 characters")
		v.Check(!strings.ContainsRune(*in.Description, 0), "description", "must not contain NUL characters")
		changed = changed || *in.Description != pl.Description
		pl.Description = *in.Description
	}
	if in.Visibility != nil {
		vis := *in.Visibility
		v.Check(vis == "public" || vis == "private" || vis == "unlisted", "visibility", "must be public, private or unlisted")
		changed = changed || vis != pl.Visibility
		pl.Visibility = vis
	}
	return changed, v.Err()
}

// CreatePlaylist makes a playlist owned by the caller.
func (ps *service) CreatePlaylist(ctx context.Context, p *authn.Principal, in PlaylistInput) (*PlaylistDetail, error) {
	pl := &Playlist{ID: uuid.Must(uuid.NewV7()), OwnerID: p.UserID, Visibility: "public"}
	if in.Title == nil {
		in.Title = new("") // refused by apply, with the other fields' problems
	}
	if _, err := in.apply(pl); err != nil {
		return nil, err
	}
	err := db.WithTx(ctx, ps.db, func(tx *sqlx.Tx) error {
		if err := ps.store.insertPlaylist(ctx, tx, pl); err != nil {
			return err
		}
		_, err := ps.pub.Publish(ctx, tx, EventPlaylistCreated, ps.playlistEvent(pl, ""), pl.OwnerID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &PlaylistDetail{PlaylistView: playlistView(pl), Tracks: []PlaylistTrackView{}, Collaborators: []uuid.UUID{}}, nil
}

// GetPlaylist returns a playlist the caller may see, with the tracks that
// may be listed to them.
func (ps *service) GetPlaylist(ctx context.Context, p *authn.Principal, id uuid.UUID) (*PlaylistDetail, error) {
	a, err := ps.access(ctx, ps.db, p, id, false)
	if err != nil {
		return nil, err
	}
	return ps.detail(ctx, p, a)
}

// detail builds the answer of the playlist routes, outside any
// transaction: asking the tracks catalog takes a connection of its own, and
// doing so while a transaction holds one could exhaust the pool under load.
// A track that may not be listed to the caller (someone else's unlisted or
// private track: made so by its owner after it was added, or deleted a
// moment ago) is left out but keeps its place, so positions can show a gap
// to that caller.
func (ps *service) detail(ctx context.Context, p *authn.Principal, a *playlistAccess) (*PlaylistDetail, error) {
	entries, err := ps.store.entries(ctx, ps.db, a.pl.ID)
	if err != nil {
		return nil, err
	}
	listed, err := ps.listable(ctx, p, entries)
	if err != nil {
		return nil, err
	}
	d := &PlaylistDetail{PlaylistView: playlistView(a.pl), Tracks: make([]PlaylistTrackView, 0, len(entries))}
	for _, e := range entries {
		if t, ok := listed[e.TrackID]; ok {
			d.Tracks = append(d.Tracks, PlaylistTrackView{Position: e.Position, AddedBy: e.AddedBy, AddedAt: e.AddedAt.UTC(), Track: t})
		}
	}
	if a.member() {
		if d.Collaborators, err = ps.store.playlistCollaborators(ctx, ps.db, a.pl.ID); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// listable asks the tracks catalog which of the entries' tracks may be
// listed to p. A playlist is a list: an unlisted track reached by its id is
// not for everyone who reads the playlist.
func (ps *service) listable(ctx context.Context, p *authn.Principal, entries []entry) (map[uuid.UUID]tracksapi.Track, error) {
	ids := make([]uuid.UUID, len(entries))
	for i, e := range entries {
		ids[i] = e.TrackID
	}
	if len(ids) == 0 {
		return map[uuid.UUID]tracksapi.Track{}, nil
	}
	out, err := ps.tracks.Listable(ctx, p, ids)
	if err != nil {
		return nil, fmt.Errorf("tracks of a playlist: %w", err)
	}
	return out, nil
}

// ListPlaylists returns a page of public playlists and the cursor of the
// next one, "" on the last.
func (ps *service) ListPlaylists(ctx context.Context, req page.Request[page.TimeID]) ([]Playlist, string, error) {
	return page.Fetch(ctx, req, ps.store.listPublicPlaylists, func(pl *Playlist) page.TimeID {
		return page.TimeID{At: pl.CreatedAt, ID: pl.ID}
	})
}

// UpdatePlaylist changes a playlist's details, for its owner or an admin.
func (ps *service) UpdatePlaylist(ctx context.Context, p *authn.Principal, id uuid.UUID, in PlaylistInput) (*PlaylistDetail, error) {
	var a *playlistAccess
	err := db.WithTx(ctx, ps.db, func(tx *sqlx.Tx) error {
		var err error
		if a, err = ps.access(ctx, tx, p, id, true); err != nil {
			return err
		}
		if !a.owner && !a.admin {
			return errNotPlaylistOwner
		}
		changed, err := in.apply(a.pl)
		if err != nil || !changed {
			return err
		}
		if err := ps.store.updatePlaylist(ctx, tx, a.pl); err != nil {
			return err
		}
		return ps.publishUpdate(ctx, tx, a.pl, "details")
	})
	if err != nil {
		return nil, err
	}
	return ps.detail(ctx, p, a)
}

// DeletePlaylist removes a playlist, for its owner or an admin. There is no
// playlist.deleted event type: members learn of it as playlist.updated with
// change "deleted".
func (ps *service) DeletePlaylist(ctx context.Context, p *authn.Principal, id uuid.UUID) error {
	return db.WithTx(ctx, ps.db, func(tx *sqlx.Tx) error {
		a, err := ps.access(ctx, tx, p, id, true)
		if err != nil {
			return err
		}
		if !a.owner && !a.admin {
			return errNotPlaylistOwner
		}
		// The audience is read before the rows go with the playlist.
		if err := ps.publishUpdate(ctx, tx, a.pl, "deleted"); err != nil {
			return err
		}
		return ps.store.deletePlaylist(ctx, tx, id)
	})
}

// AddTrackInput adds a track at position (clamped to 0..n; absent:
// appended).
type AddTrackInput struct {
	TrackID  string `json:"track_id" validate:"required" doc:"a track the caller may list: public, or their own"`
	Position *int   `json:"position"`
}

// AddTrack puts a track that may be listed to the caller (public, or their
// own) into a playlist they are a member of, shifting the later places:
// someone else's unlisted track is refused like a private one, or anyone
// reading the playlist would find it. The catalog is asked first, outside
// the transaction; whether the track was found is only told once the caller
// is known to be a member.
func (ps *service) AddTrack(ctx context.Context, p *authn.Principal, id uuid.UUID, in AddTrackInput) (*PlaylistDetail, error) {
	trackID, badID := uuid.Parse(in.TrackID)
	seen := false
	if badID == nil {
		listed, err := ps.tracks.Listable(ctx, p, []uuid.UUID{trackID})
		if err != nil {
			return nil, fmt.Errorf("look up track %s: %w", trackID, err)
		}
		_, seen = listed[trackID]
	}
	var a *playlistAccess
	err := db.WithTx(ctx, ps.db, func(tx *sqlx.Tx) error {
		var err error
		if a, err = ps.memberAccess(ctx, tx, p, id); err != nil {
			return err
		}
		if badID != nil {
			return httpx.Invalid(httpx.FieldError{Field: "track_id", Message: "must be a track id"})
		}
		if !seen {
			return errTrackNotFound
		}
		return ps.insertTrack(ctx, tx, a, trackID, in.Position, p.UserID)
	})
	if err != nil {
		return nil, err
	}
	return ps.detail(ctx, p, a)
}

// insertTrack adds trackID at pos (clamped to 0..n; nil: at the end) to the
// playlist a holds locked.
func (ps *service) insertTrack(ctx context.Context, tx *sqlx.Tx, a *playlistAccess, trackID uuid.UUID, pos *int, by uuid.UUID) error {
	id := a.pl.ID
	if dup, err := ps.store.playlistHasTrack(ctx, tx, id, trackID); err != nil {
		return err
	} else if dup {
		return httpx.Conflict("already_in_playlist", "this track is already in the playlist")
	}
	n, err := ps.store.countPlaylistTracks(ctx, tx, id)
	if err != nil {
		return err
	}
	if n >= maxPlaylistTracks {
		return httpx.Conflict("playlist_full", fmt.Sprintf("a playlist holds at most %d tracks", maxPlaylistTracks))
	}
	at := n
	if pos != nil {
		at = min(max(*pos, 0), n)
	}
	if at < n {
		if err := ps.store.shiftPlaylistTracks(ctx, tx, id, at); err != nil {
			return err
		}
	}
	if err := ps.store.insertPlaylistTrack(ctx, tx, id, trackID, at, by); err != nil {
		return err
	}
	return ps.changed(ctx, tx, a.pl, "tracks")
}

// RemoveTrack takes a track out of a playlist and closes the gap. A member
// may remove a track they can no longer see: it is their playlist's place,
// and otherwise it would stay there for ever.
func (ps *service) RemoveTrack(ctx context.Context, p *authn.Principal, id, trackID uuid.UUID) error {
	return db.WithTx(ctx, ps.db, func(tx *sqlx.Tx) error {
		a, err := ps.memberAccess(ctx, tx, p, id)
		if err != nil {
			return err
		}
		ok, err := ps.store.removePlaylistTrack(ctx, tx, id, trackID)
		if err != nil {
			return err
		}
		if !ok {
			return httpx.NotFound("track not in playlist")
		}
		if err := ps.store.renumber(ctx, tx, id); err != nil {
			return err
		}
		return ps.changed(ctx, tx, a.pl, "tracks")
	})
}

// OrderInput is the whole new order of a playlist.
type OrderInput struct {
	TrackIDs []string `json:"track_ids" validate:"required" doc:"every track of the playlist the caller sees, each once, in the new order"`
}

// maxOrderDetails bounds the 422 answer to a wrong order.
const maxOrderDetails = 20

// ReorderTracks puts a playlist's tracks in the given order, which must
// hold each track the caller sees in the playlist (those listed to them)
// exactly once. Tracks the caller does not see keep their places (they
// could not name them); the others fill the remaining places in the order
// given.
//
// What the caller sees is asked of the tracks catalog before the
// transaction (see detail); if the playlist's tracks changed in between,
// the answer is stale and the whole is tried again, a few times, a little
// later each time. A playlist that never holds still answers 409.
func (ps *service) ReorderTracks(ctx context.Context, p *authn.Principal, id uuid.UUID, in OrderInput) (*PlaylistDetail, error) {
	for attempt := 1; ; attempt++ {
		before, err := ps.store.entries(ctx, ps.db, id)
		if err != nil {
			return nil, err
		}
		listed, err := ps.listable(ctx, p, before)
		if err != nil {
			return nil, err
		}
		d, err := ps.reorder(ctx, p, id, in, before, listed)
		if !errors.Is(err, errStaleEntries) {
			return d, err
		}
		if attempt == maxReorderAttempts {
			return nil, errPlaylistBusy
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt) * time.Duration(5+rand.IntN(10)) * time.Millisecond):
		}
	}
}

// maxReorderAttempts bounds the tries of a reorder whose playlist keeps
// changing under it.
const maxReorderAttempts = 10

var (
	// errStaleEntries says the playlist's tracks changed since they were read.
	errStaleEntries = errors.New("the playlist's tracks changed meanwhile")
	errPlaylistBusy = httpx.Conflict("playlist_busy", "the playlist's tracks keep changing; read it again and send the new order")
)

func (ps *service) reorder(ctx context.Context, p *authn.Principal, id uuid.UUID, in OrderInput,
	before []entry, listed map[uuid.UUID]tracksapi.Track) (*PlaylistDetail, error) {
	var a *playlistAccess
	err := db.WithTx(ctx, ps.db, func(tx *sqlx.Tx) error {
		var err error
		if a, err = ps.memberAccess(ctx, tx, p, id); err != nil {
			return err
		}
		if in.TrackIDs == nil {
			return httpx.Invalid(httpx.FieldError{Field: "track_ids", Message: "is required: every track of the playlist, in the new order"})
		}
		entries, err := ps.store.entries(ctx, tx, id)
		if err != nil {
			return err
		}
		if !sameTracks(before, entries) {
			return errStaleEntries
		}
		var slots []int64
		current := map[uuid.UUID]bool{}
		for _, e := range entries {
			if _, ok := listed[e.TrackID]; ok {
				slots = append(slots, int64(e.Position))
				current[e.TrackID] = false
			}
		}
		order, err := checkOrder(in.TrackIDs, current)
		if err != nil {
			return err
		}
		moved, err := ps.store.setPlaylistPositions(ctx, tx, id, order, slots)
		if err != nil || moved == 0 {
			return err
		}
		return ps.changed(ctx, tx, a.pl, "order")
	})
	if err != nil {
		return nil, err
	}
	return ps.detail(ctx, p, a)
}

// sameTracks reports whether two readings of a playlist hold the same
// tracks (in whatever order).
func sameTracks(a, b []entry) bool {
	if len(a) != len(b) {
		return false
	}
	ids := make(map[uuid.UUID]bool, len(a))
	for _, e := range a {
		ids[e.TrackID] = true
	}
	for _, e := range b {
		if !ids[e.TrackID] {
			return false
		}
	}
	return true
}

// checkOrder parses ids and checks that they name each key of current (all
// false) exactly once.
func checkOrder(ids []string, current map[uuid.UUID]bool) ([]uuid.UUID, error) {
	var v httpx.Checker
	problems := 0
	add := func(msg string) {
		if problems < maxOrderDetails {
			v.Add("track_ids", msg)
		}
		problems++
	}
	order := make([]uuid.UUID, 0, len(ids))
	for i, raw := range ids {
		tid, err := uuid.Parse(raw)
		switch seen, in := current[tid]; {
		case err != nil:
			add(fmt.Sprintf("item %d is not a track id", i))
		case !in:
			add(fmt.Sprintf("%s is not in the playlist", tid))
		case seen:
			add(fmt.Sprintf("%s is given more than once", tid))
		default:
			current[tid] = true
			order = append(order, tid)
		}
	}
	var missing []uuid.UUID
	for tid, seen := range current {
		if !seen {
			missing = append(missing, tid)
		}
	}
	slices.SortFunc(missing, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
	for _, tid := range missing {
		add(fmt.Sprintf("%s is missing", tid))
	}
	if problems > maxOrderDetails {
		v.Add("track_ids", fmt.Sprintf("and %d more problems", problems-maxOrderDetails))
	}
	return order, v.Err()
}

// CollaboratorInput names a user.
type CollaboratorInput struct {
	UserID string `json:"user_id" validate:"required"`
}

// AddCollaborator lets a user change a playlist's tracks, for its owner.
func (ps *service) AddCollaborator(ctx context.Context, p *authn.Principal, id uuid.UUID, in CollaboratorInput) (*PlaylistDetail, error) {
	userID, badID := uuid.Parse(in.UserID)
	// Asked before the transaction: the auth module's query must not wait
	// for a pool connection while this one holds the playlist's lock. The
	// answer is only told once the caller is known to be the owner.
	exists := false
	if badID == nil && userID != p.UserID {
		var err error
		if exists, err = ps.users.Exists(ctx, userID); err != nil {
			return nil, err
		}
	}
	var a *playlistAccess
	err := db.WithTx(ctx, ps.db, func(tx *sqlx.Tx) error {
		var err error
		if a, err = ps.access(ctx, tx, p, id, true); err != nil {
			return err
		}
		if !a.owner {
			return errNotCollaboratorMgr
		}
		switch {
		case badID != nil:
			return httpx.Invalid(httpx.FieldError{Field: "user_id", Message: "must be a user id"})
		case userID == a.pl.OwnerID:
			return httpx.Invalid(httpx.FieldError{Field: "user_id", Message: "the owner cannot be a collaborator of their own playlist"})
		case !exists:
			return httpx.Invalid(httpx.FieldError{Field: "user_id", Message: "no such user"})
		}
		collaborators, err := ps.store.playlistCollaborators(ctx, tx, id)
		if err != nil {
			return err
		}
		if slices.Contains(collaborators, userID) {
			return httpx.Conflict("already_collaborator", "this user already is a collaborator")
		}
		if len(collaborators) >= maxPlaylistCollaborators {
			return httpx.Conflict("too_many_collaborators", fmt.Sprintf("a playlist has at most %d collaborators", maxPlaylistCollaborators))
		}
		if ok, err := ps.store.addPlaylistCollaborator(ctx, tx, id, userID); err != nil {
			return err
		} else if !ok {
			return httpx.Conflict("already_collaborator", "this user already is a collaborator")
		}
		return ps.changed(ctx, tx, a.pl, "collaborators")
	})
	if err != nil {
		return nil, err
	}
	return ps.detail(ctx, p, a)
}

// RemoveCollaborator ends a user's collaboration, for the owner or the
// collaborator themself.
func (ps *service) RemoveCollaborator(ctx context.Context, p *authn.Principal, id, userID uuid.UUID) error {
	return db.WithTx(ctx, ps.db, func(tx *sqlx.Tx) error {
		a, err := ps.access(ctx, tx, p, id, true)
		if err != nil {
			return err
		}
		if !a.owner && !(a.collaborator && userID == p.UserID) {
			return errNotCollaboratorMgr
		}
		// Published first, so that the one removed is still in the audience.
		if err := ps.changed(ctx, tx, a.pl, "collaborators"); err != nil {
			return err
		}
		ok, err := ps.store.removePlaylistCollaborator(ctx, tx, id, userID)
		if err != nil {
			return err
		}
		if !ok {
			return httpx.NotFound("collaborator not found")
		}
		return nil
	})
}

// changed records a change of tracks, order or collaborators.
func (ps *service) changed(ctx context.Context, tx *sqlx.Tx, pl *Playlist, change string) error {
	if err := ps.store.touchPlaylist(ctx, tx, pl); err != nil {
		return err
	}
	return ps.publishUpdate(ctx, tx, pl, change)
}

// publishUpdate publishes playlist.updated to the owner and collaborators.
func (ps *service) publishUpdate(ctx context.Context, tx *sqlx.Tx, pl *Playlist, change string) error {
	collaborators, err := ps.store.playlistCollaborators(ctx, tx, pl.ID)
	if err != nil {
		return err
	}
	_, err = ps.pub.Publish(ctx, tx, EventPlaylistUpdated, ps.playlistEvent(pl, change), append([]uuid.UUID{pl.OwnerID}, collaborators...)...)
	return err
}

func (ps *service) playlistEvent(pl *Playlist, change string) PlaylistEvent {
	return PlaylistEvent{PlaylistID: pl.ID, OwnerID: pl.OwnerID, Title: pl.Title, Visibility: pl.Visibility, Change: change, At: ps.now().UTC()}
}
