package bench

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"
	"github.com/valyala/fasthttp"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/tracks"
	"github.com/veza/veza/modules/tracks/audio/audiotest"
	"github.com/veza/veza/platform/testkit"
)

// startTracks starts Veza with auth and tracks and seeds n public tracks,
// spread over owners whose profiles are in tracks' copy (track_owners).
func startTracks(b *testing.B, n int, uploadDir string) *apptest.Server {
	env := httpEnv()
	env["UPLOAD_DIR"] = uploadDir
	env["DATABASE_MAX_OPEN_CONNS"] = fmt.Sprint(benchPool)
	env["DATABASE_MAX_IDLE_CONNS"] = fmt.Sprint(benchPool)
	srv := apptest.Start(b, apptest.Options{Modules: []app.Module{auth.Module(), tracks.Module()}, Env: env, Role: app.RoleAPI})
	seedTracks(b, srv.Runtime.DB(), n)
	return srv
}

// benchPool is the connection pool of each server of the listing
// benchmark, Veza's and the baselines' alike: four pools must fit in
// PostgreSQL's default max_connections (100) beside whatever else uses the
// server, and ten connections keep 2 cores busy.
const benchPool = 10

// benchOwners is how many accounts own the seeded tracks.
const benchOwners = 2000

// ownerUUID is the id of the i-th seeded owner, in SQL.
const ownerUUID = `('00000000-0000-4000-8000-' || lpad(to_hex(%s), 12, '0'))::uuid`

// seedTracks inserts benchOwners profiles into track_owners and n public
// tracks spread over them, newest first.
func seedTracks(b *testing.B, pool *sqlx.DB, n int) {
	_, err := pool.Exec(`
		INSERT INTO track_owners (user_id, username, display_name, avatar_url, updated_at)
		SELECT `+fmt.Sprintf(ownerUUID, "i")+`, 'user' || i, 'User ' || i, 'https://cdn.example.com/avatars/' || i || '.png', now()
		FROM generate_series(1, $1) AS i`, benchOwners)
	if err != nil {
		b.Fatal(err)
	}
	_, err = pool.Exec(`
		INSERT INTO tracks (id, owner_id, title, genre, tags, visibility, status, format, content_type, size_bytes, storage_key,
			duration_ms, sample_rate, channels, bitrate_kbps, plays, created_at)
		SELECT gen_random_uuid(), `+fmt.Sprintf(ownerUUID, "1 + i % $2")+`, 'Track ' || i, 'genre' || (i % 20),
			ARRAY['tag' || (i % 7), 'tag' || (i % 11)], 'public', 'ready', 'mp3', 'audio/mpeg',
			1000000 + i, 'tracks/aa/' || i || '.mp3', 180000 + i, 44100, 2, 320, i % 1000, now() - i * interval '1 second'
		FROM generate_series(1, $1) AS i`, n, benchOwners)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(`ANALYZE tracks; ANALYZE track_owners`); err != nil {
		b.Fatal(err)
	}
}

func listen(b *testing.B, a *fiber.App) string {
	port := testkit.FreePort(b)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	go func() { _ = a.Listen(addr) }()
	b.Cleanup(func() { _ = a.Shutdown() })
	for i := 0; i < 100; i++ {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return addr
}

// BenchmarkStreamRange reads a 50 MB track by 1 MiB ranges through the
// stream route (the platform's middleware, then sendfile) and through a bare
// Fiber SendFile of the same file, and reports MB/s of each.
func BenchmarkStreamRange(b *testing.B) {
	dir := b.TempDir()
	srv := startTracks(b, 0, dir)
	// Place a 50 MB WAV where the module's storage expects it.
	key := "tracks/bb/bench.wav"
	path := filepath.Join(dir, key)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := audiotest.WriteWAV(f, 44100, 2, 16, 50e6/176400, 220); err != nil {
		b.Fatal(err)
	}
	st, _ := f.Stat()
	f.Close()
	size := st.Size()
	var id string
	err = srv.Runtime.DB().Get(&id, `INSERT INTO tracks (id, owner_id, title, visibility, status, format, content_type, size_bytes, storage_key)
		VALUES (gen_random_uuid(), gen_random_uuid(), 'big', 'public', 'ready', 'wav', 'audio/wav', $1, $2) RETURNING id`, size, key)
	if err != nil {
		b.Fatal(err)
	}
	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	a.Get("/file", func(c *fiber.Ctx) error { return c.SendFile(path) })
	bare := listen(b, a)
	for _, t := range []struct{ name, addr, path string }{
		{"bare", bare, "/file"},
		{"veza", strings.TrimPrefix(srv.URL, "http://"), "/api/v1/tracks/" + id + "/stream"},
	} {
		b.Run(t.name, func(b *testing.B) {
			tg := newTarget(t.name, t.addr, t.path, 4)
			mb := rangeRead(b, tg, size, 4, 3*time.Second)
			b.ReportMetric(mb, "MB/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// rangeRead reads the file of t by 1 MiB ranges from readers goroutines
// for d, checking every answer is a 206 of the right length, and returns
// MB/s.
func rangeRead(b *testing.B, t *target, size int64, readers int, d time.Duration) float64 {
	const chunk = 1 << 20
	var total atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(res)
			req.SetRequestURI("http://" + t.addr + t.path)
			off := int64(r) * chunk
			for time.Now().Before(deadline) {
				end := min(off+chunk, size) - 1
				req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, end))
				if err := t.client.Do(req, res); err != nil {
					b.Error(err)
					return
				}
				if res.StatusCode() != 206 || int64(len(res.Body())) != end-off+1 {
					b.Errorf("%s: status %d, %d bytes for %d", t.name, res.StatusCode(), len(res.Body()), end-off+1)
					return
				}
				total.Add(end - off + 1)
				off = (end + 1) % size
			}
		}()
	}
	wg.Wait()
	return float64(total.Load()) / 1e6 / time.Since(start).Seconds()
}
