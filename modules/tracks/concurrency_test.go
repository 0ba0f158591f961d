package tracks_test

import (
	"testing"
)

// Past MAX_CONCURRENT_UPLOADS, an upload is refused at once with 503 and
// Retry-After; the uploads in progress are not disturbed.
func TestConcurrentUploadsPastTheLimit(t *testing.T) {
	e := start(t, map[string]string{"MAX_CONCURRENT_UPLOADS": "2"})
	_, tok := e.user(t, "maker", "creator")
	_, another := e.user(t, "another", "creator") // the first one is at its own limit
	inProgress := e.slowUploads(t, tok, 2)        // send their first megabyte, then wait
	r := e.upload(t, another, wav(t, 0.2), map[string]string{"title": "third"})
	r.ErrorCode(t, 503, "too_many_uploads")
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	inProgress.finish(t)
	e.uploadOK(t, tok, wav(t, 0.2), map[string]string{"title": "after"})
}

// tmpFiles counts uploads being written (storage's staging folder).
func tmpFiles(e *env) int {
	entries, _ := readDir(e.uploads + "/.tmp")
	return len(entries)
}
