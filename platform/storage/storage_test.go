package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
)

const (
	testBucket = "veza-test"
	testSecret = "test-secret-key-must-not-leak"
)

// backend is one Store implementation under the shared conformance suite.
type backend struct {
	name  string
	local bool
	// bigSize is the streamed-upload size. The local store is checked with
	// 64 MiB and a heap bound; the fake S3 server keeps every object (and
	// every multipart part) in its own memory, in this process, so the S3
	// case uses a smaller object and asserts correctness only.
	bigSize   int64
	checkHeap bool
	// open returns a fresh, empty store. stop (S3) shuts its server down.
	open func(t *testing.T) (s Store, stop func())
}

var backends = []backend{
	{name: "local", local: true, bigSize: 64 << 20, checkHeap: true, open: openLocal},
	{name: "s3", bigSize: 24 << 20, open: openFakeS3},
}

func openLocal(t *testing.T) (Store, func()) {
	t.Helper()
	s, err := NewLocal(LocalConfig{Dir: filepath.Join(t.TempDir(), "files")})
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	return s, func() {}
}

func openFakeS3(t *testing.T) (Store, func()) {
	t.Helper()
	ts := httptest.NewUnstartedServer(gofakes3.New(s3mem.New()).Server())
	// gofakes3 writes some error statuses twice; net/http would log each.
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.Start()
	t.Cleanup(ts.Close)
	u, err := url.Parse(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewS3(S3Config{
		Endpoint:     u.Host,
		Bucket:       testBucket,
		Region:       "us-east-1",
		AccessKey:    "test-access",
		SecretKey:    testSecret,
		PathStyle:    true,
		CreateBucket: true,
	})
	if err != nil {
		t.Fatalf("NewS3: %v", err)
	}
	return s, ts.Close
}

// TestConformance runs the same behavioural suite against every backend.
func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, b) })
			t.Run("ReadAtSeek", func(t *testing.T) { testReadAtSeek(t, b) })
			t.Run("Overwrite", func(t *testing.T) { testOverwrite(t, b) })
			t.Run("Empty", func(t *testing.T) { testEmpty(t, b) })
			t.Run("BigKnownSize", func(t *testing.T) { testBig(t, b, true) })
			t.Run("BigUnknownSize", func(t *testing.T) { testBig(t, b, false) })
			t.Run("SizeMismatch", func(t *testing.T) { testSizeMismatch(t, b) })
			t.Run("NotFound", func(t *testing.T) { testNotFound(t, b) })
			t.Run("Delete", func(t *testing.T) { testDelete(t, b) })
			t.Run("InvalidKeys", func(t *testing.T) { testInvalidKeys(t, b) })
			t.Run("LocalPath", func(t *testing.T) { testLocalPath(t, b) })
			t.Run("PresignGet", func(t *testing.T) { testPresign(t, b) })
			t.Run("Cancel", func(t *testing.T) { testCancel(t, b) })
			t.Run("Ping", func(t *testing.T) { testPing(t, b) })
		})
	}
}

// content returns n deterministic pseudo-random bytes.
func content(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func put(t *testing.T, s Store, key string, data []byte, contentType string) Object {
	t.Helper()
	obj, err := s.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), contentType)
	if err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
	return obj
}

func readAll(t *testing.T, s Store, key string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open %s: %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func sameObject(t *testing.T, what string, got, want Object) {
	t.Helper()
	if got.Key != want.Key || got.Size != want.Size || got.ETag != want.ETag ||
		!got.ModTime.Equal(want.ModTime) || got.ContentType != want.ContentType {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

func assertAbsent(t *testing.T, s Store, key string) {
	t.Helper()
	if _, err := s.Stat(context.Background(), key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Stat %s after failed Put: err = %v, want ErrNotFound", key, err)
	}
	switch s := s.(type) {
	case *Local:
		entries, err := os.ReadDir(s.tmp)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			t.Errorf("staging file left behind: %s", e.Name())
		}
	case *S3:
		// minio-go aborts a failed multipart upload, even after the
		// caller's context was cancelled: no parts stay behind.
		for u := range s.client.ListIncompleteUploads(context.Background(), testBucket, key, false) {
			if minio.ToErrorResponse(u.Err).Code == "NoSuchUpload" {
				// gofakes3 answers this for a bucket that never had a
				// multipart upload, instead of an empty list.
				break
			}
			if u.Err != nil {
				t.Fatalf("list multipart uploads: %v", u.Err)
			}
			t.Errorf("multipart upload %s of %s left behind", u.UploadID, u.Key)
		}
	}
}

func testRoundTrip(t *testing.T, b backend) {
	s, _ := b.open(t)
	ctx := context.Background()
	data := content(300_000)
	key := "tracks/0f/0f3c9a-orig.mp3"
	obj := put(t, s, key, data, "audio/mpeg")

	wantType := "audio/mpeg"
	if b.local {
		wantType = ""
	}
	if obj.Key != key || obj.Size != int64(len(data)) || obj.ETag == "" || obj.ModTime.IsZero() || obj.ContentType != wantType {
		t.Fatalf("Put returned %+v", obj)
	}
	if strings.Contains(obj.ETag, `"`) {
		t.Errorf("ETag %q is quoted", obj.ETag)
	}
	st, err := s.Stat(ctx, key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	sameObject(t, "Stat", st, obj)

	r, err := s.Open(ctx, key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	sameObject(t, "Reader.Object", r.Object(), obj)
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, differing from the %d written", len(got), len(data))
	}
}

func testReadAtSeek(t *testing.T, b backend) {
	s, _ := b.open(t)
	data := content(100_000)
	size := int64(len(data))
	put(t, s, "a/b", data, "")
	r, err := s.Open(context.Background(), "a/b")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	// Sequential read, then ReadAt elsewhere must not move the offset.
	p := make([]byte, 10)
	if _, err := io.ReadFull(r, p); err != nil || !bytes.Equal(p, data[:10]) {
		t.Fatalf("first Read: %v", err)
	}
	q := make([]byte, 4096)
	if n, err := r.ReadAt(q, 50_000); n != len(q) || err != nil || !bytes.Equal(q, data[50_000:54_096]) {
		t.Fatalf("ReadAt(50000) = %d, %v", n, err)
	}
	if _, err := io.ReadFull(r, p); err != nil || !bytes.Equal(p, data[10:20]) {
		t.Fatalf("Read after ReadAt did not continue at offset 10: %v", err)
	}
	// ReadAt across the end: short count and io.EOF.
	if n, err := r.ReadAt(q[:10], size-4); n != 4 || err != io.EOF || !bytes.Equal(q[:4], data[size-4:]) {
		t.Fatalf("ReadAt(size-4) = %d, %v; want 4, EOF", n, err)
	}

	for _, tc := range []struct {
		off    int64
		whence int
		want   int64
	}{
		{1234, io.SeekStart, 1234},
		{100, io.SeekCurrent, 1334},
		{-16, io.SeekEnd, size - 16},
		{0, io.SeekStart, 0},
	} {
		pos, err := r.Seek(tc.off, tc.whence)
		if err != nil || pos != tc.want {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d", tc.off, tc.whence, pos, err, tc.want)
		}
		if _, err := io.ReadFull(r, p[:8]); err != nil || !bytes.Equal(p[:8], data[tc.want:tc.want+8]) {
			t.Fatalf("Read after Seek to %d: %v", tc.want, err)
		}
		if _, err := r.Seek(-8, io.SeekCurrent); err != nil {
			t.Fatalf("Seek back: %v", err)
		}
	}
	if _, err := r.Seek(-10, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(rest, data[size-10:]) {
		t.Fatalf("ReadAll from size-10 = %d bytes, %v", len(rest), err)
	}
}

func testOverwrite(t *testing.T, b backend) {
	s, _ := b.open(t)
	put(t, s, "x", content(5000), "")
	second := content(7000)
	obj := put(t, s, "x", second, "")
	st, err := s.Stat(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	sameObject(t, "Stat after overwrite", st, obj)
	if st.Size != 7000 || !bytes.Equal(readAll(t, s, "x"), second) {
		t.Fatal("overwrite did not replace the content")
	}
}

func testEmpty(t *testing.T, b backend) {
	s, _ := b.open(t)
	obj := put(t, s, "empty", nil, "")
	if obj.Size != 0 {
		t.Fatalf("size = %d", obj.Size)
	}
	if got := readAll(t, s, "empty"); len(got) != 0 {
		t.Fatalf("read %d bytes", len(got))
	}
	// Size 0 announced, bytes sent: refused even though the S3 client would
	// not read the body at all.
	_, err := s.Put(context.Background(), "notempty", strings.NewReader("x"), 0, "")
	if !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("Put size 0 with a body: %v, want ErrSizeMismatch", err)
	}
	assertAbsent(t, s, "notempty")
}

// genReader yields n deterministic bytes without holding them: a 65521-byte
// (prime) pattern repeated, so that misplaced or repeated parts change the
// hash. It hashes what it yields and samples the heap every 4 MiB.
type genReader struct {
	n, off  int64
	pattern []byte
	h       hash.Hash
	sample  func()
	nextS   int64
}

func newGenReader(n int64, sample func()) *genReader {
	return &genReader{n: n, pattern: content(65521), h: sha256.New(), sample: sample}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	if rem := g.n - g.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	n := 0
	for n < len(p) {
		i := int((g.off + int64(n)) % int64(len(g.pattern)))
		n += copy(p[n:], g.pattern[i:])
	}
	g.h.Write(p)
	g.off += int64(n)
	if g.sample != nil && g.off >= g.nextS {
		g.sample()
		g.nextS += 4 << 20
	}
	return n, nil
}

func testBig(t *testing.T, b backend, knownSize bool) {
	s, _ := b.open(t)
	ctx := context.Background()
	var base, peak uint64
	var ms runtime.MemStats
	sample := func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base = ms.HeapInuse

	gen := newGenReader(b.bigSize, sample)
	size := b.bigSize
	if !knownSize {
		size = -1
	}
	obj, err := s.Put(ctx, "big/blob", gen, size, "application/octet-stream")
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	sample()
	if obj.Size != b.bigSize {
		t.Fatalf("Put size = %d, want %d", obj.Size, b.bigSize)
	}
	if b.checkHeap {
		growth := int64(peak) - int64(base)
		t.Logf("heap in use grew by %.1f MiB while streaming %d MiB", float64(growth)/(1<<20), b.bigSize>>20)
		if growth > 16<<20 {
			t.Errorf("heap grew by %d MiB during a %d MiB Put: the body was buffered", growth>>20, b.bigSize>>20)
		}
	}

	r, err := s.Open(ctx, "big/blob")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil || n != b.bigSize {
		t.Fatalf("read back %d bytes, %v", n, err)
	}
	if !bytes.Equal(h.Sum(nil), gen.h.Sum(nil)) {
		t.Fatal("content read back differs from what was streamed")
	}
}

func testSizeMismatch(t *testing.T, b backend) {
	s, _ := b.open(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		body, size int64
	}{
		{"short", 500, 1000},
		{"long", 1000, 500},
		// Larger than one S3 part: the mismatch surfaces in the middle of a
		// multipart upload.
		{"short multipart", 17 << 20, 20 << 20},
		{"long multipart", 20 << 20, 17 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := "mismatch/" + strings.ReplaceAll(tc.name, " ", "-")
			_, err := s.Put(ctx, key, newGenReader(tc.body, nil), tc.size, "")
			if !errors.Is(err, ErrSizeMismatch) {
				t.Fatalf("Put %d bytes announced as %d: err = %v, want ErrSizeMismatch", tc.body, tc.size, err)
			}
			assertAbsent(t, s, key)
		})
	}
	// A failed overwrite keeps the previous object.
	old := content(300)
	put(t, s, "keep", old, "")
	if _, err := s.Put(ctx, "keep", bytes.NewReader(content(10)), 20, ""); !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("Put: %v", err)
	}
	if !bytes.Equal(readAll(t, s, "keep"), old) {
		t.Fatal("failed overwrite changed the existing object")
	}
}

func testNotFound(t *testing.T, b backend) {
	s, _ := b.open(t)
	ctx := context.Background()
	put(t, s, "dir/file", []byte("x"), "")
	for _, key := range []string{"missing", "dir/file/below", "dir"} {
		if b.local || key != "dir" {
			if _, err := s.Stat(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Errorf("Stat %s: %v, want ErrNotFound", key, err)
			}
		}
		if _, err := s.Open(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open %s: %v, want ErrNotFound", key, err)
		}
	}
}

func testDelete(t *testing.T, b backend) {
	s, _ := b.open(t)
	ctx := context.Background()
	put(t, s, "d/e", []byte("hello"), "")
	for i := range 2 {
		if err := s.Delete(ctx, "d/e"); err != nil {
			t.Fatalf("Delete #%d: %v", i+1, err)
		}
	}
	if err := s.Delete(ctx, "never/existed"); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	if _, err := s.Stat(ctx, "d/e"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat after Delete: %v, want ErrNotFound", err)
	}
}

var invalidKeys = []string{
	"../x", "/abs", "a//b", "A B", "", strings.Repeat("a", MaxKeyLen+1),
	"a/", "x/../y", "a/./b", ".tmp/x", ".hidden", "a\\b", "caf\u00e9", "a b", "UPPER", "a..b", "a/b..",
}

func testInvalidKeys(t *testing.T, b backend) {
	s, _ := b.open(t)
	ctx := context.Background()
	for _, key := range invalidKeys {
		if _, err := s.Put(ctx, key, strings.NewReader("x"), 1, ""); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Put %q: %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Stat %q: %v, want ErrInvalidKey", key, err)
		}
		if _, err := s.Open(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Open %q: %v, want ErrInvalidKey", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("Delete %q: %v, want ErrInvalidKey", key, err)
		}
		if p, ok := s.LocalPath(key); ok {
			t.Errorf("LocalPath %q = %q, true", key, p)
		}
		if !b.local {
			if _, err := s.PresignGet(ctx, key, time.Minute, ""); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("PresignGet %q: %v, want ErrInvalidKey", key, err)
			}
		}
	}
}

func testLocalPath(t *testing.T, b backend) {
	s, _ := b.open(t)
	data := content(1234)
	put(t, s, "lp/ab/file.bin", data, "")
	p, ok := s.LocalPath("lp/ab/file.bin")
	if ok != b.local {
		t.Fatalf("LocalPath ok = %v on %s", ok, b.name)
	}
	if !b.local {
		return
	}
	if !filepath.IsAbs(p) {
		t.Errorf("LocalPath %q is not absolute", p)
	}
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file at LocalPath: %d bytes, %v", len(got), err)
	}
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != localFilePerm {
		t.Errorf("file mode %o, want %o", perm, localFilePerm)
	}
	r, err := s.Open(context.Background(), "lp/ab/file.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	lr, ok := r.(*LocalReader)
	if !ok || lr.File() == nil {
		t.Fatalf("local Open returned %T, want *LocalReader with a file", r)
	}
	if _, ok := r.(io.WriterTo); !ok {
		t.Error("local reader does not implement io.WriterTo (sendfile path)")
	}
}

func testPresign(t *testing.T, b backend) {
	s, _ := b.open(t)
	ctx := context.Background()
	data := content(4321)
	put(t, s, "pre/obj", data, "audio/flac")
	if b.local {
		if _, err := s.PresignGet(ctx, "pre/obj", time.Minute, ""); !errors.Is(err, ErrNotSupported) {
			t.Fatalf("local PresignGet: %v, want ErrNotSupported", err)
		}
		return
	}
	for _, tc := range []struct{ filename, wantCD string }{
		{"", ""},
		{"My Track.flac", `attachment; filename="My Track.flac"`},
		{"caf\u00e9 \"live\".flac", `attachment; filename*=utf-8''caf%C3%A9%20%22live%22.flac`},
	} {
		u, err := s.PresignGet(ctx, "pre/obj", time.Minute, tc.filename)
		if err != nil {
			t.Fatalf("PresignGet: %v", err)
		}
		if strings.Contains(u, testSecret) {
			t.Fatal("presigned URL contains the secret key")
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
			t.Fatalf("GET presigned URL: %d, %d bytes, %v", resp.StatusCode, len(got), err)
		}
		if cd := resp.Header.Get("Content-Disposition"); cd != tc.wantCD {
			t.Errorf("Content-Disposition = %q, want %q", cd, tc.wantCD)
		}
	}
	for _, ttl := range []time.Duration{0, time.Millisecond, 8 * 24 * time.Hour} {
		if _, err := s.PresignGet(ctx, "pre/obj", ttl, ""); err == nil {
			t.Errorf("PresignGet with ttl %s succeeded", ttl)
		}
	}
}

// slowReader yields 32 KiB every 5 ms, forever: an upload from a slow
// client.
type slowReader struct{}

func (slowReader) Read(p []byte) (int, error) {
	time.Sleep(5 * time.Millisecond)
	n := min(len(p), 32<<10)
	clear(p[:n])
	return n, nil
}

func testCancel(t *testing.T, b backend) {
	s, _ := b.open(t)
	for _, size := range []int64{-1, 8 << 20, 40 << 20} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(150*time.Millisecond, cancel)
		start := time.Now()
		_, err := s.Put(ctx, "slow/upload", slowReader{}, size, "")
		elapsed := time.Since(start)
		cancel()
		if err == nil {
			t.Fatalf("size %d: cancelled Put succeeded", size)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("size %d: err = %v, want context.Canceled", size, err)
		}
		if elapsed > 5*time.Second {
			t.Errorf("size %d: Put took %s to notice cancellation", size, elapsed)
		}
		assertAbsent(t, s, "slow/upload")
	}
}

func testPing(t *testing.T, b backend) {
	s, stop := b.open(t)
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if b.local {
		return
	}
	stop()
	// minio-go retries a refused connection until the context ends, as
	// /readyz's own timeout will end it.
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	err := s.Ping(pctx)
	if err == nil {
		t.Fatal("Ping succeeded with the server closed")
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Fatal("error reveals the secret key")
	}
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := s.Stat(sctx, "x"); err == nil || errors.Is(err, ErrNotFound) || strings.Contains(err.Error(), testSecret) {
		t.Fatalf("Stat with the server closed: %v, want an error other than ErrNotFound", err)
	}
}

func TestValidKey(t *testing.T) {
	for _, key := range []string{
		"a", "0", "tracks/0f/0f3c9a1e-5b7d-4c1a-9e2f-000000000000.mp3", "a.b-c_d/e.f.g",
		"x/y/z/w", strings.Repeat("a", MaxKeyLen), strings.Repeat("ab/", 170) + "ab",
	} {
		if err := ValidKey(key); err != nil {
			t.Errorf("ValidKey(%q) = %v", key, err)
		}
	}
	for _, key := range invalidKeys {
		err := ValidKey(key)
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidKey(%q) = %v, want ErrInvalidKey", key, err)
		}
		if err != nil && len(err.Error()) > 200 {
			t.Errorf("error for a long key is %d bytes long", len(err.Error()))
		}
	}
}

func TestNew(t *testing.T) {
	dir := t.TempDir()
	for _, driver := range []string{"", "local"} {
		s, err := New(Config{Driver: driver, Local: LocalConfig{Dir: dir}})
		if err != nil {
			t.Fatalf("New(%q): %v", driver, err)
		}
		if _, ok := s.(*Local); !ok {
			t.Fatalf("New(%q) = %T", driver, s)
		}
	}
	s, err := New(Config{Driver: "s3", S3: S3Config{Endpoint: "127.0.0.1:1", Bucket: "b", SecretKey: testSecret}})
	if err != nil {
		t.Fatalf("New(s3): %v", err)
	}
	if _, ok := s.(*S3); !ok {
		t.Fatalf("New(s3) = %T", s)
	}
	if _, err := New(Config{Driver: "ftp"}); err == nil {
		t.Fatal("unknown driver accepted")
	}
	if _, err := New(Config{Driver: "local"}); err == nil {
		t.Fatal("empty Dir accepted")
	}
	_, err = NewS3(S3Config{Endpoint: "127.0.0.1:1", Bucket: "b", SecretKey: testSecret, CreateBucket: true})
	if err == nil {
		t.Fatal("CreateBucket against a dead endpoint succeeded")
	}
	if strings.Contains(err.Error(), testSecret) {
		t.Fatal("NewS3 error reveals the secret key")
	}
}

func TestLocalRemovesStaleStagingFiles(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewLocal(LocalConfig{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, localTmpDir, "put-stale")
	fresh := filepath.Join(dir, localTmpDir, "put-fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLocal(LocalConfig{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("stale staging file kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("fresh staging file removed: it may belong to an upload in progress")
	}
}

// Sweep removes what crashed writes left in the staging folder, and never
// the file of a write in progress, however long that write has been going
// on: each chunk it stores makes its file fresh again.
func TestLocalSweep(t *testing.T) {
	l, err := NewLocal(LocalConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(l.tmp, "put-crashed")
	if err := os.WriteFile(stale, []byte("half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}

	// A write in progress whose file started long ago.
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := l.Put(context.Background(), "aa/slow.bin", pr, -1, "")
		done <- err
	}()
	if _, err := pw.Write([]byte("first chunk")); err != nil {
		t.Fatal(err)
	}
	inProgress := waitStaging(t, l, stale)
	if err := os.Chtimes(inProgress, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := pw.Write([]byte("second chunk")); err != nil {
		t.Fatal(err)
	}
	// The pipe hands the chunk over before Put writes it to the file.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if info, err := os.Stat(inProgress); err == nil && info.ModTime().After(old.Add(time.Hour)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second chunk never reached the staging file")
		}
	}

	n, err := l.Sweep(context.Background(), time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("Sweep: removed %d, %v; want 1, nil", n, err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("the crashed write's staging file was kept")
	}
	if _, err := os.Stat(inProgress); err != nil {
		t.Errorf("the staging file of a write in progress was removed: %v", err)
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("the write in progress failed after the sweep: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(l.dir, "aa", "slow.bin")); err != nil || string(b) != "first chunksecond chunk" {
		t.Fatalf("stored %q, %v", b, err)
	}
	if n, err := l.Sweep(context.Background(), 0); err != nil || n != 0 {
		t.Fatalf("Sweep of an empty folder: %d, %v", n, err)
	}
}

// waitStaging returns the path of the one staging file other than skip,
// once a write has created it.
func waitStaging(t *testing.T, l *Local, skip string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(l.tmp)
		for _, e := range entries {
			if p := filepath.Join(l.tmp, e.Name()); p != skip {
				return p
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no staging file appeared")
	return ""
}
