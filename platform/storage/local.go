package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

const (
	localDirPerm  = 0o750
	localFilePerm = 0o640
	// localTmpDir is the staging directory under the root. ValidKey rejects
	// segments starting with ".", so no key can reach it.
	localTmpDir = ".tmp"
	// defaultStaleTmpAge is how long a staging file may go unwritten before
	// it counts as abandoned when LocalConfig.StaleTmpAge is not set.
	defaultStaleTmpAge = 24 * time.Hour
)

// LocalConfig configures the local-disk store.
type LocalConfig struct {
	// Dir is the root directory; created (0o750) if missing. Subdirectories
	// (sharding) come from the keys, so the caller chooses them.
	Dir string
	// StaleTmpAge is how long a staging file may go unwritten before
	// NewLocal removes it as left over by a crashed write; 0 means a day.
	// Keep it well above the longest pause a writer may take between two
	// reads of its body: a write in progress touches its file at each one.
	StaleTmpAge time.Duration
}

// Local stores objects as files under one directory. It is the default: no
// extra service to run, and files can be served with sendfile. Several
// processes may share the directory (uploads are staged and renamed
// atomically), but only on one machine or a shared filesystem with POSIX
// rename semantics.
//
// ETag choice: Local's ETag is "<size hex>-<mtime unix nanoseconds hex>",
// derived from the file's metadata. Hashing the content while streaming would
// be cheap, but Stat would then have to rehash the file or read the hash from
// a sidecar file that can drift from the content. Every Put writes a new file
// (new modification time), so the size-and-mtime ETag changes whenever the
// object is replaced, which is all an HTTP validator needs; callers wanting
// a content checksum compute it themselves while uploading.
type Local struct {
	dir string
	tmp string
}

var _ Store = (*Local)(nil)

// NewLocal opens (creating if needed) the store rooted at cfg.Dir. It removes
// the staging files crashed writes left behind (see Sweep).
func NewLocal(cfg LocalConfig) (*Local, error) {
	if cfg.Dir == "" {
		return nil, errors.New("storage local: Dir is empty")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("storage local: %w", err)
	}
	tmp := filepath.Join(dir, localTmpDir)
	if err := os.MkdirAll(tmp, localDirPerm); err != nil {
		return nil, fmt.Errorf("storage local: create directory: %w", err)
	}
	l := &Local{dir: dir, tmp: tmp}
	age := cfg.StaleTmpAge
	if age <= 0 {
		age = defaultStaleTmpAge
	}
	// Best effort: what is left now is swept again by the platform's loop.
	_, _ = l.Sweep(context.Background(), age)
	return l, nil
}

// Sweep removes the staging files last written more than olderThan ago and
// reports how many it removed. A write in progress rewrites its file's
// modification time with every chunk it stores, so only the files of writes
// that died with their process (kill -9, power loss) grow that old; the
// deferred clean-up of a failed Put covers everything else. Several
// processes sharing the directory may sweep it at once.
func (l *Local) Sweep(ctx context.Context, olderThan time.Duration) (int, error) {
	entries, err := os.ReadDir(l.tmp)
	if err != nil {
		return 0, fmt.Errorf("storage sweep: %w", withoutPath(err))
	}
	cutoff := time.Now().Add(-olderThan)
	removed := 0
	var errs []error
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return removed, fmt.Errorf("storage sweep: %w", err)
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || !info.ModTime().Before(cutoff) {
			continue // gone meanwhile, not ours, or still being written
		}
		switch err := os.Remove(filepath.Join(l.tmp, e.Name())); {
		case err == nil:
			removed++
		case !isNotFound(err):
			errs = append(errs, withoutPath(err))
		}
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("storage sweep: %d staging files could not be removed: %w", len(errs), errors.Join(errs...))
	}
	return removed, nil
}

func (l *Local) path(key string) string {
	return filepath.Join(l.dir, filepath.FromSlash(key))
}

// Put stages the body in <Dir>/.tmp, fsyncs it, then renames it into place,
// so readers and crashes never observe a partial file.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, size int64, _ string) (Object, error) {
	if err := ValidKey(key); err != nil {
		return Object{}, fmt.Errorf("storage put: %w", err)
	}
	obj, err := l.put(ctx, key, r, size)
	if err != nil {
		return Object{}, fmt.Errorf("storage put %s: %w", key, err)
	}
	return obj, nil
}

func (l *Local) put(ctx context.Context, key string, r io.Reader, size int64) (obj Object, err error) {
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	f, err := os.CreateTemp(l.tmp, "put-*")
	if err != nil {
		return Object{}, err
	}
	tmpName := f.Name()
	defer func() {
		if f != nil {
			_ = f.Close()
		}
		if err != nil {
			_ = os.Remove(tmpName)
		}
	}()
	if err := f.Chmod(localFilePerm); err != nil {
		return Object{}, err
	}
	body := newSizedReader(ctx, r, size)
	if _, err := io.Copy(f, body); err != nil {
		return Object{}, err
	}
	if err := body.complete(); err != nil {
		return Object{}, err
	}
	if err := f.Sync(); err != nil {
		return Object{}, err
	}
	if err := f.Close(); err != nil {
		f = nil
		return Object{}, err
	}
	f = nil
	// Last chance to honour cancellation before the object becomes visible.
	if err := ctx.Err(); err != nil {
		return Object{}, err
	}
	dst := l.path(key)
	parent := filepath.Dir(dst)
	if err := os.MkdirAll(parent, localDirPerm); err != nil {
		return Object{}, err
	}
	if err := os.Rename(tmpName, dst); err != nil {
		return Object{}, err
	}
	syncDir(parent)
	info, err := os.Stat(dst)
	if err != nil {
		return Object{}, err
	}
	return localObject(key, info), nil
}

// syncDir makes a rename durable. Best effort: some filesystems refuse to
// fsync directories, and the file itself is already synced.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

func localObject(key string, info fs.FileInfo) Object {
	return Object{
		Key:     key,
		Size:    info.Size(),
		ModTime: info.ModTime(),
		ETag:    strconv.FormatInt(info.Size(), 16) + "-" + strconv.FormatInt(info.ModTime().UnixNano(), 16),
	}
}

// isNotFound treats a missing file, and a path through a file where a
// directory was expected, as a missing object.
func isNotFound(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// Stat describes key from the file's metadata.
func (l *Local) Stat(_ context.Context, key string) (Object, error) {
	if err := ValidKey(key); err != nil {
		return Object{}, fmt.Errorf("storage stat: %w", err)
	}
	info, err := os.Stat(l.path(key))
	switch {
	case isNotFound(err):
		return Object{}, fmt.Errorf("storage stat %s: %w", key, ErrNotFound)
	case err != nil:
		return Object{}, fmt.Errorf("storage stat %s: %w", key, err)
	case !info.Mode().IsRegular():
		// A key prefix (directory) is not an object.
		return Object{}, fmt.Errorf("storage stat %s: %w", key, ErrNotFound)
	}
	return localObject(key, info), nil
}

// Open opens the file holding key. The returned Reader implements
// io.WriterTo through *os.File, so io.Copy to a TCP connection uses sendfile,
// and File gives the *os.File itself.
func (l *Local) Open(_ context.Context, key string) (Reader, error) {
	if err := ValidKey(key); err != nil {
		return nil, fmt.Errorf("storage open: %w", err)
	}
	f, err := os.Open(l.path(key))
	if isNotFound(err) {
		return nil, fmt.Errorf("storage open %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("storage open %s: %w", key, err)
	}
	info, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("storage open %s: %w", key, err)
	}
	if !info.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("storage open %s: %w", key, ErrNotFound)
	}
	return &LocalReader{f: f, obj: localObject(key, info)}, nil
}

// LocalReader is the Reader Local.Open returns. It exposes the underlying
// file (File, WriteTo) so that serving can go through the kernel's zero-copy
// paths instead of copying through user space.
type LocalReader struct {
	f   *os.File
	obj Object
}

var _ Reader = (*LocalReader)(nil)

// Read reads from the current offset.
func (r *LocalReader) Read(p []byte) (int, error) { return r.f.Read(p) }

// ReadAt reads at an offset without moving the current one; safe for
// concurrent use.
func (r *LocalReader) ReadAt(p []byte, off int64) (int, error) { return r.f.ReadAt(p, off) }

// Seek moves the current offset.
func (r *LocalReader) Seek(offset int64, whence int) (int64, error) { return r.f.Seek(offset, whence) }

// Close closes the file.
func (r *LocalReader) Close() error { return r.f.Close() }

// WriteTo lets io.Copy hand the file to the destination's zero-copy path
// (sendfile/splice to sockets on Linux).
func (r *LocalReader) WriteTo(w io.Writer) (int64, error) { return r.f.WriteTo(w) }

// File returns the open file, for APIs that want an *os.File.
func (r *LocalReader) File() *os.File { return r.f }

// Object describes the opened object as it was when opened.
func (r *LocalReader) Object() Object { return r.obj }

// Delete removes the file. Empty parent directories are kept: removing them
// would race with a concurrent Put creating a file in them.
func (l *Local) Delete(_ context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return fmt.Errorf("storage delete: %w", err)
	}
	p := l.path(key)
	info, err := os.Lstat(p)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage delete %s: %w", key, err)
	}
	if info.IsDir() {
		// A key prefix is not an object: nothing to delete.
		return nil
	}
	if err := os.Remove(p); err != nil && !isNotFound(err) {
		return fmt.Errorf("storage delete %s: %w", key, err)
	}
	return nil
}

// LocalPath returns the absolute path of key's file.
func (l *Local) LocalPath(key string) (string, bool) {
	if ValidKey(key) != nil {
		return "", false
	}
	return l.path(key), true
}

// PresignGet is not supported: a local file has no URL of its own; serve it
// through the API (LocalPath).
func (l *Local) PresignGet(_ context.Context, key string, _ time.Duration, _ string) (string, error) {
	return "", fmt.Errorf("storage presign %s: %w", key, ErrNotSupported)
}

// Ping checks that the directory still accepts writes, which is what fails
// in practice (disk full, read-only remount, unmounted volume).
func (l *Local) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("storage ping: %w", err)
	}
	f, err := os.CreateTemp(l.tmp, "ping-*")
	if err != nil {
		return fmt.Errorf("storage ping: %w", withoutPath(err))
	}
	name := f.Name()
	_ = f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("storage ping: %w", withoutPath(err))
	}
	return nil
}

// withoutPath drops the file path from err: Ping's error is shown by /readyz,
// and responses must not reveal server paths.
func withoutPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
