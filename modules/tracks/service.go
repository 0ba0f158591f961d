package tracks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/tracks/clamav"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/jobs"
	"github.com/veza/veza/platform/page"
	"github.com/veza/veza/platform/storage"
)

// Service holds the rules of tracks: visibility, ownership, state.
type Service struct {
	db       *sqlx.DB
	store    *store
	owners   *owners
	files    storage.Store
	pub      *events.Publisher
	queue    *jobs.Enqueuer
	settings *Settings
	presign  time.Duration
	scanner  *clamav.Client
	uploads  *uploadSlots
	plays    chan playJob
	recent   seenPlays
	baseURL  string
	log      *zap.Logger
	now      func() time.Time
}

func newService(pool *sqlx.DB, st *store, o *owners, files storage.Store, pub *events.Publisher, queue *jobs.Enqueuer,
	s *Settings, cfg *config.Config, log *zap.Logger) *Service {
	svc := &Service{db: pool, store: st, owners: o, files: files, pub: pub, queue: queue, settings: s, presign: cfg.S3PresignTTL,
		uploads: newUploadSlots(s.MaxConcurrentUploads, s.MaxConcurrentUploadsPerUser), plays: make(chan playJob, 4096), baseURL: cfg.PublicURL, log: log, now: time.Now}
	if s.ClamAVAddress != "" {
		svc.scanner = &clamav.Client{Addr: s.ClamAVAddress, Timeout: 2 * time.Minute}
	}
	return svc
}

// canSee reports whether p may see t: public and unlisted tracks are seen
// by anyone who has the id; private ones by their owner and admins.
func canSee(p *authn.Principal, t *Track) bool {
	return t.Visibility != "private" || (p != nil && (p.UserID == t.OwnerID || p.IsAdmin()))
}

// canList reports whether t may appear in a list p sees (GET /tracks,
// another module's playlist): public tracks for everyone, the others only
// for their owner and admins. An unlisted track is for those who have its
// id or link, not for lists.
func canList(p *authn.Principal, t *Track) bool {
	return t.Visibility == "public" || (p != nil && (p.UserID == t.OwnerID || p.IsAdmin()))
}

var errTrackNotFound = httpx.NotFound("track not found")

// visible loads a track the caller may see; anything else is not found,
// so a private track's existence is not revealed.
func (s *Service) visible(ctx context.Context, p *authn.Principal, id uuid.UUID) (*Track, error) {
	t, err := s.store.track(ctx, s.db, id, false)
	if errors.Is(err, errNotFound) || (err == nil && !canSee(p, t)) {
		return nil, errTrackNotFound
	}
	return t, err
}

// owned loads a track the caller owns (or administers). Others get 404 when
// they cannot see it and 403 when they can.
func (s *Service) owned(ctx context.Context, q sqlx.QueryerContext, p *authn.Principal, id uuid.UUID, lock bool) (*Track, error) {
	t, err := s.store.track(ctx, q, id, lock)
	if errors.Is(err, errNotFound) || (err == nil && !canSee(p, t)) {
		return nil, errTrackNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := authn.RequireOwnerOrAdmin(p, t.OwnerID); err != nil {
		return nil, err
	}
	return t, nil
}

// Get returns a track the caller may see.
func (s *Service) Get(ctx context.Context, p *authn.Principal, id uuid.UUID) (*Track, error) {
	return s.visible(ctx, p, id)
}

// MetaInput holds the editable fields; absent ones stay.
type MetaInput struct {
	Title       *string   `json:"title"`
	Description *string   `json:"description"`
	Genre       *string   `json:"genre"`
	Tags        *[]string `json:"tags"`
	Visibility  *string   `json:"visibility"`
}

// apply validates in onto t and returns what changed.
func (in MetaInput) apply(t *Track) (map[string][2]any, error) {
	changes := map[string][2]any{}
	var v httpx.Checker
	for name, f := range map[string]*string{"title": in.Title, "description": in.Description, "genre": in.Genre} {
		v.Check(f == nil || !strings.ContainsRune(*f, 0), name, "must not contain NUL characters")
	}
	if in.Tags != nil {
		for _, tag := range *in.Tags {
			v.Check(!strings.ContainsRune(tag, 0), "tags", "must not contain NUL characters")
		}
	}
	if in.Title != nil {
		title := strings.TrimSpace(*in.Title)
		v.Check(title != "" && len([]rune(title)) <= 200, "title", "must be 1 to 200 characters")
		if title != t.Title {
			changes["title"] = [2]any{t.Title, title}
			t.Title = title
		}
	}
	if in.Description != nil {
		v.Check(len([]rune(*in.Description)) <= 5000, "description", "at most 5000 characters")
		if *in.Description != t.Description {
			changes["description"] = [2]any{t.Description, *in.Description}
			t.Description = *in.Description
		}
	}
	if in.Genre != nil {
		g := strings.TrimSpace(*in.Genre)
		v.Check(len([]rune(g)) <= 50, "genre", "at most 50 characters")
		if g != t.Genre {
			changes["genre"] = [2]any{t.Genre, g}
			t.Genre = g
		}
	}
	if in.Tags != nil {
		tags, ok := cleanTags(*in.Tags)
		v.Check(ok, "tags", "at most 20 tags of 1 to 30 characters")
		if !slices.Equal(tags, []string(t.Tags)) {
			changes["tags"] = [2]any{[]string(t.Tags), tags}
			t.Tags = pq.StringArray(tags)
		}
	}
	if in.Visibility != nil {
		vis := *in.Visibility
		v.Check(vis == "public" || vis == "private" || vis == "unlisted", "visibility", "must be public, private or unlisted")
		if vis != t.Visibility {
			changes["visibility"] = [2]any{t.Visibility, vis}
			t.Visibility = vis
		}
	}
	return changes, v.Err()
}

// cleanTags trims, lower-cases and deduplicates tags.
func cleanTags(in []string) ([]string, bool) {
	out := []string{}
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || len([]rune(t)) > 30 {
			return nil, false
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, len(out) <= 20
}

// Update changes a track's metadata, recording the edit in its history.
func (s *Service) Update(ctx context.Context, p *authn.Principal, id uuid.UUID, in MetaInput) (*Track, error) {
	var t *Track
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		if t, err = s.owned(ctx, tx, p, id, true); err != nil {
			return err
		}
		changes, err := in.apply(t)
		if err != nil || len(changes) == 0 {
			return err
		}
		if err := s.store.saveMeta(ctx, tx, t, p.UserID, changes); err != nil {
			return err
		}
		_, err = s.pub.Publish(ctx, tx, EventTrackUpdated, s.event(t), t.OwnerID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (s *Service) event(t *Track) TrackEvent {
	e := TrackEvent{TrackID: t.ID, OwnerID: t.OwnerID, Title: t.Title, Visibility: t.Visibility, Status: t.Status, At: s.now().UTC(),
		CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
	if t.Error != nil {
		e.Error = *t.Error
	}
	return e
}

// Delete removes a track; its file is deleted by a job.
func (s *Service) Delete(ctx context.Context, p *authn.Principal, id uuid.UUID) error {
	return db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		t, err := s.owned(ctx, tx, p, id, true)
		if err != nil {
			return err
		}
		if err := s.store.deleteTrack(ctx, tx, id); err != nil {
			return err
		}
		if err := s.queue.EnqueueTx(ctx, tx, DeleteFileJob, 1, fileJob{Key: t.StorageKey}); err != nil {
			return err
		}
		_, err = s.pub.Publish(ctx, tx, EventTrackDeleted, s.event(t), t.OwnerID)
		return err
	})
}

// History lists a track's edits, newest first, for its owner or an admin.
func (s *Service) History(ctx context.Context, p *authn.Principal, id uuid.UUID, req page.Request[int64]) ([]HistoryEntry, string, error) {
	if _, err := s.owned(ctx, s.db, p, id, false); err != nil {
		return nil, "", err
	}
	fetch := func(ctx context.Context, before *int64, n int) ([]HistoryEntry, error) {
		return s.store.history(ctx, id, before, n)
	}
	return page.Fetch(ctx, req, fetch, func(e *HistoryEntry) int64 { return e.ID })
}

// List returns a page of public tracks and the next page's cursor.
func (s *Service) List(ctx context.Context, f listFilter, req page.Request[listCursor]) ([]Track, string, error) {
	fetch := func(ctx context.Context, after *listCursor, n int) ([]Track, error) {
		return s.store.listPublic(ctx, f, after, n)
	}
	return page.Fetch(ctx, req, fetch, func(t *Track) listCursor {
		return listCursor{Plays: t.Plays, At: t.CreatedAt, ID: t.ID}
	})
}

// MarkReady is the external stream server's callback.
func (s *Service) MarkReady(ctx context.Context, id uuid.UUID) error {
	ok, err := s.store.markReady(ctx, id)
	if err != nil {
		return err
	}
	if !ok {
		return errTrackNotFound
	}
	return nil
}

// ShareView is a share link as its creator sees it, token included.
type ShareView struct {
	ID        uuid.UUID  `json:"id"`
	Token     string     `json:"token"`
	URL       string     `json:"url"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// ShareInput is the body of POST /tracks/:id/share.
type ShareInput struct {
	// ExpiresIn is the link's life in whole seconds, from 1 to the
	// max_share_ttl setting; absent or null: max_share_ttl (a link that never
	// expires when that is 0). Kept raw so that no value can overflow into a
	// date in the past on its way in.
	ExpiresIn json.RawMessage `json:"expires_in" doc:"seconds, 1 to max_share_ttl; absent: max_share_ttl"`
}

// maxShareSeconds bounds expires_in when max_share_ttl is 0 (no bound): a
// century keeps every expiry a date PostgreSQL and JSON represent.
const maxShareSeconds = 100 * 365 * 24 * 60 * 60

// shareLife reads expires_in; 0 means the link never expires.
func (s *Service) shareLife(raw json.RawMessage) (time.Duration, error) {
	longest := s.settings.MaxShareTTL
	limit := int64(longest / time.Second)
	if longest <= 0 {
		limit = maxShareSeconds
	}
	v := bytes.TrimSpace(raw)
	if len(v) == 0 || string(v) == "null" {
		return max(longest, 0), nil
	}
	// Digits only: 1e3, 3600.0 and "3600" are refused rather than guessed
	// at, and ParseInt refuses what does not fit before any arithmetic.
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil || n < 1 || n > limit {
		return 0, httpx.Invalid(httpx.FieldError{Field: "expires_in",
			Message: fmt.Sprintf("must be a whole number of seconds from 1 to %d", limit)})
	}
	return time.Duration(n) * time.Second, nil
}

// CreateShare makes a share link for the owner.
func (s *Service) CreateShare(ctx context.Context, p *authn.Principal, id uuid.UUID, in ShareInput) (*ShareView, error) {
	t, err := s.visible(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if p.UserID != t.OwnerID {
		return nil, httpx.Forbidden("forbidden", "only the track's owner may share it")
	}
	life, err := s.shareLife(in.ExpiresIn)
	if err != nil {
		return nil, err
	}
	token, hash := newShareToken()
	sh := &Share{ID: uuid.Must(uuid.NewV7()), TrackID: id, CreatedBy: p.UserID}
	if life > 0 {
		at := s.now().Add(life).UTC()
		sh.ExpiresAt = &at
	}
	if err := s.store.insertShare(ctx, sh, hash); err != nil {
		return nil, err
	}
	return &ShareView{ID: sh.ID, Token: token, URL: s.baseURL + "/api/v1/tracks/shared/" + token, ExpiresAt: sh.ExpiresAt}, nil
}

// Shared returns the track behind a live link.
func (s *Service) Shared(ctx context.Context, token string) (*Track, error) {
	sh, err := s.store.liveShare(ctx, hashToken(token))
	if errors.Is(err, errNotFound) {
		return nil, httpx.NotFound("this link does not exist, has expired or was revoked")
	}
	if err != nil {
		return nil, err
	}
	t, err := s.store.track(ctx, s.db, sh.TrackID, false)
	if errors.Is(err, errNotFound) {
		return nil, httpx.NotFound("this link does not exist, has expired or was revoked")
	}
	return t, err
}

// RevokeShare ends a link, for the track's owner.
func (s *Service) RevokeShare(ctx context.Context, p *authn.Principal, id uuid.UUID) error {
	sh, err := s.store.share(ctx, id)
	if errors.Is(err, errNotFound) {
		return httpx.NotFound("share link not found")
	}
	if err != nil {
		return err
	}
	t, err := s.store.track(ctx, s.db, sh.TrackID, false)
	if errors.Is(err, errNotFound) || (err == nil && t.OwnerID != p.UserID) {
		return httpx.NotFound("share link not found")
	}
	if err != nil {
		return err
	}
	return s.store.revokeShare(ctx, id)
}
