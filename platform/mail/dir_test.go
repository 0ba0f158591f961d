package mail

import (
	"context"
	"errors"
	"mime"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDirWritesOneFilePerMessage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "mail") // does not exist yet
	s, err := NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o750 {
		t.Fatalf("directory: %v, %v", fi, err)
	}

	// Two messages in the same second must not collide.
	fixed := time.Date(2025, 3, 14, 15, 9, 26, 0, time.FixedZone("CET", 3600))
	s.(*dirSender).now = func() time.Time { return fixed }

	ids := map[string]Message{}
	for i, subject := range []string{"Vérifiez votre adresse", "Réinitialisez votre mot de passe"} {
		m := testMessage()
		m.Subject = subject
		if i == 1 {
			m.HTML = "<p>Réinitialiser</p>"
		}
		id, err := s.Send(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		ids[id] = m
	}
	if len(ids) != 2 {
		t.Fatalf("ids = %v", ids)
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("want 2 files (no temporary files left), got %v", names)
	}
	nameRE := regexp.MustCompile(`^20250314T140926Z-([A-Z2-7]{26})\.eml$`)
	for _, e := range entries {
		sub := nameRE.FindStringSubmatch(e.Name())
		if sub == nil {
			t.Errorf("file name %q", e.Name())
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, %v", e.Name(), info.Mode(), err)
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		id := msg.Header.Get("Message-ID")
		m, ok := ids[id]
		if !ok || !strings.HasPrefix(id, "<"+sub[1]+"@") {
			t.Errorf("%s has Message-ID %q, sent %v", e.Name(), id, ids)
			continue
		}
		if subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); subj != m.Subject {
			t.Errorf("%s: Subject %q, want %q", e.Name(), subj, m.Subject)
		}
	}
}

func TestDirKeepsFileNamesInsideTheDirectory(t *testing.T) {
	dir := t.TempDir()
	s, err := NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := testMessage()
	m.Headers = map[string]string{"Message-ID": "<etc/passwd%x@veza.local>"}
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || strings.Contains(entries[0].Name(), "/") || !strings.HasSuffix(entries[0].Name(), "-etc_passwd_x.eml") {
		t.Fatalf("entries = %v", entries)
	}
}

func TestDirRefusesBadMessagesAndPaths(t *testing.T) {
	dir := t.TempDir()
	s, err := NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := testMessage()
	m.Subject = "x\r\nBcc: victim@example.com"
	if _, err := s.Send(context.Background(), m); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Send(ctx, testMessage()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}

	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDir(file); err == nil {
		t.Errorf("NewDir on a file succeeded")
	}
}
