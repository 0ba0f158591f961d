package tracks_test

import (
	"testing"
	"time"

	"github.com/veza/veza/modules/tracks/clamav/clamavtest"
)

func TestVirusScan(t *testing.T) {
	fake := clamavtest.Start(t, 0)
	e := start(t, map[string]string{"CLAMAV_ADDRESS": fake.Addr()})
	_, tok := e.user(t, "maker", "creator")
	clean := e.uploadOK(t, tok, wav(t, 0.3), map[string]string{"title": "clean"})
	if clean.ScanStatus != "clean" || fake.Scans() != 1 {
		t.Fatalf("clean upload: %+v, %d scans", clean, fake.Scans())
	}
	infected := append(wav(t, 0.3), []byte(clamavtest.EICAR)...)
	e.upload(t, tok, infected, map[string]string{"title": "bad"}).ErrorCode(t, 422, "infected_file")
	if n := e.count(t, `SELECT count(*) FROM tracks`); n != 1 {
		t.Fatalf("%d tracks: the infected one was kept", n)
	}
	if n := e.files(t); n != 1 {
		t.Fatalf("%d files: the infected one was kept", n)
	}

	// clamd down: accepted unscanned unless required.
	fake.Close()
	time.Sleep(50 * time.Millisecond)
	if tr := e.uploadOK(t, tok, wav(t, 0.3), map[string]string{"title": "unscanned"}); tr.ScanStatus != "unscanned" {
		t.Fatalf("clamd down, not required: %+v", tr)
	}
	strict := start(t, map[string]string{"CLAMAV_ADDRESS": fake.Addr(), "CLAMAV_REQUIRED": "true"})
	_, tok2 := strict.user(t, "maker", "creator")
	r := strict.upload(t, tok2, wav(t, 0.3), map[string]string{"title": "refused"})
	r.ErrorCode(t, 503, "scanner_unavailable")
	if n := strict.files(t); n != 0 {
		t.Fatalf("%d files kept while the scanner was required and down", n)
	}
}
