package mail

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultDir is where the dir driver writes when no directory is configured,
// relative to the working directory like the rest of var/.
const DefaultDir = "var/mail"

type dirSender struct {
	dir string
	now func() time.Time
}

// NewDir returns a Sender that writes each message as an .eml file in dir
// (DefaultDir when empty), so a developer can open the verification and reset
// mails in any mail client without running a mail server. The directory is
// created with mode 0o750 when missing; files are named
// "<UTC timestamp>-<Message-ID local part>.eml", appear atomically (a reader
// never sees half a message) and have mode 0o640.
func NewDir(dir string) (Sender, error) {
	if dir == "" {
		dir = DefaultDir
	}
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return nil, fmt.Errorf("mail: %s is not a directory", dir)
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("mail: create mail directory: %w", err)
		}
		// MkdirAll's mode is filtered by the umask; the mode is part of the
		// contract, so set it exactly.
		if err := os.Chmod(dir, 0o750); err != nil {
			return nil, fmt.Errorf("mail: create mail directory: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("mail: mail directory: %w", err)
	}
	return &dirSender{dir: dir, now: time.Now}, nil
}

func (s *dirSender) Send(ctx context.Context, m Message) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	now := s.now()
	b, err := build(m, now, "")
	if err != nil {
		return "", err
	}
	// The random Message-ID tells apart messages written in the same second.
	// A caller-fixed Message-ID sent twice in one second replaces the file
	// with the same message, which is what a retried job should do.
	local := b.id[1:strings.LastIndexByte(b.id, '@')]
	name := now.UTC().Format("20060102T150405Z") + "-" + fileSafe(local) + ".eml"
	if err := writeAtomic(s.dir, name, b.raw); err != nil {
		return "", fmt.Errorf("mail: write %s: %w", name, err)
	}
	return b.id, nil
}

// fileSafe keeps a Message-ID local part (which may hold '/' and other atext)
// from escaping the directory or producing awkward names.
func fileSafe(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// writeAtomic writes data to a hidden temporary file in dir and renames it
// to name, so the file appears complete or not at all.
func writeAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, ".tmp-*.eml")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(0o640); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	// Persist the rename too; not every platform can sync a directory, and
	// the file is already complete, so this is best effort.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
