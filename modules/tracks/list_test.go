package tracks_test

import (
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// seed inserts n ready public tracks of owner directly, oldest first.
func (e *env) seed(t testing.TB, owner uuid.UUID, n int, genre string, title func(i int) string) []string {
	t.Helper()
	ids := make([]string, n)
	base := time.Now().Add(-time.Hour)
	for i := 0; i < n; i++ {
		id := uuid.Must(uuid.NewV7())
		ids[i] = id.String()
		_, err := e.Runtime.DB().Exec(`INSERT INTO tracks (id, owner_id, title, genre, visibility, status, format, content_type,
			size_bytes, storage_key, plays, created_at) VALUES ($1, $2, $3, $4, 'public', 'ready', 'wav', 'audio/wav', 1, $5, $6, $7)`,
			id, owner, title(i), genre, "aa/"+id.String()+".wav", i%7, base.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

type listPage struct {
	Items      []track `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// walk reads every page of a listing, calling between after each page.
func (e *env) walk(t testing.TB, query string, limit int, between func()) []track {
	t.Helper()
	var all []track
	cursor := ""
	for pages := 0; pages < 1000; pages++ {
		q := query + "&limit=" + fmt.Sprint(limit)
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		var p listPage
		e.Do(t, "GET", "/api/v1/tracks?"+q, nil).Status(t, 200).Data(t, &p)
		all = append(all, p.Items...)
		if p.NextCursor == nil {
			return all
		}
		cursor = *p.NextCursor
		if between != nil {
			between()
		}
	}
	t.Fatal("more than 1000 pages")
	return nil
}

// Keyset pages are stable: walking them while tracks are being inserted
// shows every track that existed once, in order, with no gap.
func TestListingPages(t *testing.T) {
	e := start(t, nil)
	owner, _ := e.user(t, "maker", "creator")
	other, _ := e.user(t, "other", "creator")
	ids := e.seed(t, owner, 53, "ambient", func(i int) string { return fmt.Sprintf("Track %d", i) })
	e.seed(t, other, 5, "techno", func(i int) string { return fmt.Sprintf("Night drive %d", i) })

	var mu sync.Mutex
	inserted := 0
	insertOne := func() {
		mu.Lock()
		defer mu.Unlock()
		inserted++
		e.seed(t, other, 1, "techno", func(int) string { return "late arrival" })
	}
	for _, sort := range []string{"new", "popular"} {
		got := e.walk(t, "genre=ambient&sort="+sort, 7, insertOne)
		seen := map[string]int{}
		for _, tr := range got {
			seen[tr.ID]++
		}
		for _, id := range ids {
			if seen[id] != 1 {
				t.Fatalf("sort=%s: track %s seen %d times", sort, id, seen[id])
			}
		}
		if len(got) != len(ids) {
			t.Fatalf("sort=%s: %d items for %d tracks", sort, len(got), len(ids))
		}
		for i := 1; i < len(got); i++ {
			if sort == "popular" && got[i].Plays > got[i-1].Plays {
				t.Fatalf("popular order broken at %d", i)
			}
		}
	}
	if got := e.walk(t, "sort=new&user_id="+other.String(), 100, nil); len(got) != 5+inserted {
		t.Fatalf("user_id filter: %d, want %d", len(got), 5+inserted)
	}
	if got := e.walk(t, "q="+url.QueryEscape("night drive"), 100, nil); len(got) != 5 {
		t.Fatalf("full-text: %d results", len(got))
	}
	for _, bad := range []string{"limit=0", "limit=101", "limit=x", "sort=loud", "cursor=%%%", "cursor=bm90LWpzb24", "user_id=nope"} {
		e.Do(t, "GET", "/api/v1/tracks?"+bad, nil).Status(t, 400)
	}
}

// GET /tracks lists public tracks only, whoever asks and whoever's tracks
// they ask for: an unlisted track is for those who have its id or link.
func TestListingLeavesOutUnlistedAndPrivate(t *testing.T) {
	e := start(t, nil)
	owner, ownerTok := e.user(t, "maker", "creator")
	_, otherTok := e.user(t, "other", "creator")
	public := e.seed(t, owner, 1, "ambient", func(int) string { return "open" })[0]
	for _, vis := range []string{"unlisted", "private"} {
		id := e.seed(t, owner, 1, "ambient", func(int) string { return "hidden " + vis })[0]
		if _, err := e.Runtime.DB().Exec(`UPDATE tracks SET visibility = $2 WHERE id = $1`, id, vis); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{"user_id=" + owner.String(), "genre=ambient", "q=hidden", ""} {
		for _, tok := range []string{"", otherTok, ownerTok} {
			var headers []string
			if tok != "" {
				headers = as(tok)
			}
			var p listPage
			e.Do(t, "GET", "/api/v1/tracks?"+q, nil, headers...).Status(t, 200).Data(t, &p)
			want := 1
			if q == "q=hidden" {
				want = 0
			}
			if len(p.Items) != want || (want == 1 && p.Items[0].ID != public) {
				t.Fatalf("GET /tracks?%s: %+v", q, p.Items)
			}
		}
	}
}
