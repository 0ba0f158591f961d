package tracks_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/veza/veza/app/apptest"
)

// expires_in is a whole number of seconds from 1 to max_share_ttl: anything
// else is refused with 422, and no value, however large, overflows into a
// link that expired before it was made.
func TestShareExpiresIn(t *testing.T) {
	e := start(t, nil)
	_, a := e.user(t, "alice", "creator")
	tr := e.uploadOK(t, a, wav(t, 0.3), map[string]string{"title": "shared"})
	const year = 365 * 24 * 60 * 60
	refused := []string{
		`1e18`, `9223372036854775807`, `9223372036854775808`, `99999999999999999999999`, `-9223372036854775808`,
		`-5`, `0`, `-0`, `1.5`, `3600.0`, `1e3`, `"3600"`, `""`, `true`, `{}`, `[3600]`, `31536001`,
	}
	for _, v := range refused {
		body := []byte(`{"expires_in": ` + v + `}`)
		env := e.Do(t, "POST", "/api/v1/tracks/"+tr.ID+"/share", body, append(as(a), "Content-Type", "application/json")...).
			ErrorCode(t, 422, "validation_failed")
		if len(env.Error.Details) != 1 || env.Error.Details[0].Field != "expires_in" {
			t.Fatalf("expires_in %s: details %+v", v, env.Error.Details)
		}
	}
	accepted := map[string]time.Duration{`1`: time.Second, `3600`: time.Hour, `31536000`: year * time.Second,
		`null`: year * time.Second, ``: year * time.Second}
	for v, life := range accepted {
		body := []byte(`{"expires_in": ` + v + `}`)
		if v == "" {
			body = []byte(`{}`)
		}
		var sh struct {
			ExpiresAt *time.Time `json:"expires_at"`
		}
		e.Do(t, "POST", "/api/v1/tracks/"+tr.ID+"/share", body, append(as(a), "Content-Type", "application/json")...).
			Status(t, 201).Data(t, &sh)
		if sh.ExpiresAt == nil || absDuration(time.Until(*sh.ExpiresAt)-life) > time.Minute {
			t.Fatalf("expires_in %q: expires at %v, want in %s", v, sh.ExpiresAt, life)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM track_shares`); n != len(accepted) {
		t.Fatalf("%d links made, want %d", n, len(accepted))
	}
	if n := e.count(t, `SELECT count(*) FROM track_shares WHERE expires_at IS NULL OR expires_at <= created_at`); n != 0 {
		t.Fatalf("%d links expire at once or never", n)
	}

	// With no bound (max_share_ttl 0), a link may be permanent, and a
	// century is the most expires_in takes.
	e = start(t, map[string]string{"VEZA_TRACKS_MAX_SHARE_TTL": "0"})
	_, a = e.user(t, "alice", "creator")
	tr = e.uploadOK(t, a, wav(t, 0.3), map[string]string{"title": "shared"})
	var sh struct {
		ExpiresAt *time.Time `json:"expires_at"`
	}
	e.Do(t, "POST", "/api/v1/tracks/"+tr.ID+"/share", map[string]any{}, as(a)...).Status(t, 201).Data(t, &sh)
	if sh.ExpiresAt != nil {
		t.Fatalf("without a bound or expires_in, the link expires at %v", sh.ExpiresAt)
	}
	for _, v := range []any{json.Number("9223372036854775807"), json.Number("3153600001")} {
		e.Do(t, "POST", "/api/v1/tracks/"+tr.ID+"/share", map[string]any{"expires_in": v}, as(a)...).ErrorCode(t, 422, "validation_failed")
	}
	e.Do(t, "POST", "/api/v1/tracks/"+tr.ID+"/share", map[string]any{"expires_in": 3153600000}, as(a)...).Status(t, 201)
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// A share link plays: the track it shows has the link's own stream as
// stream_url, which an anonymous recipient plays (whole and by ranges) even
// when the track is private; once the link is revoked or expired, its
// stream is gone too.
func TestSharedStream(t *testing.T) {
	e := start(t, nil)
	_, a := e.user(t, "alice", "creator")
	file := wav(t, 0.5)
	tr := e.uploadOK(t, a, file, map[string]string{"title": "secret", "visibility": "private"})
	e.ready(t, a, tr.ID)
	var sh struct{ ID, Token string }
	e.Do(t, "POST", "/api/v1/tracks/"+tr.ID+"/share", map[string]any{}, as(a)...).Status(t, 201).Data(t, &sh)

	var got struct {
		ID        string `json:"id"`
		StreamURL string `json:"stream_url"`
	}
	e.Do(t, "GET", "/api/v1/tracks/shared/"+sh.Token, nil).Status(t, 200).Data(t, &got)
	if got.ID != tr.ID || got.StreamURL != "/api/v1/tracks/shared/"+sh.Token+"/stream" {
		t.Fatalf("shared track %+v", got)
	}
	e.Do(t, "GET", "/api/v1/tracks/"+tr.ID+"/stream", nil).ErrorCode(t, 404, "not_found") // the track itself stays private
	res, body := fetch(t, "GET", e.URL+got.StreamURL)
	if res.StatusCode != 200 || !bytes.Equal(body, file) || res.Header.Get("Content-Type") != "audio/wav" ||
		res.Header.Get("Cache-Control") != "private, no-cache" {
		t.Fatalf("shared stream: %d, %d bytes, %v", res.StatusCode, len(body), res.Header)
	}
	res, body = fetch(t, "GET", e.URL+got.StreamURL, "Range", "bytes=44-1043")
	if res.StatusCode != 206 || !bytes.Equal(body, file[44:1044]) {
		t.Fatalf("shared stream by range: %d, %d bytes", res.StatusCode, len(body))
	}
	apptest.Eventually(t, 10*time.Second, "the recipient's play counted", func() bool {
		return e.count(t, `SELECT plays FROM tracks WHERE id = $1`, tr.ID) == 1
	})

	e.Do(t, "DELETE", "/api/v1/tracks/share/"+sh.ID, nil, as(a)...).Status(t, 204)
	for _, m := range []string{"GET", "HEAD"} {
		if res, _ := fetch(t, m, e.URL+got.StreamURL); res.StatusCode != 404 {
			t.Fatalf("%s of a revoked link's stream: %d", m, res.StatusCode)
		}
	}
	e.Do(t, "GET", got.StreamURL, nil).ErrorCode(t, 404, "not_found")

	e.Do(t, "POST", "/api/v1/tracks/"+tr.ID+"/share", map[string]any{"expires_in": 1}, as(a)...).Status(t, 201).Data(t, &sh)
	e.Do(t, "GET", "/api/v1/tracks/shared/"+sh.Token+"/stream", nil, "Range", "bytes=0-9").Status(t, 206)
	time.Sleep(1100 * time.Millisecond)
	e.Do(t, "GET", "/api/v1/tracks/shared/"+sh.Token+"/stream", nil).ErrorCode(t, 404, "not_found")
	e.Do(t, "GET", "/api/v1/tracks/shared/not-a-token/stream", nil).ErrorCode(t, 404, "not_found")
}
