package bench

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/valyala/fasthttp"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/veza/veza/platform/httpx"
)

// listQuery is the tracks module's first-page query for GET /tracks
// (modules/tracks/store.go: trackColumns, fromTracks, listPublic), which the
// bare handlers run as is.
const listQuery = `SELECT * FROM (SELECT t.id, t.owner_id, t.title, t.description, t.genre, t.tags, t.visibility,
	t.status, t.error, t.format, t.content_type, t.size_bytes, t.storage_key, t.scan_status, t.duration_ms,
	t.sample_rate, t.channels, t.bitrate_kbps, t.plays, t.likes, t.comments, t.downloads, t.created_at, t.updated_at,
	coalesce(o.username, '') AS owner_username, coalesce(o.display_name, '') AS owner_display_name,
	coalesce(o.avatar_url, '') AS owner_avatar_url
	FROM tracks t LEFT JOIN track_owners o ON o.user_id = t.owner_id
	WHERE t.visibility = 'public' ORDER BY t.created_at DESC, t.id DESC LIMIT 101) page
	ORDER BY created_at DESC, id DESC LIMIT $1`

// listOwner is a track's owner in the answer.
type listOwner struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	AvatarURL   string `json:"avatar_url"`
}

// listRow is what the bare handler selects and answers: the module's
// columns, and the JSON fields of its TrackView in the same order.
type listRow struct {
	ID               string         `db:"id" json:"id"`
	OwnerID          string         `db:"owner_id" json:"owner_id"`
	Owner            listOwner      `db:"-" json:"owner"`
	Title            string         `db:"title" json:"title"`
	Description      string         `db:"description" json:"description"`
	Genre            string         `db:"genre" json:"genre"`
	Tags             pq.StringArray `db:"tags" json:"tags"`
	Visibility       string         `db:"visibility" json:"visibility"`
	Status           string         `db:"status" json:"status"`
	Error            *string        `db:"error" json:"error"`
	Format           string         `db:"format" json:"format"`
	ContentType      string         `db:"content_type" json:"-"`
	SizeBytes        int64          `db:"size_bytes" json:"size_bytes"`
	DurationMS       *int64         `db:"duration_ms" json:"duration_ms"`
	SampleRate       *int           `db:"sample_rate" json:"sample_rate"`
	Channels         *int           `db:"channels" json:"channels"`
	BitrateKbps      *int           `db:"bitrate_kbps" json:"bitrate_kbps"`
	StorageKey       string         `db:"storage_key" json:"-"`
	ScanStatus       string         `db:"scan_status" json:"scan_status"`
	Plays            int64          `db:"plays" json:"plays"`
	Likes            int64          `db:"likes" json:"like_count"`
	Comments         int64          `db:"comments" json:"comment_count"`
	Downloads        int64          `db:"downloads" json:"-"`
	StreamURL        string         `db:"-" json:"stream_url"`
	CreatedAt        time.Time      `db:"created_at" json:"created_at"`
	UpdatedAt        time.Time      `db:"updated_at" json:"updated_at"`
	OwnerUsername    string         `db:"owner_username" json:"-"`
	OwnerDisplayName string         `db:"owner_display_name" json:"-"`
	OwnerAvatarURL   string         `db:"owner_avatar_url" json:"-"`
}

// nextCursor is the module's cursor after a track of the list: base64url
// of {"p": plays, "t": created_at, "i": id}.
func nextCursor(plays int64, at time.Time, id string) string {
	b, _ := json.Marshal(struct {
		P int64     `json:"p,omitempty"`
		T time.Time `json:"t"`
		I string    `json:"i"`
	}{plays, at, id})
	return base64.RawURLEncoding.EncodeToString(b)
}

// bareMode varies the bare handler.
type bareMode int

const (
	barePlain    bareMode = iota
	bareDeadline          // each request gets HANDLER_TIMEOUT's 30 s deadline, as Veza's do
	barePrepared          // the query runs as a prepared statement, as Veza's does
)

// startBareList serves GET /api/v1/tracks with a bare Fiber app and sqlx,
// running the module's query on the same database with the same pool size
// and answering the same JSON: the baseline.
func startBareList(b *testing.B, dsn string, mode bareMode) string {
	pool, err := sqlx.Open("postgres", dsn+"&binary_parameters=yes")
	if err != nil {
		b.Fatal(err)
	}
	pool.SetMaxOpenConns(benchPool)
	pool.SetMaxIdleConns(benchPool)
	b.Cleanup(func() { pool.Close() })
	query := func(ctx context.Context, rows *[]listRow) error { return pool.SelectContext(ctx, rows, listQuery, 21) }
	if mode == barePrepared {
		st, err := pool.Preparex(listQuery)
		if err != nil {
			b.Fatal(err)
		}
		query = func(ctx context.Context, rows *[]listRow) error { return st.SelectContext(ctx, rows, 21) }
	}
	a := fiber.New(fiber.Config{DisableStartupMessage: true})
	a.Get("/api/v1/tracks", func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		if mode == bareDeadline {
			// database/sql and lib/pq then watch the context with a
			// goroutine per query, as they do for Veza's handlers.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
		}
		var rows []listRow
		if err := query(ctx, &rows); err != nil {
			return err
		}
		next := ""
		if len(rows) > 20 {
			rows = rows[:20]
			next = nextCursor(rows[19].Plays, rows[19].CreatedAt, rows[19].ID)
		}
		for i := range rows {
			r := &rows[i]
			r.Owner = listOwner{ID: r.OwnerID, Username: r.OwnerUsername, DisplayName: r.OwnerDisplayName, AvatarURL: r.OwnerAvatarURL}
			r.StreamURL = "/api/v1/tracks/" + r.ID + "/stream"
			r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
		}
		return httpx.Page(c, rows, next)
	})
	return listen(b, a)
}

// gormOwner and gormTrack are the models a Gin + GORM application (the
// seed's stack) declares for the same tables: a track belongs to its owner.
type gormOwner struct {
	UserID      string `gorm:"column:user_id;primaryKey" json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	AvatarURL   string `json:"avatar_url"`
}

func (gormOwner) TableName() string { return "track_owners" }

type gormTrack struct {
	ID          string         `gorm:"primaryKey" json:"id"`
	OwnerID     string         `json:"owner_id"`
	Owner       gormOwner      `gorm:"foreignKey:OwnerID;references:UserID" json:"owner"`
	Title       string         `json:"title"`
	Description string         `json:"description"`
	Genre       string         `json:"genre"`
	Tags        pq.StringArray `gorm:"type:text[]" json:"tags"`
	Visibility  string         `json:"visibility"`
	Status      string         `json:"status"`
	Error       *string        `json:"error"`
	Format      string         `json:"format"`
	SizeBytes   int64          `json:"size_bytes"`
	DurationMS  *int64         `gorm:"column:duration_ms" json:"duration_ms"`
	SampleRate  *int           `json:"sample_rate"`
	Channels    *int           `json:"channels"`
	BitrateKbps *int           `json:"bitrate_kbps"`
	ScanStatus  string         `json:"scan_status"`
	Plays       int64          `json:"plays"`
	Likes       int64          `json:"like_count"`
	Comments    int64          `json:"comment_count"`
	StreamURL   string         `gorm:"-" json:"stream_url"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

func (gormTrack) TableName() string { return "tracks" }

// startGinList serves GET /api/v1/tracks the way a Gin + GORM application
// does: gin.New with the recovery middleware in release mode, GORM (pgx,
// the same pool size) loading the page with its owners in one query
// (Joins), c.JSON answering the same JSON as Veza.
func startGinList(b *testing.B, dsn string) string {
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		b.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		b.Fatal(err)
	}
	sqlDB.SetMaxOpenConns(benchPool)
	sqlDB.SetMaxIdleConns(benchPool)
	b.Cleanup(func() { sqlDB.Close() })
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/api/v1/tracks", func(c *gin.Context) {
		var list []gormTrack
		err := db.WithContext(c.Request.Context()).Joins("Owner").Where("tracks.visibility = ?", "public").
			Order("tracks.created_at DESC, tracks.id DESC").Limit(21).Find(&list).Error
		if err != nil {
			c.JSON(http.StatusInternalServerError, gin.H{"success": false, "error": gin.H{"code": "internal", "message": err.Error()}})
			return
		}
		var next *string
		if len(list) > 20 {
			list = list[:20]
			n := nextCursor(list[19].Plays, list[19].CreatedAt, list[19].ID)
			next = &n
		}
		for i := range list {
			t := &list[i]
			t.StreamURL = "/api/v1/tracks/" + t.ID + "/stream"
			t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
		}
		c.JSON(http.StatusOK, gin.H{"success": true, "data": gin.H{"items": list, "next_cursor": next}})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.Error(err)
		}
	}()
	b.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// sameAnswers fails unless every target answers the same JSON (up to the
// order of object keys): a baseline that answered less would flatter itself.
func sameAnswers(b *testing.B, targets []*target) {
	var want any
	for i, t := range targets {
		res := fasthttp.AcquireResponse()
		req := fasthttp.AcquireRequest()
		req.SetRequestURI("http://" + t.addr + t.path)
		if err := t.client.Do(req, res); err != nil || res.StatusCode() != 200 {
			b.Fatalf("%s: %v, status %d: %s", t.name, err, res.StatusCode(), res.Body())
		}
		var got any
		if err := json.Unmarshal(res.Body(), &got); err != nil {
			b.Fatalf("%s: %v", t.name, err)
		}
		if items := got.(map[string]any)["data"].(map[string]any)["items"].([]any); len(items) != 20 {
			b.Fatalf("%s answered %d items, want 20", t.name, len(items))
		}
		if i == 0 {
			want = got
		} else if !reflect.DeepEqual(got, want) {
			b.Fatalf("%s answers unlike %s: %s", t.name, targets[0].name, firstDifference(got, want))
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(res)
	}
}

// explain logs the plan of the list query, as PostgreSQL runs it (timings
// included), and which plans a prepared statement of it gets over ten
// executions: custom ones are planned on every execution, a generic one
// once.
func explain(b *testing.B, pool *sqlx.DB) {
	var lines []string
	if err := pool.Select(&lines, `EXPLAIN (ANALYZE, BUFFERS) `+listQuery, 21); err != nil {
		b.Fatal(err)
	}
	b.Log("the list query's plan:\n" + strings.Join(lines, "\n"))
	ctx := context.Background()
	conn, err := pool.Connx(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	st, err := conn.PreparexContext(ctx, listQuery)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	for range 10 {
		var rows []listRow
		if err := st.SelectContext(ctx, &rows, 21); err != nil {
			b.Fatal(err)
		}
	}
	var plans struct {
		Generic int64 `db:"generic_plans"`
		Custom  int64 `db:"custom_plans"`
	}
	if err := conn.GetContext(ctx, &plans, `SELECT generic_plans, custom_plans FROM pg_prepared_statements`); err != nil {
		b.Fatal(err)
	}
	b.Logf("prepared, 10 executions: %d generic plans, %d custom plans", plans.Generic, plans.Custom)
}

// firstDifference describes the first item (or envelope) where two answers
// differ.
func firstDifference(got, want any) string {
	data := func(v any) map[string]any { return v.(map[string]any)["data"].(map[string]any) }
	g, w := data(got), data(want)
	gi, wi := g["items"].([]any), w["items"].([]any)
	for i := range min(len(gi), len(wi)) {
		if !reflect.DeepEqual(gi[i], wi[i]) {
			a, _ := json.Marshal(gi[i])
			b, _ := json.Marshal(wi[i])
			return fmt.Sprintf("item %d:\n%s\ninstead of\n%s", i, a, b)
		}
	}
	return fmt.Sprintf("next_cursor %v instead of %v", g["next_cursor"], w["next_cursor"])
}

// BenchmarkTracksList reports GET /api/v1/tracks?limit=20 on 20,000 tracks
// of 2,000 owners, each with its owner's profile, through Veza's full stack
// against a bare Fiber + sqlx handler running the module's query (the join
// included) and answering the same JSON, and against the seed's stack (Gin +
// GORM) answering the same JSON, all on the same database, interleaved.
// ratio_list is veza/bare (target 0.85), ratio_vs_gin veza/gin (target 1).
// Two more bare handlers tell Veza's costs apart: ratio_list_vs_deadline
// compares with one given a request deadline, as HANDLER_TIMEOUT gives
// Veza's, ratio_list_vs_prepared with one running the query prepared, as
// Veza does. -benchtime does not apply.
func BenchmarkTracksList(b *testing.B) {
	conns := envInt(b, envConns, 32)
	rounds := envInt(b, envRounds, 25)
	roundTime := envDuration(b, envRoundTime, 200*time.Millisecond)
	srv := startTracks(b, 20000, b.TempDir())
	dsn := srv.Config.DatabaseURL
	targets := []*target{
		newTarget("bare", startBareList(b, dsn, barePlain), "/api/v1/tracks", conns),
		newTarget("veza", strings.TrimPrefix(srv.URL, "http://"), "/api/v1/tracks?limit=20", conns),
		newTarget("gin", startGinList(b, dsn), "/api/v1/tracks", conns),
		newTarget("bare_deadline", startBareList(b, dsn, bareDeadline), "/api/v1/tracks", conns),
		newTarget("bare_prepared", startBareList(b, dsn, barePrepared), "/api/v1/tracks", conns),
	}
	sameAnswers(b, targets)
	if os.Getenv(envExplain) != "" {
		explain(b, srv.Runtime.DB())
	}
	var ratios, ratiosGin, ratiosDeadline, ratiosPrepared []float64
	r := 0
	sums := interleave(b, targets, rounds, roundTime, conns, func(got []sample) {
		r++
		ratios = append(ratios, got[1].rate()/got[0].rate())
		ratiosGin = append(ratiosGin, got[1].rate()/got[2].rate())
		ratiosDeadline = append(ratiosDeadline, got[1].rate()/got[3].rate())
		ratiosPrepared = append(ratiosPrepared, got[1].rate()/got[4].rate())
		line := fmt.Sprintf("round %d:", r)
		for i, t := range targets {
			line += fmt.Sprintf(" %s=%.0f/s", t.name, got[i].rate())
		}
		b.Log(line)
	})
	for i, t := range targets {
		b.ReportMetric(sums[i].rate(), t.name+"_req/s")
		b.ReportMetric(sums[i].cpuPerReq(), t.name+"_cpu_us/req")
	}
	b.ReportMetric(median(ratios), "ratio_list")
	b.ReportMetric(median(ratiosGin), "ratio_vs_gin")
	b.ReportMetric(median(ratiosDeadline), "ratio_list_vs_deadline")
	b.ReportMetric(median(ratiosPrepared), "ratio_list_vs_prepared")
	b.ReportMetric(0, "ns/op")
}
