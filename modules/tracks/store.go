package tracks

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/page"
)

var errNotFound = errors.New("not found")

// Track is a row of tracks.
type Track struct {
	ID          uuid.UUID       `db:"id"`
	OwnerID     uuid.UUID       `db:"owner_id"`
	Title       string          `db:"title"`
	Description string          `db:"description"`
	Genre       string          `db:"genre"`
	Tags        pq.StringArray  `db:"tags"`
	Visibility  string          `db:"visibility"`
	Status      string          `db:"status"`
	Error       *string         `db:"error"`
	Format      string          `db:"format"`
	ContentType string          `db:"content_type"`
	SizeBytes   int64           `db:"size_bytes"`
	StorageKey  string          `db:"storage_key"`
	ScanStatus  string          `db:"scan_status"`
	DurationMS  *int64          `db:"duration_ms"`
	SampleRate  *int            `db:"sample_rate"`
	Channels    *int            `db:"channels"`
	BitrateKbps *int            `db:"bitrate_kbps"`
	Peaks       pq.Float32Array `db:"peaks"`
	Plays       int64           `db:"plays"`
	Likes       int64           `db:"likes"`
	Comments    int64           `db:"comments"`
	Downloads   int64           `db:"downloads"`
	CreatedAt   time.Time       `db:"created_at"`
	UpdatedAt   time.Time       `db:"updated_at"`
	// The owner's public profile, from the module's copy (track_owners):
	// empty while the module has none.
	OwnerUsername    string `db:"owner_username"`
	OwnerDisplayName string `db:"owner_display_name"`
	OwnerAvatarURL   string `db:"owner_avatar_url"`
}

// trackColumns are the columns of a Track, read from tracks as t joined
// with ownerJoin. They leave out peaks, which only the waveform route reads.
const trackColumns = `t.id, t.owner_id, t.title, t.description, t.genre, t.tags, t.visibility, t.status, t.error,
	t.format, t.content_type, t.size_bytes, t.storage_key, t.scan_status, t.duration_ms, t.sample_rate, t.channels,
	t.bitrate_kbps, t.plays, t.likes, t.comments, t.downloads, t.created_at, t.updated_at,
	coalesce(o.username, '') AS owner_username, coalesce(o.display_name, '') AS owner_display_name,
	coalesce(o.avatar_url, '') AS owner_avatar_url`

// ownerJoin joins a track t to its owner's profile: a LEFT JOIN, so that a
// track whose owner the module has no copy of yet is still shown.
const ownerJoin = ` LEFT JOIN track_owners o ON o.user_id = t.owner_id`

// fromTracks is the FROM clause of every read of tracks.
const fromTracks = ` FROM tracks t` + ownerJoin

// returning turns a write of tracks ending in RETURNING * into a statement
// that answers the written rows as Tracks, owners included, in one round
// trip.
func returning(write string) string {
	return `WITH t AS (` + write + `) SELECT ` + trackColumns + ` FROM t` + ownerJoin
}

type store struct {
	db *sqlx.DB
	// hot runs the reads every listing and track page makes as prepared
	// statements: planning them cost PostgreSQL more than running them.
	hot *db.Statements
}

func newStore(pool *sqlx.DB) *store { return &store{db: pool, hot: db.NewStatements(pool)} }

func (s *store) insertTrack(ctx context.Context, tx sqlx.ExtContext, t *Track) error {
	err := sqlx.GetContext(ctx, tx, t, returning(`
		INSERT INTO tracks (id, owner_id, title, description, genre, tags, visibility, format, content_type,
			size_bytes, storage_key, scan_status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		RETURNING *`),
		t.ID, t.OwnerID, t.Title, t.Description, t.Genre, t.Tags, t.Visibility, t.Format, t.ContentType,
		t.SizeBytes, t.StorageKey, t.ScanStatus)
	if err != nil {
		return fmt.Errorf("insert track: %w", err)
	}
	return nil
}

func (s *store) track(ctx context.Context, q sqlx.QueryerContext, id uuid.UUID, lock bool) (*Track, error) {
	query := `SELECT ` + trackColumns + fromTracks + ` WHERE t.id = $1`
	var t Track
	var err error
	switch {
	case lock: // the owner's copy is not the track's to lock
		err = sqlx.GetContext(ctx, q, &t, query+` FOR UPDATE OF t`, id)
	case q == s.db:
		err = s.hot.Get(ctx, &t, query, id)
	default:
		err = sqlx.GetContext(ctx, q, &t, query, id)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load track %s: %w", id, err)
	}
	return &t, nil
}

func (s *store) peaks(ctx context.Context, id uuid.UUID) ([]float32, error) {
	var p pq.Float32Array
	if err := s.db.GetContext(ctx, &p, `SELECT peaks FROM tracks WHERE id = $1`, id); err != nil {
		return nil, fmt.Errorf("load peaks of %s: %w", id, err)
	}
	return p, nil
}

// listFilter narrows GET /tracks.
type listFilter struct {
	Query   string
	Genre   string
	OwnerID *uuid.UUID
	Popular bool
}

// listCursor is the sort key of the last track of a page.
type listCursor struct {
	Plays int64     `json:"p,omitempty"`
	At    time.Time `json:"t"`
	ID    uuid.UUID `json:"i"`
}

// pageCap bounds the rows of one listing query: a page and one more row,
// which tells whether another page follows.
const pageCap = page.MaxLimit + 1

// listPublic returns public tracks in a stable order (newest, or most
// played, ties broken by creation time and id) strictly after the cursor.
//
// The query is prepared, so that PostgreSQL need not plan it on every
// request (planning took twice as long as running it), and it caps the rows
// twice: the inner LIMIT, a constant, lets the planner cost a generic plan
// as it costs a custom one, so it keeps the generic one; with the page's
// limit alone as a parameter, it would assume a tenth of the table and plan
// every execution anew. The outer LIMIT ends the scan after limit rows.
func (s *store) listPublic(ctx context.Context, f listFilter, after *listCursor, limit int) ([]Track, error) {
	if limit < 1 || limit > pageCap {
		return nil, fmt.Errorf("list tracks: limit %d out of 1 to %d", limit, pageCap)
	}
	where := []string{"t.visibility = 'public'"}
	args := []any{}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Query != "" {
		where = append(where, "t.search @@ websearch_to_tsquery('simple', "+arg(f.Query)+")")
	}
	if f.Genre != "" {
		where = append(where, "lower(t.genre) = lower("+arg(f.Genre)+")")
	}
	if f.OwnerID != nil {
		where = append(where, "t.owner_id = "+arg(*f.OwnerID))
	}
	keys := []string{"created_at", "id"}
	if f.Popular {
		keys = []string{"plays", "created_at", "id"}
	}
	if after != nil {
		from := []string{arg(after.At), arg(after.ID)}
		if f.Popular {
			from = append([]string{arg(after.Plays)}, from...)
		}
		where = append(where, "("+prefixed("t.", keys, "")+") < ("+strings.Join(from, ", ")+")")
	}
	query := `SELECT * FROM (SELECT ` + trackColumns + fromTracks + ` WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + prefixed("t.", keys, " DESC") + ` LIMIT ` + strconv.Itoa(pageCap) + `) page` +
		` ORDER BY ` + prefixed("", keys, " DESC") + ` LIMIT ` + arg(limit)
	var out []Track
	if err := s.hot.Select(ctx, &out, query, args...); err != nil {
		return nil, fmt.Errorf("list tracks: %w", err)
	}
	return out, nil
}

// prefixed joins columns, each between prefix and suffix.
func prefixed(prefix string, columns []string, suffix string) string {
	out := make([]string, len(columns))
	for i, c := range columns {
		out[i] = prefix + c + suffix
	}
	return strings.Join(out, ", ")
}

// saveMeta writes the editable fields and the history entry of the edit.
func (s *store) saveMeta(ctx context.Context, tx sqlx.ExtContext, t *Track, actor uuid.UUID, changes map[string][2]any) error {
	err := sqlx.GetContext(ctx, tx, t, returning(`
		UPDATE tracks SET title = $2, description = $3, genre = $4, tags = $5, visibility = $6, updated_at = `+nextVersion+`
		WHERE id = $1 RETURNING *`), t.ID, t.Title, t.Description, t.Genre, t.Tags, t.Visibility)
	if err != nil {
		return fmt.Errorf("update track %s: %w", t.ID, err)
	}
	diff := map[string]map[string]any{}
	for k, v := range changes {
		diff[k] = map[string]any{"from": v[0], "to": v[1]}
	}
	b, err := json.Marshal(diff)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO track_history (track_id, actor_id, changes) VALUES ($1, $2, $3)`,
		t.ID, actor, string(b)); err != nil {
		return fmt.Errorf("record history of %s: %w", t.ID, err)
	}
	return nil
}

// HistoryEntry is one recorded edit.
type HistoryEntry struct {
	ID      int64           `db:"id" json:"id"`
	ActorID uuid.UUID       `db:"actor_id" json:"actor_id"`
	Changes json.RawMessage `db:"changes" json:"changes"`
	At      time.Time       `db:"at" json:"at"`
}

func (s *store) history(ctx context.Context, id uuid.UUID, before *int64, limit int) ([]HistoryEntry, error) {
	var out []HistoryEntry
	err := s.db.SelectContext(ctx, &out, `SELECT id, actor_id, changes, at FROM track_history
		WHERE track_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`, id, before, limit)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", id, err)
	}
	return out, nil
}

// deleteTrack removes the row; history, shares and plays go with it.
func (s *store) deleteTrack(ctx context.Context, tx sqlx.ExtContext, id uuid.UUID) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM tracks WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete track %s: %w", id, err)
	}
	return nil
}

// tracksByID loads the tracks of ids that exist, in no order.
func (s *store) tracksByID(ctx context.Context, ids []uuid.UUID) ([]Track, error) {
	if err := checkBatch(ids); err != nil {
		return nil, err
	}
	var out []Track
	if err := s.hot.Select(ctx, &out, `SELECT `+trackColumns+fromTracks+` WHERE t.id = ANY($1::uuid[])`, pq.Array(idStrings(ids))); err != nil {
		return nil, fmt.Errorf("load %d tracks: %w", len(ids), err)
	}
	return out, nil
}

// existing returns those of ids that name a track.
func (s *store) existing(ctx context.Context, ids []uuid.UUID) ([]uuid.UUID, error) {
	if err := checkBatch(ids); err != nil {
		return nil, err
	}
	var out []uuid.UUID
	if err := s.db.SelectContext(ctx, &out, `SELECT id FROM tracks WHERE id = ANY($1::uuid[])`, pq.Array(idStrings(ids))); err != nil {
		return nil, fmt.Errorf("find %d tracks: %w", len(ids), err)
	}
	return out, nil
}

func checkBatch(ids []uuid.UUID) error {
	if len(ids) > tracksapi.MaxBatch {
		return fmt.Errorf("tracks catalog: %d ids asked, at most %d", len(ids), tracksapi.MaxBatch)
	}
	return nil
}

func idStrings(ids []uuid.UUID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// processed stores the analysis of a track.
type processed struct {
	DurationMS  int64
	SampleRate  int
	Channels    int
	BitrateKbps int
	Peaks       []float32
}

// finish sets a processing outcome, once: a track already ready or failed
// is left alone (the job may run twice). It returns the track's new
// version (updated_at), or nil when it changed nothing.
func (s *store) finish(ctx context.Context, tx sqlx.ExtContext, id uuid.UUID, p *processed, failure string) (*time.Time, error) {
	var at time.Time
	var err error
	if failure != "" {
		err = sqlx.GetContext(ctx, tx, &at, `UPDATE tracks SET status = 'failed', error = $2, updated_at = `+nextVersion+`
			WHERE id = $1 AND status = 'processing' RETURNING updated_at`, id, failure)
	} else {
		var peaks any
		if p.Peaks != nil {
			peaks = pq.Array(p.Peaks)
		}
		err = sqlx.GetContext(ctx, tx, &at, `UPDATE tracks SET status = 'ready', error = NULL, duration_ms = $2, sample_rate = $3,
			channels = $4, bitrate_kbps = $5, peaks = $6, updated_at = `+nextVersion+`
			WHERE id = $1 AND status = 'processing' RETURNING updated_at`, id, p.DurationMS, p.SampleRate, p.Channels, p.BitrateKbps, peaks)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("finish processing %s: %w", id, err)
	}
	return &at, nil
}

// nextVersion is the updated_at of a write of a track: it is the track's
// version in its events, so it must increase with every write. now() alone
// is the transaction's start, which may precede that of a write that took
// the row's lock first.
const nextVersion = `greatest(now(), updated_at + interval '1 microsecond')`

// markReady is the external stream server's word that a track is ready.
func (s *store) markReady(ctx context.Context, id uuid.UUID) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE tracks SET status = 'ready', error = NULL, updated_at = `+nextVersion+` WHERE id = $1`, id)
	if err != nil {
		return false, fmt.Errorf("mark %s ready: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Share is a row of track_shares.
type Share struct {
	ID        uuid.UUID  `db:"id"`
	TrackID   uuid.UUID  `db:"track_id"`
	CreatedBy uuid.UUID  `db:"created_by"`
	CreatedAt time.Time  `db:"created_at"`
	ExpiresAt *time.Time `db:"expires_at"`
	RevokedAt *time.Time `db:"revoked_at"`
}

func (s *store) insertShare(ctx context.Context, sh *Share, hash []byte) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO track_shares (id, track_id, token_hash, created_by, expires_at) VALUES ($1, $2, $3, $4, $5)`,
		sh.ID, sh.TrackID, hash, sh.CreatedBy, sh.ExpiresAt)
	if err != nil {
		return fmt.Errorf("create share of %s: %w", sh.TrackID, err)
	}
	return nil
}

// liveShare finds the live link with this token hash.
func (s *store) liveShare(ctx context.Context, hash []byte) (*Share, error) {
	var sh Share
	err := s.db.GetContext(ctx, &sh, `SELECT id, track_id, created_by, created_at, expires_at, revoked_at FROM track_shares
		WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("find share: %w", err)
	}
	return &sh, nil
}

func (s *store) share(ctx context.Context, id uuid.UUID) (*Share, error) {
	var sh Share
	err := s.db.GetContext(ctx, &sh, `SELECT id, track_id, created_by, created_at, expires_at, revoked_at FROM track_shares WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load share %s: %w", id, err)
	}
	return &sh, nil
}

func (s *store) revokeShare(ctx context.Context, id uuid.UUID) error {
	_, err := s.db.ExecContext(ctx, `UPDATE track_shares SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, id)
	return err
}

// countPlay records a play once per listener and window; it reports
// whether it counted.
func (s *store) countPlay(ctx context.Context, track uuid.UUID, listener string, window time.Time) (bool, error) {
	var counted bool
	err := s.db.GetContext(ctx, &counted, `
		WITH ins AS (
			INSERT INTO track_plays (track_id, listener, window_start) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING RETURNING 1
		), upd AS (
			UPDATE tracks SET plays = plays + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM ins)
		)
		SELECT EXISTS (SELECT 1 FROM ins)`, track, listener, window)
	if err != nil {
		return false, fmt.Errorf("count play of %s: %w", track, err)
	}
	return counted, nil
}

func (s *store) countDownload(ctx context.Context, id uuid.UUID) error {
	_, err := s.db.ExecContext(ctx, `UPDATE tracks SET downloads = downloads + 1 WHERE id = $1`, id)
	return err
}

// ownerRow is a row of track_owners: an account's public profile as of
// UpdatedAt.
type ownerRow struct {
	UserID      uuid.UUID `db:"user_id"`
	Username    string    `db:"username"`
	DisplayName string    `db:"display_name"`
	AvatarURL   string    `db:"avatar_url"`
	UpdatedAt   time.Time `db:"updated_at"`
}

// putOwner stores o unless the copy holds a version of the profile as new
// or newer, so that replays and events out of order change nothing; it
// reports whether it wrote.
func (s *store) putOwner(ctx context.Context, o ownerRow) (bool, error) {
	res, err := s.db.ExecContext(ctx, `
		INSERT INTO track_owners (user_id, username, display_name, avatar_url, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, display_name = excluded.display_name,
			avatar_url = excluded.avatar_url, updated_at = excluded.updated_at
		WHERE track_owners.updated_at < excluded.updated_at`,
		o.UserID, o.Username, o.DisplayName, o.AvatarURL, o.UpdatedAt)
	if err != nil {
		return false, fmt.Errorf("store the profile of %s: %w", o.UserID, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// putOwners stores the newer of each of list and the copy's version, in
// one statement; it returns how many rows it wrote.
func (s *store) putOwners(ctx context.Context, list []ownerRow) (int, error) {
	if len(list) == 0 {
		return 0, nil
	}
	type row struct {
		UserID      uuid.UUID `json:"user_id"`
		Username    string    `json:"username"`
		DisplayName string    `json:"display_name"`
		AvatarURL   string    `json:"avatar_url"`
		UpdatedAt   time.Time `json:"updated_at"`
	}
	rows := make([]row, len(list))
	for i, o := range list {
		rows[i] = row(o)
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return 0, fmt.Errorf("encode %d profiles: %w", len(list), err)
	}
	// JSON goes as text: with binary_parameters a []byte would be sent in
	// jsonb's binary format.
	res, err := s.db.ExecContext(ctx, `
		INSERT INTO track_owners (user_id, username, display_name, avatar_url, updated_at)
		SELECT user_id, username, display_name, avatar_url, updated_at
		FROM jsonb_to_recordset($1::jsonb) AS p (user_id uuid, username text, display_name text, avatar_url text, updated_at timestamptz)
		ON CONFLICT (user_id) DO UPDATE SET username = excluded.username, display_name = excluded.display_name,
			avatar_url = excluded.avatar_url, updated_at = excluded.updated_at
		WHERE track_owners.updated_at < excluded.updated_at`, string(b))
	if err != nil {
		return 0, fmt.Errorf("store %d profiles: %w", len(list), err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// dropOwners removes the copies of ids' profiles; it returns how many it
// removed.
func (s *store) dropOwners(ctx context.Context, ids []uuid.UUID) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM track_owners WHERE user_id = ANY($1::uuid[])`, pq.Array(idStrings(ids)))
	if err != nil {
		return 0, fmt.Errorf("drop %d profiles: %w", len(ids), err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// hasOwner reports whether the copy holds id's profile.
func (s *store) hasOwner(ctx context.Context, id uuid.UUID) (bool, error) {
	var ok bool
	if err := s.db.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM track_owners WHERE user_id = $1)`, id); err != nil {
		return false, fmt.Errorf("look up the profile of %s: %w", id, err)
	}
	return ok, nil
}

// owners returns, in order, at most limit owners of tracks greater than
// after.
func (s *store) owners(ctx context.Context, after uuid.UUID, limit int) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := s.db.SelectContext(ctx, &out, `SELECT DISTINCT owner_id FROM tracks WHERE owner_id > $1
		ORDER BY owner_id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list track owners after %s: %w", after, err)
	}
	return out, nil
}
