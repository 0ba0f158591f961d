package tracks_test

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/app/moduletest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/tracks"
)

func TestModuleContract(t *testing.T) {
	moduletest.Check(t, tracks.Module(), moduletest.With(auth.Module()),
		moduletest.Env(map[string]string{"UPLOAD_DIR": t.TempDir()}))
}

// Upload a WAV, let it process, read its metadata and waveform, stream it
// whole and by ranges.
func TestUploadProcessStream(t *testing.T) {
	e := start(t, nil)
	_, tok := e.user(t, "maker", "creator")
	file := wav(t, 2.5)
	tr := e.uploadOK(t, tok, file, map[string]string{"title": "Sine", "genre": "Test", "tags": "Calm, sine,calm", "visibility": "public"})
	if tr.Status != "processing" || tr.Format != "wav" || tr.SizeBytes != int64(len(file)) || fmt.Sprint(tr.Tags) != "[calm sine]" {
		t.Fatalf("created %+v", tr)
	}
	tr = e.ready(t, tok, tr.ID)
	if tr.Status != "ready" || tr.DurationMS == nil || math.Abs(float64(*tr.DurationMS)-2500) > 50 ||
		*tr.SampleRate != 44100 || *tr.Channels != 2 || *tr.BitrateKbps < 1300 || *tr.BitrateKbps > 1500 {
		t.Fatalf("processed %+v (%v %v %v)", tr, deref(tr.DurationMS), tr.SampleRate, tr.Channels)
	}
	var st struct {
		Status     string `json:"status"`
		DurationMS int64  `json:"duration_ms"`
		Format     string `json:"format"`
	}
	e.Do(t, "GET", "/api/v1/tracks/"+tr.ID+"/status", nil).Status(t, 200).Data(t, &st)
	if st.Status != "ready" || st.Format != "wav" || st.DurationMS != *tr.DurationMS {
		t.Fatalf("status %+v", st)
	}
	var wf struct {
		Points []float64 `json:"points"`
	}
	e.Do(t, "GET", "/api/v1/tracks/"+tr.ID+"/waveform", nil).Status(t, 200).Data(t, &wf)
	if len(wf.Points) != 1000 || wf.Points[500] < 0.3 || wf.Points[500] > 1 {
		t.Fatalf("waveform: %d points, middle %v", len(wf.Points), wf.Points[min(500, len(wf.Points)-1)])
	}

	url := e.URL + "/api/v1/tracks/" + tr.ID + "/stream"
	res, body := get(t, url)
	if res.StatusCode != 200 || !bytes.Equal(body, file) || res.Header.Get("Content-Type") != "audio/wav" ||
		res.Header.Get("Accept-Ranges") != "bytes" || res.Header.Get("ETag") == "" || res.Header.Get("Last-Modified") == "" {
		t.Fatalf("stream: %d, %d bytes, headers %v", res.StatusCode, len(body), res.Header)
	}
	tag := res.Header.Get("ETag")
	res, body = get(t, url, "Range", "bytes=100-1099")
	if res.StatusCode != 206 || !bytes.Equal(body, file[100:1100]) ||
		res.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-1099/%d", len(file)) {
		t.Fatalf("range: %d %q %d bytes", res.StatusCode, res.Header.Get("Content-Range"), len(body))
	}
	res, body = get(t, url, "Range", "bytes=-64")
	if res.StatusCode != 206 || !bytes.Equal(body, file[len(file)-64:]) {
		t.Fatalf("suffix range: %d %d bytes", res.StatusCode, len(body))
	}
	res, body = get(t, url, "Range", fmt.Sprintf("bytes=%d-", len(file)+10))
	if res.StatusCode != 416 || !strings.Contains(string(body), `"range_not_satisfiable"`) ||
		res.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", len(file)) {
		t.Fatalf("unsatisfiable: %d %s %v", res.StatusCode, body, res.Header)
	}
	res, _ = get(t, url, "If-None-Match", tag)
	if res.StatusCode != 304 {
		t.Fatalf("If-None-Match: %d", res.StatusCode)
	}

	// Several requests from one listener count one play, off the request path.
	apptest.Eventually(t, 10*time.Second, "play counted", func() bool {
		var s struct{ Plays int }
		e.Do(t, "GET", "/api/v1/tracks/"+tr.ID+"/stats", nil).Status(t, 200).Data(t, &s)
		return s.Plays == 1
	})
	get(t, url)
	time.Sleep(time.Second)
	if n := e.count(t, `SELECT plays FROM tracks WHERE id = $1`, tr.ID); n != 1 {
		t.Fatalf("plays = %d after more streams in the same window", n)
	}
	get(t, url, "Authorization", "Bearer "+tok) // another listener: the account
	apptest.Eventually(t, 10*time.Second, "second listener counted", func() bool {
		return e.count(t, `SELECT plays FROM tracks WHERE id = $1`, tr.ID) == 2
	})
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE type IN ('track.created', 'track.processed')`); n != 2 {
		t.Fatalf("track events: %d", n)
	}
}

func deref(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// Real MP3, FLAC, OGG and M4A files: the format comes from the bytes.
func TestFormats(t *testing.T) {
	e := start(t, nil)
	_, tok := e.user(t, "maker", "creator")
	cases := []struct {
		file, format string
		rate, ch     int
		peaks        bool
	}{
		{"sine440_44100_stereo.mp3", "mp3", 44100, 2, true},
		{"sine440_48000_mono.mp3", "mp3", 48000, 1, true},
		{"sine440_48000_mono_id3.mp3", "mp3", 48000, 1, true}, // a 6 KB ID3 tag before the audio
		{"sine440_44100_stereo.flac", "flac", 44100, 2, true},
		{"sine440_44100_stereo.ogg", "ogg", 44100, 2, false},
		{"sine440_44100_stereo.m4a", "m4a", 44100, 2, false},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			tr := e.uploadOK(t, tok, fixture(t, c.file), map[string]string{"title": c.file})
			if tr.Format != c.format {
				t.Fatalf("format %s, want %s", tr.Format, c.format)
			}
			tr = e.ready(t, tok, tr.ID)
			if tr.Status != "ready" || *tr.SampleRate != c.rate || *tr.Channels != c.ch || tr.DurationMS == nil || *tr.DurationMS < 2500 {
				t.Fatalf("processed %+v", tr)
			}
			r := e.Do(t, "GET", "/api/v1/tracks/"+tr.ID+"/waveform", nil)
			if c.peaks {
				r.Status(t, 200)
			} else {
				r.ErrorCode(t, 409, "waveform_unavailable")
			}
		})
	}
}

func TestUploadRefusals(t *testing.T) {
	e := start(t, map[string]string{"VEZA_TRACKS_MAX_UPLOAD_MB": "1"})
	_, creator := e.user(t, "maker", "creator")
	_, listener := e.user(t, "fan", "user")
	// Not audio, whatever the name says.
	e.upload(t, creator, []byte("ID3 this is just text pretending to be an mp3 file"), map[string]string{"title": "fake"}).
		ErrorCode(t, 415, "unsupported_format")
	e.upload(t, creator, append([]byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, make([]byte, 5000)...), map[string]string{"title": "png"}).
		ErrorCode(t, 415, "unsupported_format")
	// Too large (1 MB cap; a 1.2 MB WAV, refused while it streams).
	e.upload(t, creator, wav(t, 7), map[string]string{"title": "big"}).ErrorCode(t, 413, "body_too_large")
	// Fields.
	for _, f := range []map[string]string{{}, {"title": strings.Repeat("x", 201)}, {"title": "ok", "visibility": "secret"}, {"title": "ok", "mood": "x"}} {
		e.upload(t, creator, wav(t, 0.2), f).ErrorCode(t, 422, "validation_failed")
	}
	e.upload(t, creator, nil, map[string]string{"title": "no file"}).ErrorCode(t, 422, "validation_failed")
	e.Do(t, "POST", "/api/v1/tracks", []byte(`{"title":"json"}`), "Content-Type", "application/json", "Authorization", "Bearer "+creator).
		ErrorCode(t, 415, "unsupported_media_type")
	// Roles.
	e.upload(t, listener, wav(t, 0.2), map[string]string{"title": "mine"}).ErrorCode(t, 403, "forbidden")
	ct, body := form(t, wav(t, 0.2), "a.wav", map[string]string{"title": "anon"})
	e.Do(t, "POST", "/api/v1/tracks", body, "Content-Type", ct).ErrorCode(t, 401, "unauthorized")
	// Nothing was kept.
	if n := e.count(t, `SELECT count(*) FROM tracks`); n != 0 {
		t.Fatalf("%d tracks after refusals", n)
	}
	if n := e.files(t); n != 0 {
		t.Fatalf("%d files left in storage after refusals", n)
	}
}

// An upload succeeds while Redis is down; it is processed once Redis is back.
func TestUploadDuringRedisOutage(t *testing.T) {
	e := start(t, nil)
	_, tok := e.user(t, "maker", "creator")
	e.Redis.Stop()
	tr := e.uploadOK(t, tok, wav(t, 1), map[string]string{"title": "in the dark"})
	time.Sleep(1500 * time.Millisecond)
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE type = 'tracks:process' AND dispatched_at IS NULL`); n != 1 {
		t.Fatalf("processing job not waiting in the outbox (%d)", n)
	}
	if err := e.Redis.Start(); err != nil {
		t.Fatal(err)
	}
	if tr = e.ready(t, tok, tr.ID); tr.Status != "ready" {
		t.Fatalf("after the outage: %+v", tr)
	}
}

func TestMetadataHistoryAndDelete(t *testing.T) {
	e := start(t, nil)
	ownerID, owner := e.user(t, "maker", "creator")
	_, admin := e.user(t, "boss", "admin")
	tr := e.uploadOK(t, owner, wav(t, 0.5), map[string]string{"title": "First"})
	e.ready(t, owner, tr.ID)
	var up track
	e.Do(t, "PUT", "/api/v1/tracks/"+tr.ID, map[string]any{"title": "Second", "visibility": "unlisted", "tags": []string{"a"}}, as(owner)...).Status(t, 200).Data(t, &up)
	if up.Title != "Second" || up.Visibility != "unlisted" {
		t.Fatalf("updated %+v", up)
	}
	e.Do(t, "PUT", "/api/v1/tracks/"+tr.ID, map[string]any{"genre": "ambient"}, as(admin)...).Status(t, 200)
	e.Do(t, "PUT", "/api/v1/tracks/"+tr.ID, map[string]any{"title": ""}, as(owner)...).ErrorCode(t, 422, "validation_failed")
	e.Do(t, "PUT", "/api/v1/tracks/"+tr.ID, map[string]any{"owner_id": "x"}, as(owner)...).ErrorCode(t, 422, "validation_failed")
	var hist struct {
		Items []struct {
			ActorID string                    `json:"actor_id"`
			Changes map[string]map[string]any `json:"changes"`
		} `json:"items"`
	}
	e.Do(t, "GET", "/api/v1/tracks/"+tr.ID+"/history", nil, as(owner)...).Status(t, 200).Data(t, &hist)
	if len(hist.Items) != 2 || hist.Items[1].ActorID != ownerID.String() || hist.Items[1].Changes["title"]["from"] != "First" ||
		hist.Items[1].Changes["title"]["to"] != "Second" || hist.Items[0].Changes["genre"]["to"] != "ambient" {
		t.Fatalf("history %+v", hist.Items)
	}
	if e.files(t) != 1 {
		t.Fatal("the file is not stored")
	}
	e.Do(t, "DELETE", "/api/v1/tracks/"+tr.ID, nil, as(owner)...).Status(t, 204)
	e.Do(t, "GET", "/api/v1/tracks/"+tr.ID, nil, as(owner)...).ErrorCode(t, 404, "not_found")
	apptest.Eventually(t, 10*time.Second, "file removed by the job", func() bool { return e.files(t) == 0 })
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE type IN ('track.updated', 'track.deleted')`); n != 3 {
		t.Fatalf("events: %d", n)
	}
}

// User B against every route of user A's private track: 404 everywhere.
// Against A's public track: reads work, writes are refused.
func TestVisibilityMatrix(t *testing.T) {
	e := start(t, nil)
	_, a := e.user(t, "alice", "creator")
	_, b := e.user(t, "bob", "creator")
	_, admin := e.user(t, "boss", "admin")
	private := e.uploadOK(t, a, wav(t, 0.3), map[string]string{"title": "secret", "visibility": "private"})
	public := e.uploadOK(t, a, wav(t, 0.3), map[string]string{"title": "open"})
	unlisted := e.uploadOK(t, a, wav(t, 0.3), map[string]string{"title": "hidden", "visibility": "unlisted"})
	for _, id := range []string{private.ID, public.ID, unlisted.ID} {
		e.ready(t, a, id)
	}
	routes := []struct{ method, suffix string }{
		{"GET", ""}, {"GET", "/status"}, {"GET", "/waveform"}, {"GET", "/stream"}, {"GET", "/download"},
		{"GET", "/stats"}, {"GET", "/history"}, {"PUT", ""}, {"DELETE", ""}, {"POST", "/share"},
	}
	body := func(m string) any {
		if m == "PUT" || m == "POST" {
			return map[string]any{}
		}
		return nil
	}
	for _, r := range routes {
		e.Do(t, r.method, "/api/v1/tracks/"+private.ID+r.suffix, body(r.method), as(b)...).ErrorCode(t, 404, "not_found")
		if r.suffix != "/download" && r.suffix != "/history" && r.method == "GET" {
			e.Do(t, r.method, "/api/v1/tracks/"+private.ID+r.suffix, nil).ErrorCode(t, 404, "not_found") // anonymous
		}
	}
	for _, r := range routes {
		res := e.Do(t, r.method, "/api/v1/tracks/"+public.ID+r.suffix, body(r.method), as(b)...)
		switch {
		case r.method == "GET" && r.suffix != "/download" && r.suffix != "/history":
			res.Status(t, 200)
		default:
			res.ErrorCode(t, 403, "forbidden")
		}
	}
	e.Do(t, "GET", "/api/v1/tracks/"+unlisted.ID, nil).Status(t, 200)
	e.Do(t, "GET", "/api/v1/tracks/"+private.ID, nil, as(a)...).Status(t, 200)
	e.Do(t, "GET", "/api/v1/tracks/"+private.ID+"/stream", nil, as(admin)...).Status(t, 200)
	res, _ := get(t, e.URL+"/api/v1/tracks/"+private.ID+"/download", "Authorization", "Bearer "+a)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Disposition"), `attachment; filename="secret.wav"`) {
		t.Fatalf("download: %d %v", res.StatusCode, res.Header)
	}
	// Listing shows public tracks only.
	var list struct {
		Items []track `json:"items"`
	}
	e.Do(t, "GET", "/api/v1/tracks", nil, as(a)...).Status(t, 200).Data(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != public.ID {
		t.Fatalf("listing %+v", list.Items)
	}
}

func TestShareLinks(t *testing.T) {
	e := start(t, nil)
	_, a := e.user(t, "alice", "creator")
	_, b := e.user(t, "bob", "creator")
	tr := e.uploadOK(t, a, wav(t, 0.3), map[string]string{"title": "secret", "visibility": "private"})
	var sh struct {
		ID, Token, URL string
		ExpiresAt      *time.Time `json:"expires_at"`
	}
	e.Do(t, "POST", "/api/v1/tracks/"+tr.ID+"/share", map[string]any{}, as(a)...).Status(t, 201).Data(t, &sh)
	// Without expires_in, a link lives max_share_ttl (a year by default).
	if sh.Token == "" || sh.URL != "https://veza.test/api/v1/tracks/shared/"+sh.Token || sh.ExpiresAt == nil ||
		time.Until(*sh.ExpiresAt) < 364*24*time.Hour || time.Until(*sh.ExpiresAt) > 366*24*time.Hour {
		t.Fatalf("share %+v", sh)
	}
	var got track
	e.Do(t, "GET", "/api/v1/tracks/shared/"+sh.Token, nil).Status(t, 200).Data(t, &got)
	if got.ID != tr.ID {
		t.Fatalf("shared track %+v", got)
	}
	e.Do(t, "DELETE", "/api/v1/tracks/share/"+sh.ID, nil, as(b)...).ErrorCode(t, 404, "not_found")
	e.Do(t, "DELETE", "/api/v1/tracks/share/"+sh.ID, nil, as(a)...).Status(t, 204)
	e.Do(t, "GET", "/api/v1/tracks/shared/"+sh.Token, nil).ErrorCode(t, 404, "not_found")
	e.Do(t, "POST", "/api/v1/tracks/"+tr.ID+"/share", map[string]any{"expires_in": 1}, as(a)...).Status(t, 201).Data(t, &sh)
	e.Do(t, "GET", "/api/v1/tracks/shared/"+sh.Token, nil).Status(t, 200)
	time.Sleep(1100 * time.Millisecond)
	e.Do(t, "GET", "/api/v1/tracks/shared/"+sh.Token, nil).ErrorCode(t, 404, "not_found")
	e.Do(t, "POST", "/api/v1/tracks/"+tr.ID+"/share", map[string]any{"expires_in": -5}, as(a)...).ErrorCode(t, 422, "validation_failed")
	e.Do(t, "GET", "/api/v1/tracks/shared/not-a-token", nil).ErrorCode(t, 404, "not_found")
}

// A share link's token is a credential: the access log shows the route
// with [redacted] in its place, never the token.
func TestShareTokenNotLogged(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	e := startLogged(t, nil, zap.New(core))
	_, a := e.user(t, "alice", "creator")
	tr := e.uploadOK(t, a, wav(t, 0.3), map[string]string{"title": "hush"})
	var sh struct{ Token string }
	e.Do(t, "POST", "/api/v1/tracks/"+tr.ID+"/share", map[string]any{}, as(a)...).Status(t, 201).Data(t, &sh)
	e.Do(t, "GET", "/api/v1/tracks/shared/"+sh.Token, nil).Status(t, 200)
	e.Do(t, "GET", "/api/v1/tracks/shared/"+sh.Token+"x", nil).ErrorCode(t, 404, "not_found")
	e.Do(t, "GET", "/api/v1/tracks/shared/"+sh.Token+"/stream", nil) // 409 or 200: the track may be processed by now
	e.Do(t, "HEAD", "/api/v1/tracks/shared/"+sh.Token+"x/stream", nil).Status(t, 404)
	redacted := map[string]int{}
	for _, entry := range logs.All() {
		for k, v := range entry.ContextMap() {
			if s := fmt.Sprint(v); strings.Contains(s, sh.Token) {
				t.Fatalf("the share token is in the log (%s: %s): %+v", k, s, entry)
			}
		}
		if p, ok := entry.ContextMap()["path"].(string); ok && strings.Contains(p, "[redacted]") {
			redacted[p]++
		}
	}
	if redacted["/api/v1/tracks/shared/[redacted]"] != 2 || redacted["/api/v1/tracks/shared/[redacted]/stream"] != 2 {
		t.Fatalf("access lines with the redacted path: %v, want 2 of each route", redacted)
	}
}

func TestStreamServerCallback(t *testing.T) {
	key := strings.Repeat("k", 32)
	e := start(t, map[string]string{"STREAM_SERVER_INTERNAL_API_KEY": key})
	_, a := e.user(t, "alice", "creator")
	tr := e.uploadOK(t, a, append(fixture(t, "sine440_44100_stereo.ogg")[:5000:5000], make([]byte, 10)...), map[string]string{"title": "broken"})
	if got := e.ready(t, a, tr.ID); got.Status != "failed" || got.Error == nil {
		t.Fatalf("a truncated file: %+v", got)
	}
	e.Do(t, "POST", "/api/v1/internal/tracks/"+tr.ID+"/stream-ready", nil).ErrorCode(t, 401, "invalid_api_key")
	e.Do(t, "POST", "/api/v1/internal/tracks/"+tr.ID+"/stream-ready", nil, "X-Internal-API-Key", key+"x").ErrorCode(t, 401, "invalid_api_key")
	e.Do(t, "POST", "/api/v1/internal/tracks/"+tr.ID+"/stream-ready", nil, "X-Internal-API-Key", key).Status(t, 200)
	if got := e.ready(t, a, tr.ID); got.Status != "ready" {
		t.Fatalf("after the callback: %+v", got)
	}
}
