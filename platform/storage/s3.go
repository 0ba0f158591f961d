package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

const (
	// s3PartSize bounds the memory one upload of unknown (or large) size
	// takes: minio-go buffers one part at a time. 16 MiB × S3's 10,000 parts
	// allows objects up to about 156 GiB.
	s3PartSize = 16 << 20
	// s3StartupTimeout bounds bucket creation in NewS3, which has no context.
	s3StartupTimeout = 30 * time.Second
	// maxPresignTTL is S3's limit for SigV4 presigned URLs.
	maxPresignTTL = 7 * 24 * time.Hour
)

// S3Config configures the S3-compatible store (AWS S3, MinIO, Ceph RGW,
// Cloudflare R2, ...).
type S3Config struct {
	// Endpoint is host[:port], without scheme ("s3.eu-west-1.amazonaws.com",
	// "minio:9000").
	Endpoint string
	Bucket   string
	// Region is the bucket's region; when empty the client asks the store
	// once per bucket (one extra request at first use).
	Region    string
	AccessKey string
	// SecretKey never appears in errors or logs.
	SecretKey string
	// UseSSL selects https.
	UseSSL bool
	// PathStyle addresses the bucket as endpoint/bucket instead of
	// bucket.endpoint; MinIO and most self-hosted stores need it.
	PathStyle bool
	// CreateBucket creates the bucket at start-up if it is missing, for
	// development and tests; production buckets are provisioned with their
	// policies and lifecycle rules beforehand.
	CreateBucket bool
}

// S3 stores objects in one bucket of an S3-compatible store, so that every
// API process sees the same files and clients can download directly through
// presigned URLs.
//
// minio-go aborts a failed multipart upload (detached from the caller's
// context, so a cancelled upload is aborted too), but a crash or an
// unreachable store still leaves invisible parts that take space: give the
// bucket a lifecycle rule that aborts incomplete multipart uploads after a
// day.
type S3 struct {
	client *minio.Client
	bucket string
}

var _ Store = (*S3)(nil)

// NewS3 returns the S3 store for cfg, creating the bucket when
// cfg.CreateBucket is set. Apart from that it does not contact the store:
// Ping does, so a store that is down delays readiness instead of start-up.
func NewS3(cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("storage s3: Endpoint is empty")
	}
	if cfg.Bucket == "" {
		return nil, errors.New("storage s3: Bucket is empty")
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       cfg.UseSSL,
		Region:       cfg.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		// minio.New's errors are about the endpoint; it never echoes keys.
		return nil, fmt.Errorf("storage s3: %w", err)
	}
	s := &S3{client: client, bucket: cfg.Bucket}
	if cfg.CreateBucket {
		ctx, cancel := context.WithTimeout(context.Background(), s3StartupTimeout)
		defer cancel()
		if err := s.ensureBucket(ctx, cfg.Region); err != nil {
			return nil, fmt.Errorf("storage s3: create bucket %s: %w", cfg.Bucket, err)
		}
	}
	return s, nil
}

func (s *S3) ensureBucket(ctx context.Context, region string) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return err
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.bucket, minio.MakeBucketOptions{Region: region})
	if code := minio.ToErrorResponse(err).Code; code == minio.BucketAlreadyOwnedByYou || code == "BucketAlreadyExists" {
		// Another process created it between our check and our request.
		return nil
	}
	return err
}

// mapS3Err turns the store's "no such key" into ErrNotFound.
func mapS3Err(err error) error {
	if err == nil {
		return nil
	}
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, "NotFound":
		return fmt.Errorf("%w (%v)", ErrNotFound, err)
	}
	return err
}

func s3Object(info minio.ObjectInfo) Object {
	return Object{
		Key:         info.Key,
		Size:        info.Size,
		ModTime:     info.LastModified,
		ETag:        info.ETag,
		ContentType: info.ContentType,
	}
}

// Put uploads with a single streamed PUT when size is known and at most one
// part, and as a multipart upload otherwise (size -1 or large), buffering one
// 16 MiB part at a time. S3 makes an object visible only when its PUT or its
// multipart upload completes, so failures leave nothing under key.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (Object, error) {
	if err := ValidKey(key); err != nil {
		return Object{}, fmt.Errorf("storage put: %w", err)
	}
	body := newSizedReader(ctx, r, size)
	if size == 0 {
		// minio-go sends no body for size 0 and so never reads r: check
		// here that it is really empty.
		if err := body.complete(); err != nil {
			return Object{}, fmt.Errorf("storage put %s: %w", key, err)
		}
	}
	if size < 0 {
		size = -1
	}
	info, err := s.client.PutObject(ctx, s.bucket, key, body, size, minio.PutObjectOptions{
		ContentType: contentType,
		PartSize:    s3PartSize,
		// Send UNSIGNED-PAYLOAD instead of aws-chunked streaming signatures.
		// Over https minio-go does so anyway; this makes plain-http endpoints
		// behave the same, and not every S3-compatible store decodes
		// aws-chunked bodies (gofakes3 stores multipart parts with the chunk
		// framing still in them).
		DisableContentSha256: true,
	})
	if err == nil {
		err = body.complete()
		if err != nil {
			// Defensive: the client stored a body that did not match. Do not
			// leave it under key.
			_ = s.client.RemoveObject(context.WithoutCancel(ctx), s.bucket, key, minio.RemoveObjectOptions{})
		}
	}
	if err != nil {
		if body.err != nil {
			// The body's own failure (size mismatch, cancellation) is the
			// cause, whatever the client wrapped it in.
			err = body.err
		}
		return Object{}, fmt.Errorf("storage put %s: %w", key, err)
	}
	// Read the object back for the same ModTime/ETag/ContentType that Stat
	// will report; the upload response lacks some of them.
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Object{Key: key, Size: info.Size, ModTime: info.LastModified, ETag: info.ETag, ContentType: contentType}, nil
	}
	return s3Object(st), nil
}

// Stat describes key with a HEAD request.
func (s *S3) Stat(ctx context.Context, key string) (Object, error) {
	if err := ValidKey(key); err != nil {
		return Object{}, fmt.Errorf("storage stat: %w", err)
	}
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Object{}, fmt.Errorf("storage stat %s: %w", key, mapS3Err(err))
	}
	return s3Object(info), nil
}

// Open starts a GET for key. The returned reader seeks and reads at offsets
// by issuing ranged GETs, so serving a Range request downloads only that
// range. It is bound to ctx: cancel ctx or Close the reader to release it.
func (s *S3) Open(ctx context.Context, key string) (Reader, error) {
	if err := ValidKey(key); err != nil {
		return nil, fmt.Errorf("storage open: %w", err)
	}
	o, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("storage open %s: %w", key, mapS3Err(err))
	}
	// GetObject is lazy; Stat sends the request, so a missing key fails here
	// rather than at the first Read.
	info, err := o.Stat()
	if err != nil {
		_ = o.Close()
		return nil, fmt.Errorf("storage open %s: %w", key, mapS3Err(err))
	}
	obj := s3Object(info)
	obj.Key = key
	return &s3Reader{o: o, obj: obj}, nil
}

// s3Reader adapts minio's *Object (which already reads, seeks and reads at
// offsets) to Reader.
type s3Reader struct {
	o   *minio.Object
	obj Object
}

func (r *s3Reader) Read(p []byte) (int, error)                { return r.o.Read(p) }
func (r *s3Reader) Seek(off int64, whence int) (int64, error) { return r.o.Seek(off, whence) }
func (r *s3Reader) Close() error                              { return r.o.Close() }
func (r *s3Reader) Object() Object                            { return r.obj }

// ReadAt fills p completely unless the object ends first, as io.ReaderAt
// requires.
func (r *s3Reader) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.o.ReadAt(p[n:], off+int64(n))
		n += m
		if err != nil {
			if err == io.EOF && n == len(p) {
				return n, nil
			}
			return n, err
		}
		if m == 0 {
			return n, io.ErrNoProgress
		}
	}
	return n, nil
}

// Delete removes key; S3 reports success for a missing key, which is the
// idempotence Store promises.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return fmt.Errorf("storage delete: %w", err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if errors.Is(mapS3Err(err), ErrNotFound) {
			return nil
		}
		return fmt.Errorf("storage delete %s: %w", key, err)
	}
	return nil
}

// LocalPath reports false: S3 objects have no local file.
func (s *S3) LocalPath(string) (string, bool) { return "", false }

// PresignGet signs a GET URL locally (no request to the store when Region is
// set). filename is passed as response-content-disposition, encoded per
// RFC 2231/6266 so non-ASCII names survive.
func (s *S3) PresignGet(ctx context.Context, key string, ttl time.Duration, filename string) (string, error) {
	if err := ValidKey(key); err != nil {
		return "", fmt.Errorf("storage presign: %w", err)
	}
	if ttl < time.Second || ttl > maxPresignTTL {
		return "", fmt.Errorf("storage presign %s: ttl %s outside [1s, 7d]", key, ttl)
	}
	params := url.Values{}
	if filename != "" {
		cd := mime.FormatMediaType("attachment", map[string]string{"filename": filename})
		if cd == "" {
			cd = "attachment"
		}
		params.Set("response-content-disposition", cd)
	}
	u, err := s.client.PresignedGetObject(ctx, s.bucket, key, ttl, params)
	if err != nil {
		return "", fmt.Errorf("storage presign %s: %w", key, err)
	}
	return u.String(), nil
}

// Ping checks that the bucket exists and the credentials reach it.
func (s *S3) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("storage ping: %w", err)
	}
	if !ok {
		return fmt.Errorf("storage ping: bucket %s does not exist", s.bucket)
	}
	return nil
}
