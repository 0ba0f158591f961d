// Package storage is where uploaded files live. One interface, Store, has two
// implementations: Local (a directory on local disk, the default for a single
// API process and for development) and S3 (any S3-compatible object store, for
// deployments that run several API processes, which must all see the same
// files).
//
// Callers address objects by key: a relative, slash-separated path made of
// server-chosen ids (never a client's file name), so that the same key is
// valid, safe and identical on every backend. Metadata the caller needs later
// (original file name, content type, owner) belongs in the caller's database,
// not in the store.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Errors callers branch on; every error a Store returns wraps one of these
// when it applies, so test them with errors.Is.
var (
	// ErrNotFound means the key holds no object: map it to 404 rather than 500.
	ErrNotFound = errors.New("storage: object not found")
	// ErrNotSupported means the backend cannot do what was asked (for example
	// a presigned URL from local disk): fall back to streaming through the API.
	ErrNotSupported = errors.New("storage: not supported by this backend")
	// ErrInvalidKey means the key is not of the form ValidKey accepts. It is a
	// programming error in the caller, since keys are built from ids.
	ErrInvalidKey = errors.New("storage: invalid key")
	// ErrSizeMismatch means Put was told a size and the reader delivered fewer
	// or more bytes: the client sent a body that does not match its declared
	// length, which is a 400, not a 500. Nothing is stored.
	ErrSizeMismatch = errors.New("storage: size mismatch")
)

// MaxKeyLen bounds keys well below S3's 1024-byte limit and the usual
// 4096-byte path limit, so that a key valid here is valid on every backend.
const MaxKeyLen = 512

// Object describes a stored object, as Put, Stat and Reader.Object report it.
type Object struct {
	Key  string
	Size int64
	// ModTime is when the object was last written.
	ModTime time.Time
	// ETag is an opaque, unquoted validator that changes whenever the object
	// is rewritten; suitable for HTTP ETag/If-None-Match (quote it there). It
	// is not a content hash on every backend: Local derives it from size and
	// modification time, S3 returns the store's own ETag (an MD5 for single
	// PUTs, something else for multipart uploads).
	ETag string
	// ContentType is what S3 stored with the object; Local stores none and
	// reports "" (the caller keeps the type in its own database).
	ContentType string
}

// Reader is an opened object. It is seekable and readable at offsets so the
// HTTP layer can serve Range requests without downloading the whole object.
// Close it when done.
type Reader interface {
	io.ReadSeekCloser
	io.ReaderAt
	// Object describes what is being read, so serving needs no extra Stat.
	Object() Object
}

// Store is where uploaded files live. Implementations are safe for concurrent
// use by multiple goroutines (and, sharing one directory or bucket, by
// several processes).
type Store interface {
	// Put streams r to key without holding it in memory and returns the
	// stored object. size is the exact length when known (a mismatch fails
	// with ErrSizeMismatch), or -1 when unknown (the caller bounds it, for
	// example with io.LimitReader). The write is atomic: a failed or
	// cancelled Put leaves nothing under key (an existing object is kept), and
	// readers never see a partial object. An existing object is replaced.
	// Cancellation is observed between reads of r; a reader that blocks
	// forever must be unblocked by its owner (an HTTP body closes when the
	// client goes away).
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Object, error)
	// Stat describes key, or returns ErrNotFound.
	Stat(ctx context.Context, key string) (Object, error)
	// Open opens key for reading, or returns ErrNotFound.
	Open(ctx context.Context, key string) (Reader, error)
	// Delete removes key. Deleting a missing key is not an error, so that a
	// retried cleanup job succeeds.
	Delete(ctx context.Context, key string) error
	// LocalPath returns the file holding key when the store is local, so the
	// HTTP layer can serve it with sendfile and Range support (Fiber's
	// SendFile). ok is false for remote stores and for invalid keys. The path
	// exists only if the object does.
	LocalPath(key string) (path string, ok bool)
	// PresignGet returns a URL, valid for ttl, from which a client downloads
	// key directly from the store, sparing the API process the bytes. A
	// non-empty filename makes the download an attachment under that name;
	// "" leaves it inline. Local returns ErrNotSupported.
	PresignGet(ctx context.Context, key string, ttl time.Duration, filename string) (string, error)
	// Ping reports whether the store is usable, for /readyz.
	Ping(ctx context.Context) error
}

// Sweeper is implemented by stores that stage writes in files of their own
// (Local): Sweep removes the staging files abandoned by writes that died with
// their process. The platform runs it periodically in every process. S3
// does not implement it: a bucket lifecycle rule aborts its incomplete
// multipart uploads.
type Sweeper interface {
	// Sweep removes staging files untouched for longer than olderThan and
	// reports how many it removed.
	Sweep(ctx context.Context, olderThan time.Duration) (removed int, err error)
}

var _ Sweeper = (*Local)(nil)

// Config selects and configures a Store, so that deployments switch backends
// by configuration alone.
type Config struct {
	// Driver is "local" (the default when empty) or "s3".
	Driver string
	Local  LocalConfig
	S3     S3Config
}

// New returns the Store that cfg.Driver names.
func New(cfg Config) (Store, error) {
	switch cfg.Driver {
	case "", "local":
		return NewLocal(cfg.Local)
	case "s3":
		return NewS3(cfg.S3)
	default:
		return nil, fmt.Errorf("storage: unknown driver %q (want \"local\" or \"s3\")", cfg.Driver)
	}
}

// ValidKey reports whether key can name an object: a relative path of
// slash-separated segments made of [a-z0-9._-], none empty, none starting
// with "." (which rules out "." and ".." and keeps the local store's ".tmp"
// staging directory out of reach), no ".." anywhere, at most MaxKeyLen bytes. Keys are built by
// the server from ids, never from client-supplied names, so this is strict on
// purpose: the same key is then safe as a file path, portable across
// backends, and needs no escaping in URLs.
func ValidKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %d bytes, over %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	segStart := true
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '/':
			if segStart {
				return fmt.Errorf("%w: %s: empty segment", ErrInvalidKey, quoteKey(key))
			}
			segStart = true
			continue
		case c == '.':
			if segStart {
				return fmt.Errorf("%w: %s: segment starts with '.'", ErrInvalidKey, quoteKey(key))
			}
			if key[i-1] == '.' {
				return fmt.Errorf("%w: %s: contains \"..\"", ErrInvalidKey, quoteKey(key))
			}
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return fmt.Errorf("%w: %s: character %q not in [a-z0-9._-]", ErrInvalidKey, quoteKey(key), c)
		}
		segStart = false
	}
	if segStart {
		return fmt.Errorf("%w: %s: empty segment", ErrInvalidKey, quoteKey(key))
	}
	return nil
}

// quoteKey quotes a key for an error message, truncated so that an oversized
// or hostile key cannot bloat logs.
func quoteKey(key string) string {
	const max = 64
	if len(key) > max {
		return fmt.Sprintf("%q...", key[:max])
	}
	return fmt.Sprintf("%q", key)
}

// sizedReader wraps the body given to Put: it stops at ctx cancellation and,
// when want >= 0, fails with ErrSizeMismatch as soon as the body turns out
// shorter or longer than announced. It checks for excess bytes at the moment
// the announced size is reached, before handing over the last bytes, because
// consumers such as minio-go (and net/http under it) stop reading once they
// have size bytes and would otherwise never notice.
type sizedReader struct {
	ctx  context.Context
	r    io.Reader
	want int64 // -1: unknown
	n    int64
	eof  bool  // the underlying reader reported EOF
	err  error // sticky failure
}

func newSizedReader(ctx context.Context, r io.Reader, size int64) *sizedReader {
	if size < 0 {
		size = -1
	}
	return &sizedReader{ctx: ctx, r: r, want: size}
}

func (s *sizedReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	if s.eof {
		return 0, io.EOF
	}
	if s.want >= 0 {
		rem := s.want - s.n
		if rem == 0 {
			if err := s.probeEOF(); err != nil {
				return 0, err
			}
			return 0, io.EOF
		}
		if int64(len(p)) > rem {
			p = p[:rem]
		}
	}
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err == io.EOF {
		s.eof = true
		if s.want >= 0 && s.n < s.want {
			s.err = fmt.Errorf("%w: body ended after %d bytes, want %d", ErrSizeMismatch, s.n, s.want)
			return n, s.err
		}
		return n, io.EOF
	}
	if err != nil {
		s.err = err
		return n, err
	}
	if s.want >= 0 && s.n == s.want {
		if perr := s.probeEOF(); perr != nil {
			// Withhold these last bytes: a consumer that already sent
			// Content-Length: want would otherwise have delivered a complete
			// request before seeing the error.
			return 0, perr
		}
		return n, io.EOF
	}
	return n, nil
}

// probeEOF checks, once the announced size has been read, that the body has
// nothing more.
func (s *sizedReader) probeEOF() error {
	if s.eof {
		return nil
	}
	var b [1]byte
	for range 100 {
		n, err := s.r.Read(b[:])
		if n > 0 {
			s.err = fmt.Errorf("%w: body longer than %d bytes", ErrSizeMismatch, s.want)
			return s.err
		}
		if err == io.EOF {
			s.eof = true
			return nil
		}
		if err != nil {
			s.err = err
			return err
		}
	}
	s.err = io.ErrNoProgress
	return s.err
}

// complete reports whether the whole body was consumed and matched the
// announced size: a last check before an upload is declared good.
func (s *sizedReader) complete() error {
	if s.err != nil {
		return s.err
	}
	if s.want >= 0 {
		if s.n != s.want {
			return fmt.Errorf("%w: stored %d bytes, want %d", ErrSizeMismatch, s.n, s.want)
		}
		return s.probeEOF()
	}
	return nil
}
