package social_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/webhooks"
)

// receiver records the webhook deliveries it gets: event type and data.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []delivered
	seen map[string]bool
}

type delivered struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{seen: map[string]bool{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var d delivered
		_ = json.Unmarshal(body, &d)
		r.mu.Lock()
		if id := req.Header.Get("webhook-id"); !r.seen[id] { // retries keep their id
			r.seen[id] = true
			r.got = append(r.got, d)
		}
		r.mu.Unlock()
		w.WriteHeader(204)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.got))
	for i, d := range r.got {
		out[i] = d.Type
	}
	slices.Sort(out)
	return out
}

func (r *receiver) data(typ string) json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.got {
		if d.Type == typ {
			return d.Data
		}
	}
	return nil
}

// Webhooks deliver social's public events to the users they concern: the
// liked or commented track's owner, the followed user; nobody else's
// endpoint receives them, and the internal ones (user.unfollowed, the
// reconciliations' batches) are not in the catalogue.
func TestWebhooksDeliverToTheOwners(t *testing.T) {
	e := start(t, map[string]string{"VEZA_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true", "VEZA_WEBHOOKS_RETRY_SCHEDULE": "1s",
		"VEZA_WEBHOOKS_RETRY_JITTER": "0"}, webhooks.Module())
	var catalog []struct {
		Type string `json:"type"`
	}
	e.Do(t, "GET", "/api/v1/webhooks/events", nil).Status(t, 200).Data(t, &catalog)
	listed := map[string]bool{}
	for _, c := range catalog {
		listed[c.Type] = true
	}
	public := []string{"comment.created", "comment.deleted", "track.liked", "track.unliked", "user.followed"}
	for _, typ := range public {
		if !listed[typ] {
			t.Errorf("the catalogue lacks %s", typ)
		}
	}
	for _, typ := range []string{"user.unfollowed", "social.track_counts_reconciled", "social.user_counts_reconciled"} {
		if listed[typ] {
			t.Errorf("the catalogue offers the internal %s", typ)
		}
	}

	owner, fan, other := e.user(t, "owner", "creator"), e.user(t, "fan", "user"), e.user(t, "other", "user")
	hooks := map[string]*receiver{}
	for _, a := range []account{owner, fan, other} {
		hooks[a.Name] = newReceiver(t)
		e.Do(t, "POST", "/api/v1/webhooks", map[string]any{"url": hooks[a.Name].URL, "events": public}, as(a)...).Status(t, 201)
	}
	tr := e.upload(t, owner, "Hooked", "public")
	e.Do(t, "POST", likePath(tr.ID), nil, as(fan)...).Status(t, 200)
	e.Do(t, "DELETE", likePath(tr.ID), nil, as(fan)...).Status(t, 204)
	c := e.comment(t, fan, tr.ID, map[string]any{"body": "<i>nice</i>", "at_ms": 50})
	e.Do(t, "DELETE", "/api/v1/comments/"+c.ID.String(), nil, as(owner)...).Status(t, 204)
	e.Do(t, "POST", followPath(owner.ID), nil, as(fan)...).Status(t, 200)
	e.Do(t, "DELETE", followPath(owner.ID), nil, as(fan)...).Status(t, 204)
	e.Do(t, "POST", followPath(fan.ID), nil, as(owner)...).Status(t, 200)

	apptest.Eventually(t, 20*time.Second, "the owner's deliveries", func() bool { return slices.Equal(hooks["owner"].types(), public) })
	apptest.Eventually(t, 20*time.Second, "the fan's delivery", func() bool {
		return slices.Equal(hooks["fan"].types(), []string{"user.followed"})
	})
	var like struct {
		TrackID      uuid.UUID `json:"track_id"`
		TrackOwnerID uuid.UUID `json:"track_owner_id"`
		UserID       uuid.UUID `json:"user_id"`
		LikeCount    int64     `json:"like_count"`
	}
	if err := json.Unmarshal(hooks["owner"].data("track.liked"), &like); err != nil || like.TrackID != tr.ID ||
		like.UserID != fan.ID || like.TrackOwnerID != owner.ID || like.LikeCount != 1 {
		t.Fatalf("track.liked data %+v (%v)", like, err)
	}
	var comment struct {
		Body      string     `json:"body"`
		DeletedBy *uuid.UUID `json:"deleted_by"`
	}
	if err := json.Unmarshal(hooks["owner"].data("comment.deleted"), &comment); err != nil || comment.Body != "<i>nice</i>" ||
		comment.DeletedBy == nil || *comment.DeletedBy != owner.ID {
		t.Fatalf("comment.deleted data %+v (%v)", comment, err)
	}
	e.WaitOutbox(t, 10*time.Second)
	time.Sleep(300 * time.Millisecond) // time for a wrongly routed delivery to arrive
	if got := hooks["other"].types(); len(got) != 0 {
		t.Fatalf("a bystander's endpoint received %v", got)
	}
	if got := hooks["fan"].types(); len(got) != 1 {
		t.Fatalf("the fan received %v, want only being followed", got)
	}
}
