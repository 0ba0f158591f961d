package tracks_test

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/veza/veza/app/apptest"
)

// With S3 storage (an in-process fake S3), uploads land in the bucket, the
// job processes them from there, and streams redirect to a presigned URL.
func TestS3Storage(t *testing.T) {
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer fake.Close()
	e := start(t, map[string]string{"STORAGE_BACKEND": "s3", "S3_ENDPOINT": strings.TrimPrefix(fake.URL, "http://"),
		"S3_BUCKET": "veza-tracks", "S3_ACCESS_KEY": "test-access", "S3_SECRET_KEY": "test-secret-key",
		"S3_USE_SSL": "false", "S3_PATH_STYLE": "true", "S3_REGION": "us-east-1"})
	_, tok := e.user(t, "maker", "creator")
	file := wav(t, 1)
	tr := e.uploadOK(t, tok, file, map[string]string{"title": "cloud"})
	if tr = e.ready(t, tok, tr.ID); tr.Status != "ready" || tr.DurationMS == nil || *tr.DurationMS < 950 {
		t.Fatalf("processed from S3: %+v", tr)
	}
	res, _ := get(t, e.URL+"/api/v1/tracks/"+tr.ID+"/stream")
	loc := res.Header.Get("Location")
	if res.StatusCode != 302 || !strings.HasPrefix(loc, fake.URL+"/veza-tracks/tracks/") || !strings.Contains(loc, "X-Amz-Signature=") {
		t.Fatalf("stream from S3: %d %q", res.StatusCode, loc)
	}
	res, body := get(t, loc, "Range", "bytes=0-99")
	if !bytes.Equal(body[:min(100, len(body))], file[:100]) {
		t.Fatalf("presigned URL: %d, %d bytes", res.StatusCode, len(body))
	}
	res, _ = get(t, e.URL+"/api/v1/tracks/"+tr.ID+"/download", "Authorization", "Bearer "+tok)
	if res.StatusCode != 302 || !strings.Contains(res.Header.Get("Location"), "response-content-disposition") {
		t.Fatalf("download from S3: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	e.Do(t, "DELETE", "/api/v1/tracks/"+tr.ID, nil, as(tok)...).Status(t, 204)
	apptest.Eventually(t, 10*time.Second, "object deleted", func() bool {
		r, _ := get(t, loc)
		return r.StatusCode == 404
	})
}
