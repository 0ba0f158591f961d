package playlists_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/app/moduletest"
	"github.com/veza/veza/migrations"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/playlists"
	"github.com/veza/veza/modules/tracks"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/migrate"
	"github.com/veza/veza/platform/testkit"
)

func TestModuleContract(t *testing.T) {
	moduletest.Check(t, playlists.Module(), moduletest.With(auth.Module(), tracks.Module()),
		moduletest.Env(map[string]string{"UPLOAD_DIR": t.TempDir(), "MAIL_DRIVER": "log"}))
}

// An operator runs tracks without playlists: the playlist routes answer
// 404, no playlist table is made, and tracks work as before.
func TestTracksWithoutPlaylists(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{
		Modules:     []app.Module{auth.Module(), tracks.Module(), playlists.Module()},
		ModulesYAML: "modules:\n  auth: {enabled: true}\n  tracks: {enabled: true}\n  playlists: {enabled: false}\n",
		Env:         map[string]string{"UPLOAD_DIR": t.TempDir(), "MAIL_DRIVER": "log"},
	})
	srv.Do(t, "GET", "/api/v1/playlists", nil).ErrorCode(t, 404, "not_found")
	srv.Do(t, "POST", "/api/v1/playlists", map[string]string{"title": "x"}).ErrorCode(t, 404, "not_found")
	srv.Do(t, "GET", "/api/v1/tracks", nil).Status(t, 200)
	var tables []string
	if err := srv.Runtime.DB().Select(&tables, `SELECT tablename FROM pg_tables WHERE tablename LIKE 'playlist%'`); err != nil {
		t.Fatal(err)
	}
	if len(tables) != 0 {
		t.Fatalf("playlists is disabled, yet its tables exist: %v", tables)
	}
}

// The hourly sweep removes the places of tracks that no longer exist (a
// track added while it was being deleted), closing the gaps.
func TestSweepDropsVanishedTracks(t *testing.T) {
	e := plStart(t)
	a := e.plUser(t, "alice", "user")
	pl := e.plCreate(t, a, "mix", "public").ID
	t1, t2, t3 := e.plTrack(t, a.ID, "public"), e.plTrack(t, a.ID, "public"), e.plTrack(t, a.ID, "public")
	for _, tr := range []uuid.UUID{t1, t2, t3} {
		e.plAdd(t, a, pl, tr, nil)
	}
	// The track vanishes without its event, as in the race the sweep is for.
	e.plExec(t, `DELETE FROM tracks WHERE id = $1`, t2)
	client := asynq.NewClient(asynq.RedisClientOpt{Addr: e.Redis.Addr()})
	defer client.Close()
	if _, err := client.Enqueue(asynq.NewTask(playlists.SweepJob, nil), asynq.Queue("playlists")); err != nil {
		t.Fatal(err)
	}
	e.plWaitLen(t, pl, 2)
	plEqual(t, "after the sweep", e.plDense(t, pl, 2), []uuid.UUID{t1, t3})
}

// A database made when playlists lived in the tracks module keeps its
// playlists: tracks' migration 3 hands the tables over and the playlists
// module adopts them, rows included.
func TestUpgradeAdoptsPlaylistTables(t *testing.T) {
	dsn := testkit.NewDatabase(t)
	pool, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	runner := migrate.NewRunner(pool, apptest.Logger())
	ctx := context.Background()
	all := []app.Module{auth.Module(), tracks.Module(), playlists.Module()}
	for _, m := range all[:2] {
		if err := runner.UpSteps(ctx, app.ModuleSource(m), 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := runner.Up(ctx, []migrate.Source{{Module: app.PlatformModule, FS: migrations.FS}}); err != nil {
		t.Fatal(err)
	}
	// What tracks' first migration used to create.
	owner, track, list := uuid.New(), uuid.New(), uuid.New()
	for _, stmt := range []string{
		`CREATE TABLE playlists (id uuid PRIMARY KEY, owner_id uuid NOT NULL, title text NOT NULL,
			description text NOT NULL DEFAULT '', visibility text NOT NULL DEFAULT 'public'
			CHECK (visibility IN ('public', 'private', 'unlisted')),
			created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now())`,
		`CREATE TABLE playlist_tracks (playlist_id uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
			track_id uuid NOT NULL REFERENCES tracks (id) ON DELETE CASCADE, position integer NOT NULL,
			added_by uuid NOT NULL, added_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (playlist_id, track_id),
			UNIQUE (playlist_id, position) DEFERRABLE INITIALLY DEFERRED)`,
		`CREATE TABLE playlist_collaborators (playlist_id uuid NOT NULL REFERENCES playlists (id) ON DELETE CASCADE,
			user_id uuid NOT NULL, added_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (playlist_id, user_id))`,
	} {
		if _, err := pool.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	exec(t, pool, `INSERT INTO tracks (id, owner_id, title, format, content_type, size_bytes, storage_key)
		VALUES ($1, $2, 'old', 'wav', 'audio/wav', 1, 'tracks/ab/old.wav')`, track, owner)
	exec(t, pool, `INSERT INTO playlists (id, owner_id, title) VALUES ($1, $2, 'kept')`, list, owner)
	exec(t, pool, `INSERT INTO playlist_tracks (playlist_id, track_id, position, added_by) VALUES ($1, $2, 0, $3)`, list, track, owner)

	plan, err := app.New(all...).Plan(config.Test, nil, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Up(ctx, app.MigrationSources(plan)); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	var n int
	if err := pool.Get(&n, `SELECT count(*) FROM playlist_tracks pt JOIN playlists p ON p.id = pt.playlist_id WHERE p.title = 'kept'`); err != nil || n != 1 {
		t.Fatalf("the playlist's rows after the upgrade: %d, %v", n, err)
	}
	var key string
	if err := pool.Get(&key, `SELECT storage_key FROM tracks WHERE id = $1`, track); err != nil || key != "ab/old.wav" {
		t.Fatalf("storage key after the upgrade: %q, %v", key, err)
	}
	// The link to tracks is gone: deleting the track leaves the place to
	// the playlists module's own cleanup.
	exec(t, pool, `DELETE FROM tracks WHERE id = $1`, track)
	if err := pool.Get(&n, `SELECT count(*) FROM playlist_tracks WHERE track_id = $1`, track); err != nil || n != 1 {
		t.Fatalf("a foreign key to tracks survived the upgrade: %d rows, %v", n, err)
	}
}

func exec(t *testing.T, pool *sqlx.DB, query string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}
