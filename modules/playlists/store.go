package playlists

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/veza/veza/platform/page"
)

var errNotFound = errors.New("not found")

type store struct{ db *sqlx.DB }

func newStore(db *sqlx.DB) *store { return &store{db: db} }

const playlistColumns = `id, owner_id, title, description, visibility, created_at, updated_at`

func (s *store) insertPlaylist(ctx context.Context, tx sqlx.ExtContext, pl *Playlist) error {
	err := sqlx.GetContext(ctx, tx, pl, `
		INSERT INTO playlists (id, owner_id, title, description, visibility) VALUES ($1, $2, $3, $4, $5)
		RETURNING `+playlistColumns, pl.ID, pl.OwnerID, pl.Title, pl.Description, pl.Visibility)
	if err != nil {
		return fmt.Errorf("insert playlist: %w", err)
	}
	return nil
}

// playlistByID loads a playlist; with lock, it holds the row until the
// transaction ends, which serialises every change to the playlist, its
// tracks and its collaborators.
func (s *store) playlistByID(ctx context.Context, q sqlx.QueryerContext, id uuid.UUID, lock bool) (*Playlist, error) {
	query := `SELECT ` + playlistColumns + ` FROM playlists WHERE id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	var pl Playlist
	err := sqlx.GetContext(ctx, q, &pl, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load playlist %s: %w", id, err)
	}
	return &pl, nil
}

func (s *store) updatePlaylist(ctx context.Context, tx sqlx.ExtContext, pl *Playlist) error {
	err := sqlx.GetContext(ctx, tx, pl, `
		UPDATE playlists SET title = $2, description = $3, visibility = $4, updated_at = now()
		WHERE id = $1 RETURNING `+playlistColumns, pl.ID, pl.Title, pl.Description, pl.Visibility)
	if err != nil {
		return fmt.Errorf("update playlist %s: %w", pl.ID, err)
	}
	return nil
}

// touchPlaylist records that the tracks or collaborators changed.
func (s *store) touchPlaylist(ctx context.Context, tx sqlx.ExtContext, pl *Playlist) error {
	if err := sqlx.GetContext(ctx, tx, &pl.UpdatedAt, `UPDATE playlists SET updated_at = now() WHERE id = $1 RETURNING updated_at`, pl.ID); err != nil {
		return fmt.Errorf("touch playlist %s: %w", pl.ID, err)
	}
	return nil
}

// deletePlaylist removes the row; its places and collaborators go with it.
func (s *store) deletePlaylist(ctx context.Context, tx sqlx.ExtContext, id uuid.UUID) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM playlists WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete playlist %s: %w", id, err)
	}
	return nil
}

// listPublicPlaylists returns public playlists, newest first, strictly after
// the cursor.
func (s *store) listPublicPlaylists(ctx context.Context, after *page.TimeID, limit int) ([]Playlist, error) {
	var out []Playlist
	var err error
	if after == nil {
		err = s.db.SelectContext(ctx, &out, `SELECT `+playlistColumns+` FROM playlists WHERE visibility = 'public'
			ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	} else {
		err = s.db.SelectContext(ctx, &out, `SELECT `+playlistColumns+` FROM playlists WHERE visibility = 'public'
			AND (created_at, id) < ($1, $2) ORDER BY created_at DESC, id DESC LIMIT $3`, after.At, after.ID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list playlists: %w", err)
	}
	return out, nil
}

func (s *store) isPlaylistCollaborator(ctx context.Context, q sqlx.QueryerContext, playlist, user uuid.UUID) (bool, error) {
	var ok bool
	err := sqlx.GetContext(ctx, q, &ok, `SELECT EXISTS (SELECT 1 FROM playlist_collaborators WHERE playlist_id = $1 AND user_id = $2)`, playlist, user)
	if err != nil {
		return false, fmt.Errorf("collaborator of %s: %w", playlist, err)
	}
	return ok, nil
}

// playlistCollaborators lists the collaborators in the order they were added.
func (s *store) playlistCollaborators(ctx context.Context, q sqlx.QueryerContext, playlist uuid.UUID) ([]uuid.UUID, error) {
	out := []uuid.UUID{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT user_id FROM playlist_collaborators WHERE playlist_id = $1
		ORDER BY added_at, user_id`, playlist)
	if err != nil {
		return nil, fmt.Errorf("collaborators of %s: %w", playlist, err)
	}
	return out, nil
}

// addPlaylistCollaborator reports false when the user already is one.
func (s *store) addPlaylistCollaborator(ctx context.Context, tx sqlx.ExtContext, playlist, user uuid.UUID) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO playlist_collaborators (playlist_id, user_id) VALUES ($1, $2)
		ON CONFLICT DO NOTHING`, playlist, user)
	if err != nil {
		return false, fmt.Errorf("add collaborator to %s: %w", playlist, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// removePlaylistCollaborator reports false when the user was not one.
func (s *store) removePlaylistCollaborator(ctx context.Context, tx sqlx.ExtContext, playlist, user uuid.UUID) (bool, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM playlist_collaborators WHERE playlist_id = $1 AND user_id = $2`, playlist, user)
	if err != nil {
		return false, fmt.Errorf("remove collaborator from %s: %w", playlist, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// entries returns every place of a playlist in order.
func (s *store) entries(ctx context.Context, q sqlx.QueryerContext, playlist uuid.UUID) ([]entry, error) {
	var out []entry
	err := sqlx.SelectContext(ctx, q, &out, `SELECT track_id, position, added_by, added_at
		FROM playlist_tracks WHERE playlist_id = $1 ORDER BY position`, playlist)
	if err != nil {
		return nil, fmt.Errorf("tracks of playlist %s: %w", playlist, err)
	}
	return out, nil
}

// playlistsWithTrack lists the playlists holding track, by id: the order in
// which a track's removal locks them.
func (s *store) playlistsWithTrack(ctx context.Context, track uuid.UUID) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := s.db.SelectContext(ctx, &out, `SELECT playlist_id FROM playlist_tracks WHERE track_id = $1 ORDER BY playlist_id`, track)
	if err != nil {
		return nil, fmt.Errorf("playlists holding track %s: %w", track, err)
	}
	return out, nil
}

// trackIDsAfter returns up to limit distinct track ids held by playlists,
// in id order after the given one: the sweep's keyset walk.
func (s *store) trackIDsAfter(ctx context.Context, after uuid.UUID, limit int) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := s.db.SelectContext(ctx, &out, `SELECT DISTINCT track_id FROM playlist_tracks WHERE track_id > $1
		ORDER BY track_id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("playlist tracks after %s: %w", after, err)
	}
	return out, nil
}

// renumber makes a playlist's positions 0..n-1 again, keeping their order.
func (s *store) renumber(ctx context.Context, tx sqlx.ExtContext, playlist uuid.UUID) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE playlist_tracks pt SET position = r.n - 1
		FROM (SELECT track_id, row_number() OVER (ORDER BY position, added_at) AS n FROM playlist_tracks WHERE playlist_id = $1) r
		WHERE pt.playlist_id = $1 AND pt.track_id = r.track_id AND pt.position <> r.n - 1`, playlist)
	if err != nil {
		return fmt.Errorf("renumber playlist %s: %w", playlist, err)
	}
	return nil
}

func (s *store) countPlaylistTracks(ctx context.Context, q sqlx.QueryerContext, playlist uuid.UUID) (int, error) {
	var n int
	if err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM playlist_tracks WHERE playlist_id = $1`, playlist); err != nil {
		return 0, fmt.Errorf("count tracks of playlist %s: %w", playlist, err)
	}
	return n, nil
}

func (s *store) playlistHasTrack(ctx context.Context, q sqlx.QueryerContext, playlist, track uuid.UUID) (bool, error) {
	var ok bool
	err := sqlx.GetContext(ctx, q, &ok, `SELECT EXISTS (SELECT 1 FROM playlist_tracks WHERE playlist_id = $1 AND track_id = $2)`, playlist, track)
	if err != nil {
		return false, fmt.Errorf("track in playlist %s: %w", playlist, err)
	}
	return ok, nil
}

// shiftPlaylistTracks moves the places from pos on one step down to make
// room. The unique constraint on positions is deferred to commit, so the
// moment two rows share a position inside the statement does not fail.
func (s *store) shiftPlaylistTracks(ctx context.Context, tx sqlx.ExtContext, playlist uuid.UUID, pos int) error {
	if _, err := tx.ExecContext(ctx, `UPDATE playlist_tracks SET position = position + 1
		WHERE playlist_id = $1 AND position >= $2`, playlist, pos); err != nil {
		return fmt.Errorf("shift tracks of playlist %s: %w", playlist, err)
	}
	return nil
}

func (s *store) insertPlaylistTrack(ctx context.Context, tx sqlx.ExtContext, playlist, track uuid.UUID, pos int, by uuid.UUID) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO playlist_tracks (playlist_id, track_id, position, added_by)
		VALUES ($1, $2, $3, $4)`, playlist, track, pos, by); err != nil {
		return fmt.Errorf("add track to playlist %s: %w", playlist, err)
	}
	return nil
}

// removePlaylistTrack reports false when the track was not in the playlist.
// The caller renumbers.
func (s *store) removePlaylistTrack(ctx context.Context, tx sqlx.ExtContext, playlist, track uuid.UUID) (bool, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM playlist_tracks WHERE playlist_id = $1 AND track_id = $2`, playlist, track)
	if err != nil {
		return false, fmt.Errorf("remove track from playlist %s: %w", playlist, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// setPlaylistPositions gives tracks[i] the position positions[i] in one
// statement and reports how many places moved.
func (s *store) setPlaylistPositions(ctx context.Context, tx sqlx.ExtContext, playlist uuid.UUID, tracks []uuid.UUID, positions []int64) (int64, error) {
	ids := make([]string, len(tracks))
	for i, t := range tracks {
		ids[i] = t.String()
	}
	res, err := tx.ExecContext(ctx, `
		UPDATE playlist_tracks pt SET position = v.pos
		FROM unnest($2::uuid[], $3::integer[]) AS v(track_id, pos)
		WHERE pt.playlist_id = $1 AND pt.track_id = v.track_id AND pt.position <> v.pos`,
		playlist, pq.Array(ids), pq.Array(positions))
	if err != nil {
		return 0, fmt.Errorf("reorder playlist %s: %w", playlist, err)
	}
	return res.RowsAffected()
}
