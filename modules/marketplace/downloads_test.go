package marketplace_test

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

type link struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (e *env) link(t testing.TB, token string, product uuid.UUID) link {
	t.Helper()
	var l link
	e.Do(t, "GET", "/api/v1/marketplace/download/"+product.String(), nil, as(token)...).Status(t, 200).Data(t, &l)
	return l
}

// A download URL works without a bearer token for its lifetime only, and
// only as it was signed: without a licence there is none, and a URL
// tampered with or expired is 403. Its token, like the checkout's, never
// reaches the logs.
func TestDownloadLinks(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	e := startLogged(t, map[string]string{"VEZA_MARKETPLACE_DOWNLOAD_TTL": "3s", "LOG_LEVEL": "info"}, zap.New(core))
	_, seller := e.user(t, "seller", "creator")
	_, buyer := e.user(t, "buyer", "user")
	_, other := e.user(t, "other", "user")
	track, file := e.upload(t, seller, "Stems")
	p := e.product(t, seller, track, "basic", 1500)

	e.Do(t, "GET", "/api/v1/marketplace/download/"+p.ID.String(), nil, as(buyer)...).ErrorCode(t, 403, "no_license")
	e.Do(t, "GET", "/api/v1/marketplace/download/"+uuid.NewString(), nil, as(buyer)...).ErrorCode(t, 403, "no_license")
	e.Do(t, "GET", "/api/v1/marketplace/download/"+p.ID.String(), nil).ErrorCode(t, 401, "unauthorized")
	o := e.pay(t, buyer, p.ID)
	e.Do(t, "GET", "/api/v1/marketplace/download/"+p.ID.String(), nil, as(other)...).ErrorCode(t, 403, "no_license")

	l := e.link(t, buyer, p.ID)
	path := e.local(t, l.URL)
	if got := e.Do(t, "GET", path, nil).Status(t, 200); !bytes.Equal(got.Body, file) {
		t.Fatalf("downloaded %d bytes, want the %d uploaded", len(got.Body), len(file))
	}
	token := path[strings.LastIndexByte(path, '/')+1:]
	body, sig, _ := strings.Cut(token, ".")
	for what, bad := range map[string]string{
		"signature changed": body + "." + flip(sig),
		"payload changed":   flip(body) + "." + sig,
		"signature cut":     body + "." + sig[:len(sig)-4],
		"no signature":      body,
		"another licence":   strings.Replace(token, body[:8], "AAAAAAAA", 1),
		"garbage":           "not-a-token",
	} {
		if res := e.Do(t, "GET", "/api/v1/marketplace/files/"+bad, nil); res.StatusCode != 403 {
			t.Errorf("%s: %d, want 403", what, res.StatusCode)
		}
	}
	time.Sleep(time.Until(l.ExpiresAt) + 100*time.Millisecond)
	e.Do(t, "GET", path, nil).ErrorCode(t, 403, "link_expired")

	var redacted bool
	for _, entry := range logs.All() {
		line := entry.Message
		for _, f := range entry.Context {
			line += " " + f.String
		}
		if strings.Contains(line, sig) || strings.Contains(line, e.local(t, o.Payment.CheckoutURL)) {
			t.Fatalf("a token reached the logs: %s", line)
		}
		redacted = redacted || strings.Contains(line, "/api/v1/marketplace/files/[redacted]")
	}
	if !redacted {
		t.Fatal("no access line shows the download path, redacted")
	}
}

// flip changes the first character of a base64url string.
func flip(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

// On S3 the signed URL redirects to a presigned URL of the store, which
// serves the original as an attachment.
func TestDownloadFromS3(t *testing.T) {
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer fake.Close()
	e := start(t, map[string]string{"STORAGE_BACKEND": "s3", "S3_ENDPOINT": strings.TrimPrefix(fake.URL, "http://"),
		"S3_BUCKET": "veza", "S3_ACCESS_KEY": "test-access", "S3_SECRET_KEY": "test-secret-key",
		"S3_USE_SSL": "false", "S3_PATH_STYLE": "true", "S3_REGION": "us-east-1"})
	_, seller := e.user(t, "seller", "creator")
	_, buyer := e.user(t, "buyer", "user")
	track, file := e.upload(t, seller, "Cloud")
	p := e.product(t, seller, track, "premium", 2500)
	e.pay(t, buyer, p.ID)
	res, _ := noRedirect(t, e.URL+e.local(t, e.link(t, buyer, p.ID).URL))
	loc := res.Header.Get("Location")
	if res.StatusCode != 302 || !strings.HasPrefix(loc, fake.URL+"/veza/tracks/") || !strings.Contains(loc, "X-Amz-Signature=") ||
		!strings.Contains(loc, "response-content-disposition=attachment") {
		t.Fatalf("download from S3: %d %q", res.StatusCode, loc)
	}
	if _, got := noRedirect(t, loc); !bytes.Equal(got, file) {
		t.Fatalf("the presigned URL gave %d bytes, want %d", len(got), len(file))
	}
}
