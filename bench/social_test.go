package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/valyala/fasthttp"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/social"
	"github.com/veza/veza/modules/tracks"
)

// The feed's shape: a reader following feedFollowed accounts, feedTracks
// tracks in the table.
const (
	feedTracks   = 100000
	feedFollowed = 1000
	envFeedReqs  = "BENCH_FEED_REQUESTS" // timed requests (and queries) per page kind
)

// feedFirst and feedAfter are the social module's feed queries
// (modules/social/store_feed.go), which the bare measurement runs as is.
const (
	feedFirst = `WITH heads AS MATERIALIZED (
			SELECT f.followed_id, h.created_at FROM social_follows f
			CROSS JOIN LATERAL (
				SELECT t.created_at FROM social_feed_tracks t
				WHERE t.owner_id = f.followed_id AND t.visibility = 'public' AND NOT t.deleted
				ORDER BY t.created_at DESC, t.track_id DESC LIMIT 1
			) h
			WHERE f.follower_id = $1
		), bound AS (
			SELECT coalesce((SELECT created_at FROM heads ORDER BY created_at DESC OFFSET $2 - 1 LIMIT 1), '-infinity') AS at
		)
		SELECT x.track_id, x.created_at FROM heads hd CROSS JOIN bound b
		CROSS JOIN LATERAL (
			SELECT t.track_id, t.created_at FROM social_feed_tracks t
			WHERE t.owner_id = hd.followed_id AND t.visibility = 'public' AND NOT t.deleted AND t.created_at >= b.at
			ORDER BY t.created_at DESC, t.track_id DESC LIMIT $2
		) x
		WHERE hd.created_at >= b.at
		ORDER BY x.created_at DESC, x.track_id DESC LIMIT $2`
	feedAfter = `WITH heads AS MATERIALIZED (
			SELECT f.followed_id, h.created_at FROM social_follows f
			CROSS JOIN LATERAL (
				SELECT t.created_at FROM social_feed_tracks t
				WHERE t.owner_id = f.followed_id AND t.visibility = 'public' AND NOT t.deleted
					AND (t.created_at, t.track_id) < ($2, $3)
				ORDER BY t.created_at DESC, t.track_id DESC LIMIT 1
			) h
			WHERE f.follower_id = $1
		), bound AS (
			SELECT coalesce((SELECT created_at FROM heads ORDER BY created_at DESC OFFSET $4 - 1 LIMIT 1), '-infinity') AS at
		)
		SELECT x.track_id, x.created_at FROM heads hd CROSS JOIN bound b
		CROSS JOIN LATERAL (
			SELECT t.track_id, t.created_at FROM social_feed_tracks t
			WHERE t.owner_id = hd.followed_id AND t.visibility = 'public' AND NOT t.deleted
				AND (t.created_at, t.track_id) < ($2, $3) AND t.created_at >= b.at
			ORDER BY t.created_at DESC, t.track_id DESC LIMIT $4
		) x
		WHERE hd.created_at >= b.at
		ORDER BY x.created_at DESC, x.track_id DESC LIMIT $4`
)

// feedPlain is the plain merge the first version of the feed ran: each
// followed user's newest page, then the newest page of all of them.
const feedPlain = `SELECT x.track_id, x.created_at FROM social_follows f
	CROSS JOIN LATERAL (
		SELECT t.track_id, t.created_at FROM social_feed_tracks t
		WHERE t.owner_id = f.followed_id AND t.visibility = 'public' AND NOT t.deleted
		ORDER BY t.created_at DESC, t.track_id DESC LIMIT $2
	) x
	WHERE f.follower_id = $1
	ORDER BY x.created_at DESC, x.track_id DESC LIMIT $2`

// feedShape is how the tracks are spread: over owners accounts, of which
// the reader follows feedFollowed.
type feedShape struct {
	name   string
	owners int
}

// seedFeed fills tracks' table, tracks' copy of the owners' profiles and
// social's follows with the shape's data, then has social's reconciliation
// walk the tracks into its index, as on a deployment enabling social on
// existing data, and returns how long the walk took. Only tests and
// benchmarks write another module's tables.
func seedFeed(b *testing.B, srv *apptest.Server, shape feedShape, reader string) time.Duration {
	pool := srv.Runtime.DB()
	step := shape.owners / feedFollowed
	stmts := []struct {
		query string
		args  []any
	}{
		{`INSERT INTO track_owners (user_id, username, display_name, avatar_url, updated_at)
			SELECT ` + fmt.Sprintf(ownerUUID, "i") + `, 'user' || i, 'User ' || i, '', now() FROM generate_series(1, $1) AS i`,
			[]any{shape.owners}},
		// One track in ten of each owner is unlisted or private: the feed
		// skips them.
		{`INSERT INTO tracks (id, owner_id, title, visibility, status, format, content_type, size_bytes, storage_key,
				duration_ms, created_at)
			SELECT gen_random_uuid(), ` + fmt.Sprintf(ownerUUID, "1 + i % $2") + `, 'Track ' || i,
				CASE i / $2 % 20 WHEN 0 THEN 'unlisted' WHEN 10 THEN 'private' ELSE 'public' END, 'ready', 'mp3', 'audio/mpeg',
				1000000, 'aa/' || i || '.mp3', 180000, now() - i * interval '1 second'
			FROM generate_series(1, $1) AS i`, []any{feedTracks, shape.owners}},
		{`INSERT INTO social_follows (follower_id, followed_id, created_at)
			SELECT $1, ` + fmt.Sprintf(ownerUUID, "1 + i * $2") + `, now() - i * interval '1 minute'
			FROM generate_series(0, $3 - 1) AS i`, []any{reader, step, feedFollowed}},
		// Other readers' follows, so that the reader's are found among
		// many, as in production.
		{`INSERT INTO social_follows (follower_id, followed_id, created_at)
			SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(r), 12, '0'))::uuid, ` + fmt.Sprintf(ownerUUID, "1 + (r * 7 + i) % $1") + `, now()
			FROM generate_series(1, 1000) AS r, generate_series(1, 100) AS i`, []any{shape.owners}},
	}
	for _, s := range stmts {
		if _, err := pool.Exec(s.query, s.args...); err != nil {
			b.Fatalf("seed the feed: %v", err)
		}
	}
	walk := backfill(b, srv)
	// Vacuumed, as autovacuum would have it in a while: the index-only
	// scans need the visibility map.
	for _, table := range []string{"tracks", "track_owners", "social_feed_tracks", "social_follows"} {
		if _, err := pool.Exec(`VACUUM ANALYZE ` + table); err != nil {
			b.Fatal(err)
		}
	}
	return walk
}

// backfill runs social's reconciliation of its feed index and returns how
// long it took.
func backfill(b *testing.B, srv *apptest.Server) time.Duration {
	for _, j := range srv.Runtime.Contributions().Jobs {
		if j.Type == social.ReconcileFeedJob {
			start := time.Now()
			if err := j.Handler(context.Background(), nil); err != nil {
				b.Fatal(err)
			}
			return time.Since(start)
		}
	}
	b.Fatalf("no job %s", social.ReconcileFeedJob)
	return 0
}

// feedReader registers the reader and returns its id and access token.
func feedReader(b *testing.B, srv *apptest.Server) (string, string) {
	body := `{"username":"reader","email":"reader@example.com","password":"a benchmark passphrase that is long"}`
	postOK(b, srv.URL+"/api/v1/auth/register", body)
	res := postJSON(b, srv.URL+"/api/v1/auth/login", `{"email":"reader@example.com","password":"a benchmark passphrase that is long"}`)
	var out struct {
		Data struct {
			AccessToken string `json:"access_token"`
			User        struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"data"`
	}
	if err := json.Unmarshal(res, &out); err != nil || out.Data.AccessToken == "" {
		b.Fatalf("login: %v: %s", err, res)
	}
	return out.Data.User.ID, out.Data.AccessToken
}

func postJSON(b *testing.B, u, body string) []byte {
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(res)
	req.SetRequestURI(u)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	req.SetBodyString(body)
	if err := fasthttp.Do(req, res); err != nil || res.StatusCode() != 200 {
		b.Fatalf("POST %s: %v %d %s", u, err, res.StatusCode(), res.Body())
	}
	return slices.Clone(res.Body())
}

// latencies is a set of timings.
type latencies []time.Duration

func (l latencies) quantile(q float64) time.Duration {
	s := slices.Clone(l)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkFeed reports GET /api/v1/feed?limit=20 for a reader following
// 1,000 accounts, with 100,000 tracks in the table, through Veza's whole
// stack (authentication, the feed query, the catalog rendering the page
// with owners) on one keep-alive connection, next to the feed query alone
// run as a prepared statement on the same pool, alternated request by
// query: p50 and p99 of each, for the first page and for a page 50 pages
// deep, and for the first page the p50 of the plain merge the module
// replaced (plain_merge). Two shapes: "dense", the followed accounts own every track (100
// each), and "sparse", 10,000 accounts own them and the reader follows
// one in ten (10 tracks each). backfill_s is how long social's
// reconciliation took to walk the 100,000 tracks into its feed index.
// BENCH_EXPLAIN=1 logs the plans.
// -benchtime does not apply.
func BenchmarkFeed(b *testing.B) {
	for _, shape := range []feedShape{{"dense", feedFollowed}, {"sparse", 10 * feedFollowed}} {
		b.Run(shape.name, func(b *testing.B) { benchFeed(b, shape) })
	}
}

func benchFeed(b *testing.B, shape feedShape) {
	n := envInt(b, envFeedReqs, 2000)
	env := httpEnv()
	env["UPLOAD_DIR"] = b.TempDir()
	env["MAIL_DRIVER"] = "log"
	env["VEZA_AUTH_REQUIRE_VERIFIED_EMAIL"] = "false"
	srv := apptest.Start(b, apptest.Options{Modules: []app.Module{auth.Module(), tracks.Module(), social.Module()}, Env: env, Role: app.RoleAPI})
	reader, token := feedReader(b, srv)
	pool := srv.Runtime.DB()
	walk := seedFeed(b, srv, shape, reader)
	b.ReportMetric(walk.Seconds(), "backfill_s")

	client := newTarget("veza", strings.TrimPrefix(srv.URL, "http://"), "", 1)
	client.auth = "Bearer " + token
	deep := feedCursor(b, client, 50)
	if os.Getenv(envExplain) != "" {
		explainFeed(b, pool, reader, deep)
	}
	ctx := context.Background()
	first, err := pool.PreparexContext(ctx, feedFirst)
	if err != nil {
		b.Fatal(err)
	}
	after, err := pool.PreparexContext(ctx, feedAfter)
	if err != nil {
		b.Fatal(err)
	}
	defer first.Close()
	defer after.Close()
	deepKey := decodeCursor(b, deep)
	plain, err := pool.PreparexContext(ctx, feedPlain)
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	pages := []struct {
		name  string
		path  string
		query func() error
		// plain, when set, is the plain merge for the same page, timed
		// too for comparison (docs/adr/0013-social-counts-and-feed.md).
		plain func() error
	}{
		{"first", "/api/v1/feed?limit=20", func() error { return runFeed(ctx, first, reader, 21) },
			func() error { return runFeed(ctx, plain, reader, 21) }},
		{"deep", "/api/v1/feed?limit=20&cursor=" + url.QueryEscape(deep), func() error {
			return runFeed(ctx, after, reader, deepKey.At, deepKey.ID, 21)
		}, nil},
	}
	for _, p := range pages {
		client.path = p.path
		do, release := client.worker()
		var web, bare, merge latencies
		for i := range n + n/10 {
			t0 := time.Now()
			if err := do(); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			if err := p.query(); err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			if p.plain != nil {
				if err := p.plain(); err != nil {
					b.Fatal(err)
				}
			}
			if i >= n/10 { // the first tenth warms up
				web, bare, merge = append(web, t1.Sub(t0)), append(bare, t2.Sub(t1)), append(merge, time.Since(t2))
			}
		}
		release()
		b.ReportMetric(ms(web.quantile(0.5)), p.name+"_http_p50_ms")
		b.ReportMetric(ms(web.quantile(0.99)), p.name+"_http_p99_ms")
		b.ReportMetric(ms(bare.quantile(0.5)), p.name+"_sql_p50_ms")
		b.ReportMetric(ms(bare.quantile(0.99)), p.name+"_sql_p99_ms")
		if p.plain != nil {
			b.ReportMetric(ms(merge.quantile(0.5)), p.name+"_plain_merge_p50_ms")
		}
	}
	b.ReportMetric(0, "ns/op")
}

func runFeed(ctx context.Context, st *sqlx.Stmt, args ...any) error {
	var rows []struct {
		TrackID   string    `db:"track_id"`
		CreatedAt time.Time `db:"created_at"`
	}
	if err := st.SelectContext(ctx, &rows, args...); err != nil {
		return err
	}
	if len(rows) != 21 {
		return fmt.Errorf("the feed query returned %d rows, want 21", len(rows))
	}
	return nil
}

// feedCursor walks pages pages of the feed through the API, checking each
// holds 20 public tracks newest first, and returns the next cursor.
func feedCursor(b *testing.B, t *target, pages int) string {
	cursor := ""
	var last time.Time
	for p := range pages {
		t.path = "/api/v1/feed?limit=20"
		if cursor != "" {
			t.path += "&cursor=" + url.QueryEscape(cursor)
		}
		req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.SetRequestURI("http://" + t.addr + t.path)
		req.Header.Set(fasthttp.HeaderAuthorization, t.auth)
		if err := t.client.Do(req, res); err != nil || res.StatusCode() != 200 {
			b.Fatalf("feed page %d: %v %d %s", p, err, res.StatusCode(), res.Body())
		}
		var out struct {
			Data struct {
				Items []struct {
					Visibility string    `json:"visibility"`
					CreatedAt  time.Time `json:"created_at"`
					Owner      struct {
						Username string `json:"username"`
					} `json:"owner"`
				} `json:"items"`
				NextCursor *string `json:"next_cursor"`
			} `json:"data"`
		}
		if err := json.Unmarshal(res.Body(), &out); err != nil || len(out.Data.Items) != 20 || out.Data.NextCursor == nil {
			b.Fatalf("feed page %d: %v: %d items", p, err, len(out.Data.Items))
		}
		for _, it := range out.Data.Items {
			if it.Visibility != "public" || it.Owner.Username == "" || (!last.IsZero() && it.CreatedAt.After(last)) {
				b.Fatalf("feed page %d: an item out of place: %+v", p, it)
			}
			last = it.CreatedAt
		}
		cursor = *out.Data.NextCursor
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(res)
	}
	return cursor
}

type feedKey struct {
	At time.Time `json:"t"`
	ID string    `json:"i"`
}

func decodeCursor(b *testing.B, c string) feedKey {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	var k feedKey
	if err != nil || json.Unmarshal(raw, &k) != nil {
		b.Fatalf("cursor %q: %v", c, err)
	}
	return k
}

// explainFeed logs the plans of the feed's queries, as PostgreSQL runs them.
func explainFeed(b *testing.B, pool *sqlx.DB, reader, deep string) {
	k := decodeCursor(b, deep)
	for _, q := range []struct {
		name  string
		query string
		args  []any
	}{{"first page", feedFirst, []any{reader, 21}}, {"page 51", feedAfter, []any{reader, k.At, k.ID, 21}}} {
		var lines []string
		if err := pool.Select(&lines, `EXPLAIN (ANALYZE, BUFFERS) `+q.query, q.args...); err != nil {
			b.Fatal(err)
		}
		b.Logf("the feed query's plan, %s:\n%s", q.name, strings.Join(lines, "\n"))
	}
}
