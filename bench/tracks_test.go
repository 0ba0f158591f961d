package bench

import (
	"context"
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
	"github.com/lib/pq"
	"github.com/valyala/fasthttp"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/tracks"
	"github.com/veza/veza/modules/tracks/audio/audiotest"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/testkit"
)

// startTracks starts Veza with auth and tracks and seeds n public tracks.
func startTracks(b *testing.B, n int, uploadDir string) *apptest.Server {
	env := httpEnv()
	env["UPLOAD_DIR"] = uploadDir
	srv := apptest.Start(b, apptest.Options{Modules: []app.Module{auth.Module(), tracks.Module()}, Env: env, Role: app.RoleAPI})
	_, err := srv.Runtime.DB().Exec(`
		INSERT INTO tracks (id, owner_id, title, genre, visibility, status, format, content_type, size_bytes, storage_key, plays, created_at)
		SELECT gen_random_uuid(), gen_random_uuid(), 'Track ' || i, 'genre' || (i % 20), 'public', 'ready', 'mp3', 'audio/mpeg',
			1000000 + i, 'tracks/aa/' || i || '.mp3', i % 1000, now() - i * interval '1 second'
		FROM generate_series(1, $1) AS i`, n)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := srv.Runtime.DB().Exec(`ANALYZE tracks`); err != nil {
		b.Fatal(err)
	}
	return srv
}

// listRow is what the bare handler selects and answers: the same columns
// and the same JSON fields as the module's TrackView.
type listRow struct {
	ID          string         `db:"id" json:"id"`
	OwnerID     string         `db:"owner_id" json:"owner_id"`
	Title       string         `db:"title" json:"title"`
	Description string         `db:"description" json:"description"`
	Genre       string         `db:"genre" json:"genre"`
	Tags        pq.StringArray `db:"tags" json:"tags"`
	Visibility  string         `db:"visibility" json:"visibility"`
	Status      string         `db:"status" json:"status"`
	Error       *string        `db:"error" json:"error"`
	Format      string         `db:"format" json:"format"`
	ContentType string         `db:"content_type" json:"content_type"`
	SizeBytes   int64          `db:"size_bytes" json:"size_bytes"`
	StorageKey  string         `db:"storage_key" json:"-"`
	ScanStatus  string         `db:"scan_status" json:"scan_status"`
	DurationMS  *int64         `db:"duration_ms" json:"duration_ms"`
	SampleRate  *int           `db:"sample_rate" json:"sample_rate"`
	Channels    *int           `db:"channels" json:"channels"`
	BitrateKbps *int           `db:"bitrate_kbps" json:"bitrate_kbps"`
	Plays       int64          `db:"plays" json:"plays"`
	Likes       int64          `db:"likes" json:"-"`
	Comments    int64          `db:"comments" json:"-"`
	Downloads   int64          `db:"downloads" json:"-"`
	CreatedAt   time.Time      `db:"created_at" json:"created_at"`
	UpdatedAt   time.Time      `db:"updated_at" json:"updated_at"`
	StreamURL   string         `db:"-" json:"stream_url"`
}

// startBareList serves GET /api/v1/tracks with a bare Fiber app and sqlx,
// running the module's query on the same database with the same pool
// settings: the baseline.
func startBareList(b *testing.B, dsn string, deadline bool) string {
	pool, err := sqlx.Open("postgres", dsn+"&binary_parameters=yes")
	if err != nil {
		b.Fatal(err)
	}
	pool.SetMaxOpenConns(25)
	pool.SetMaxIdleConns(25)
	b.Cleanup(func() { pool.Close() })
	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	a.Get("/api/v1/tracks", func(c *fiber.Ctx) error {
		var rows []listRow
		ctx := c.UserContext()
		if deadline {
			// What HANDLER_TIMEOUT gives Veza's handlers: database/sql and
			// lib/pq then watch the context with a goroutine per query.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
		}
		err := pool.SelectContext(ctx, &rows, `SELECT id, owner_id, title, description, genre, tags, visibility, status,
			error, format, content_type, size_bytes, storage_key, scan_status, duration_ms, sample_rate, channels, bitrate_kbps,
			plays, likes, comments, downloads, created_at, updated_at
			FROM tracks WHERE visibility = 'public' ORDER BY created_at DESC, id DESC LIMIT $1`, 21)
		if err != nil {
			return err
		}
		rows = rows[:min(20, len(rows))]
		for i := range rows {
			rows[i].StreamURL = "/api/v1/tracks/" + rows[i].ID + "/stream" // the same answer as the module's
		}
		return httpx.Page(c, rows, "")
	})
	return listen(b, a)
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

// BenchmarkTracksList reports GET /api/v1/tracks?limit=20 on 20,000 tracks
// through Veza's full stack against a bare Fiber + sqlx handler running the
// same query on the same database, interleaved; ratio_list is veza/bare
// (target 0.85); ratio_list_vs_deadline compares with the same bare handler
// given a request deadline, as HANDLER_TIMEOUT gives Veza's. -benchtime does
// not apply.
func BenchmarkTracksList(b *testing.B) {
	conns := envInt(b, envConns, 32)
	rounds := envInt(b, envRounds, 25)
	roundTime := envDuration(b, envRoundTime, 200*time.Millisecond)
	srv := startTracks(b, 20000, b.TempDir())
	bare := startBareList(b, srv.Config.DatabaseURL, false)
	bareDeadline := startBareList(b, srv.Config.DatabaseURL, true)
	targets := []*target{
		newTarget("bare", bare, "/api/v1/tracks", conns),
		newTarget("veza", strings.TrimPrefix(srv.URL, "http://"), "/api/v1/tracks?limit=20", conns),
		newTarget("bare_deadline", bareDeadline, "/api/v1/tracks", conns),
	}
	var ratios, ratiosDeadline []float64
	sums := interleave(b, targets, rounds, roundTime, conns, func(got []sample) {
		ratios = append(ratios, got[1].rate()/got[0].rate())
		ratiosDeadline = append(ratiosDeadline, got[1].rate()/got[2].rate())
	})
	b.ReportMetric(sums[0].rate(), "bare_req/s")
	b.ReportMetric(sums[1].rate(), "veza_req/s")
	b.ReportMetric(sums[0].cpuPerReq(), "bare_cpu_us/req")
	b.ReportMetric(sums[1].cpuPerReq(), "veza_cpu_us/req")
	b.ReportMetric(sums[2].rate(), "bare_deadline_req/s")
	b.ReportMetric(median(ratios), "ratio_list")
	b.ReportMetric(median(ratiosDeadline), "ratio_list_vs_deadline")
	b.ReportMetric(0, "ns/op")
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
