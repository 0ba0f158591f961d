package auth_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/veza/veza/modules/auth/authapi"
)

// userEvents returns the payloads of the events of type typ about id, in
// the order they were published.
func (e *env) userEvents(t testing.TB, typ, id string) []authapi.UserEvent {
	t.Helper()
	var rows []string
	err := e.Runtime.DB().Select(&rows, `SELECT payload::text FROM outbox WHERE type = $1 AND $2::uuid = ANY(audience)
		ORDER BY created_at, id`, typ, id)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]authapi.UserEvent, len(rows))
	for i, r := range rows {
		if err := json.Unmarshal([]byte(r), &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// user.registered and user.updated carry the public profile, so that
// another module can keep a copy of it from the events alone; their at is
// the account's updated_at, which orders its changes.
func TestUserEventsCarryThePublicProfile(t *testing.T) {
	e := start(t, nil)
	u, tk := e.account(t, "ada")
	reg := e.userEvents(t, authapi.EventUserRegistered, u.ID)
	if len(reg) != 1 || reg[0].UserID.String() != u.ID || reg[0].Username != "ada" || reg[0].At.IsZero() {
		t.Fatalf("user.registered = %+v", reg)
	}
	var raw string
	if err := e.Runtime.DB().Get(&raw, `SELECT payload::text FROM outbox WHERE type = 'user.registered'`); err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"user_id", "username", "display_name", "avatar_url", "at"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("user.registered has no %s: %s", f, raw)
		}
	}

	e.Do(t, "PUT", "/api/v1/users/"+u.ID, map[string]any{"display_name": "Ada", "avatar_url": "https://cdn.example.com/a.png"}, bearer(tk)...).Status(t, 200)
	e.Do(t, "PUT", "/api/v1/users/"+u.ID, map[string]any{"bio": "no event for this"}, bearer(tk)...).Status(t, 200)
	e.Do(t, "PUT", "/api/v1/users/"+u.ID, map[string]any{"display_name": "Ada"}, bearer(tk)...).Status(t, 200) // no change
	e.Do(t, "PUT", "/api/v1/users/"+u.ID, map[string]any{"avatar_url": ""}, bearer(tk)...).Status(t, 200)
	got := e.userEvents(t, authapi.EventUserUpdated, u.ID)
	if len(got) != 2 {
		t.Fatalf("%d user.updated events, want 2 (profile changes only): %+v", len(got), got)
	}
	if got[0].DisplayName != "Ada" || got[0].AvatarURL != "https://cdn.example.com/a.png" || got[1].DisplayName != "Ada" || got[1].AvatarURL != "" {
		t.Fatalf("user.updated payloads = %+v", got)
	}
	if !reg[0].At.Before(got[0].At) || !got[0].At.Before(got[1].At) {
		t.Fatalf("at does not increase: %s, %s, %s", reg[0].At, got[0].At, got[1].At)
	}
	var updated time.Time
	if err := e.Runtime.DB().Get(&updated, `SELECT updated_at FROM users WHERE id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	if !updated.Equal(got[1].At) {
		t.Fatalf("the last event's at %s is not the account's updated_at %s", got[1].At, updated)
	}
}

// Concurrent profile changes neither undo each other nor publish events
// whose order by at differs from the order of the changes: the event with
// the latest at holds the profile as it ends.
func TestConcurrentProfileChangesKeepTheirOrder(t *testing.T) {
	e := start(t, nil)
	u, tk := e.account(t, "grace")
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := map[string]any{"display_name": fmt.Sprintf("Grace %d", i)}
			if i == 0 {
				body = map[string]any{"avatar_url": "https://cdn.example.com/g.png"}
			}
			// Not Status: FailNow belongs to the test's goroutine.
			if res := e.Do(t, "PUT", "/api/v1/users/"+u.ID, body, bearer(tk)...); res.StatusCode != 200 {
				t.Errorf("change %d: status %d: %s", i, res.StatusCode, res.Body)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	var final struct {
		DisplayName string `db:"display_name"`
		AvatarURL   string `db:"avatar_url"`
	}
	if err := e.Runtime.DB().Get(&final, `SELECT display_name, avatar_url FROM users WHERE id = $1`, u.ID); err != nil {
		t.Fatal(err)
	}
	if final.AvatarURL != "https://cdn.example.com/g.png" {
		t.Fatalf("a concurrent change undid the avatar: %+v", final)
	}
	got := e.userEvents(t, authapi.EventUserUpdated, u.ID)
	latest := got[0]
	seen := map[time.Time]bool{}
	for _, ev := range got {
		if seen[ev.At] {
			t.Fatalf("two events share at %s: %+v", ev.At, got)
		}
		seen[ev.At] = true
		if ev.At.After(latest.At) {
			latest = ev
		}
	}
	if latest.DisplayName != final.DisplayName || latest.AvatarURL != final.AvatarURL {
		t.Fatalf("the latest event %+v is not the final profile %+v", latest, final)
	}
}
