package storage

import (
	"context"
	"io"
	"strings"
	"time"
)

// Scoped returns the part of s under "<prefix>/": keys given to it are
// relative to that folder, and the objects it reports carry them back in
// that form. The platform gives each module a Store scoped to its name, so
// no module can read, overwrite or delete another's files; what one module
// offers of its files to another goes through an interface it exports.
func Scoped(s Store, prefix string) Store {
	return &scoped{base: s, prefix: strings.Trim(prefix, "/") + "/"}
}

type scoped struct {
	base   Store
	prefix string
}

func (s *scoped) full(key string) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", err
	}
	return s.prefix + key, nil
}

func (s *scoped) strip(o Object) Object {
	o.Key = strings.TrimPrefix(o.Key, s.prefix)
	return o
}

func (s *scoped) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Object, error) {
	k, err := s.full(key)
	if err != nil {
		return Object{}, err
	}
	o, err := s.base.Put(ctx, k, r, size, contentType)
	return s.strip(o), err
}

func (s *scoped) Stat(ctx context.Context, key string) (Object, error) {
	k, err := s.full(key)
	if err != nil {
		return Object{}, err
	}
	o, err := s.base.Stat(ctx, k)
	return s.strip(o), err
}

func (s *scoped) Open(ctx context.Context, key string) (Reader, error) {
	k, err := s.full(key)
	if err != nil {
		return nil, err
	}
	r, err := s.base.Open(ctx, k)
	if err != nil {
		return nil, err
	}
	return scopedReader{Reader: r, obj: s.strip(r.Object())}, nil
}

func (s *scoped) Delete(ctx context.Context, key string) error {
	k, err := s.full(key)
	if err != nil {
		return err
	}
	return s.base.Delete(ctx, k)
}

func (s *scoped) LocalPath(key string) (string, bool) {
	k, err := s.full(key)
	if err != nil {
		return "", false
	}
	return s.base.LocalPath(k)
}

func (s *scoped) PresignGet(ctx context.Context, key string, ttl time.Duration, filename string) (string, error) {
	k, err := s.full(key)
	if err != nil {
		return "", err
	}
	return s.base.PresignGet(ctx, k, ttl, filename)
}

func (s *scoped) Ping(ctx context.Context) error { return s.base.Ping(ctx) }

type scopedReader struct {
	Reader
	obj Object
}

func (r scopedReader) Object() Object { return r.obj }
