package tracks_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/tracks"
	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/storage"
)

// A module that requires tracks reads a ready track's original through
// tracksapi.Files, whatever its visibility, and is told apart an unknown
// track, one still processing and a store that cannot presign.
func TestFilesExported(t *testing.T) {
	var files tracksapi.Files
	reader := app.Module{Name: "reader", Description: "test: takes tracksapi.Files", Requires: []string{"tracks"},
		Register: func(f tracksapi.Files) { files = f }}
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module(), tracks.Module(), reader},
		Env: map[string]string{"VEZA_AUTH_REQUIRE_VERIFIED_EMAIL": "false", "MAIL_DRIVER": "log", "UPLOAD_DIR": t.TempDir(),
			"RATE_LIMIT_LIMIT": "100000"}})
	e := &env{Server: srv}
	_, tok := e.user(t, "maker", "creator")
	file := wav(t, 0.5)
	tr := e.uploadOK(t, tok, file, map[string]string{"title": "Night Drive", "visibility": "private"})
	ctx := context.Background()
	id := uuid.MustParse(tr.ID)
	e.ready(t, tok, tr.ID)

	f, err := files.Original(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f.Reader)
	_ = f.Reader.Close()
	if err != nil || !bytes.Equal(got, file) {
		t.Fatalf("read %d bytes (%v), want the %d uploaded", len(got), err, len(file))
	}
	if f.Size != int64(len(file)) || f.ContentType != "audio/wav" || f.Name != "Night Drive.wav" || f.ETag == "" ||
		time.Since(f.ModTime) > time.Minute {
		t.Fatalf("file = %+v", f)
	}
	if _, err := files.PresignOriginal(ctx, id, time.Minute); !errors.Is(err, storage.ErrNotSupported) {
		t.Fatalf("presign on local disk: %v, want storage.ErrNotSupported", err)
	}
	if _, err := files.Original(ctx, uuid.New()); !errors.Is(err, tracksapi.ErrNoTrack) {
		t.Fatalf("unknown track: %v", err)
	}
	if _, err := srv.Runtime.DB().Exec(`UPDATE tracks SET status = 'processing' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := files.Original(ctx, id); !errors.Is(err, tracksapi.ErrNotReady) {
		t.Fatalf("processing track: %v", err)
	}
}
