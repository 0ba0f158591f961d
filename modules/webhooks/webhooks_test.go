package webhooks_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/app/moduletest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/webhooks"
)

func TestModuleContract(t *testing.T) {
	moduletest.Check(t, webhooks.Module(), moduletest.With(auth.Module()))
}

func TestCatalogAndValidation(t *testing.T) {
	e := start(t, nil)
	var catalog []struct {
		Type, Description string
		Example           any
	}
	e.Do(t, "GET", "/api/v1/webhooks/events", nil).Status(t, 200).Data(t, &catalog)
	types := map[string]bool{}
	for _, c := range catalog {
		types[c.Type] = c.Description != "" && c.Example != nil
	}
	for _, want := range []string{"user.registered", "user.verified", "user.password_changed", "thing.happened", "webhook.endpoint_disabled"} {
		if !types[want] {
			t.Errorf("catalogue lacks a documented %s: %+v", want, catalog)
		}
	}
	e.user(t, "ann")
	tok := e.login(t, "ann")
	ep := e.endpoint(t, tok, map[string]any{"url": "https://hooks.example.com/in", "events": []string{"thing.happened"}, "description": "mine"})
	if !strings.HasPrefix(ep.Secret, "whsec_") || len(ep.Secret) != len("whsec_")+44 || ep.Scope != "user" || !ep.Enabled {
		t.Fatalf("created %+v", ep)
	}
	var got endpoint
	e.Do(t, "GET", "/api/v1/webhooks/"+ep.ID, nil, as(tok)...).Status(t, 200).Data(t, &got)
	if got.Secret != "" {
		t.Fatal("the secret is shown again after creation")
	}
	refusals := []map[string]any{
		{"url": "https://hooks.example.com", "events": []string{"no.such.event"}},
		{"url": "https://hooks.example.com", "events": []string{}},
		{"url": "ftp://hooks.example.com", "events": []string{"thing.happened"}},
		{"url": "https://user:pw@hooks.example.com", "events": []string{"thing.happened"}},
		{"events": []string{"thing.happened"}},
	}
	for _, body := range refusals {
		e.Do(t, "POST", "/api/v1/webhooks", body, as(tok)...).ErrorCode(t, 422, "validation_failed")
	}
	e.Do(t, "POST", "/api/v1/webhooks", map[string]any{"url": "https://h.example.com", "events": []string{"thing.happened"}, "scope": "global"}, as(tok)...).
		ErrorCode(t, 403, "forbidden")
	e.Do(t, "POST", "/api/v1/webhooks", map[string]any{"url": "https://h.example.com", "events": []string{"thing.happened"}}).ErrorCode(t, 401, "unauthorized")

	// Another user sees none of it.
	e.user(t, "bob")
	bob := e.login(t, "bob")
	for _, r := range [][2]string{{"GET", ""}, {"PUT", ""}, {"DELETE", ""}, {"POST", "/ping"}, {"POST", "/rotate-secret"}, {"GET", "/deliveries"}} {
		var body any
		if r[0] == "PUT" {
			body = map[string]any{"description": "stolen"}
		}
		e.Do(t, r[0], "/api/v1/webhooks/"+ep.ID+r[1], body, as(bob)...).ErrorCode(t, 404, "not_found")
	}
	var list struct {
		Items []endpoint `json:"items"`
	}
	e.Do(t, "GET", "/api/v1/webhooks", nil, as(bob)...).Status(t, 200).Data(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("bob lists %d endpoints", len(list.Items))
	}
	e.Do(t, "PUT", "/api/v1/webhooks/"+ep.ID, map[string]any{"events": []string{"thing.happened", "user.verified"}}, as(tok)...).Status(t, 200)
	e.Do(t, "DELETE", "/api/v1/webhooks/"+ep.ID, nil, as(tok)...).Status(t, 204)
	e.Do(t, "GET", "/api/v1/webhooks/"+ep.ID, nil, as(tok)...).ErrorCode(t, 404, "not_found")
}

// An event published by another module arrives once, signed, at the
// endpoints of the users it concerns (and at admins' global endpoints).
func TestDeliveryScopedAndSigned(t *testing.T) {
	e := start(t, nil)
	annID := e.user(t, "ann")
	e.user(t, "bob")
	ann, bob := e.login(t, "ann"), e.login(t, "bob")
	rAnn, rBob, rAll := newReceiver(t, nil), newReceiver(t, nil), newReceiver(t, nil)
	epAnn := e.endpoint(t, ann, map[string]any{"url": rAnn.URL + "/hook", "events": []string{"thing.happened"}})
	e.endpoint(t, bob, map[string]any{"url": rBob.URL, "events": []string{"thing.happened"}})
	epAll := e.endpoint(t, e.admin, map[string]any{"url": rAll.URL, "events": []string{"thing.happened"}, "scope": "global"})
	eventID := e.emit(t, 7, annID)

	hits := rAnn.waitFor(t, 1)
	rAll.waitFor(t, 1)
	time.Sleep(1500 * time.Millisecond) // nothing more may come
	if len(rAnn.got()) != 1 || len(rAll.got()) != 1 || len(rBob.got()) != 0 {
		t.Fatalf("ann got %d, global got %d, bob got %d; want 1, 1, 0", len(rAnn.got()), len(rAll.got()), len(rBob.got()))
	}
	h := hits[0]
	if !verifies(h, epAnn.Secret) {
		t.Fatalf("signature %q does not verify", h.sig)
	}
	if verifies(h, epAll.Secret) {
		t.Fatal("signed with another endpoint's secret")
	}
	body := decode(t, h.body)
	if body["id"] != eventID || body["type"] != "thing.happened" || fmt.Sprint(body["data"]) != "map[n:7]" || body["timestamp"] == nil {
		t.Fatalf("body %s", h.body)
	}
	if _, err := time.Parse(time.RFC3339, body["timestamp"].(string)); err != nil {
		t.Fatalf("timestamp: %v", err)
	}
	ds := e.deliveries(t, ann, epAnn.ID)
	if len(ds) != 1 || ds[0].ID != h.id || ds[0].Status != "succeeded" || len(ds[0].Attempts) != 1 || *ds[0].Attempts[0].StatusCode != 200 {
		t.Fatalf("deliveries %+v", ds)
	}

	// Redeliver: the same webhook-id again.
	e.Do(t, "POST", "/api/v1/webhooks/"+epAnn.ID+"/deliveries/"+ds[0].ID+"/redeliver", nil, as(ann)...).Status(t, 202)
	again := rAnn.waitFor(t, 2)[1]
	if again.id != h.id || string(again.body) != string(h.body) || !verifies(again, epAnn.Secret) {
		t.Fatalf("redelivery %+v differs from %+v", again, h)
	}
	e.Do(t, "POST", "/api/v1/webhooks/"+epAnn.ID+"/deliveries/"+uuid.NewString()+"/redeliver", nil, as(ann)...).ErrorCode(t, 404, "not_found")

	// Ping, whatever the subscription.
	e.Do(t, "POST", "/api/v1/webhooks/"+epAnn.ID+"/ping", nil, as(ann)...).Status(t, 202)
	ping := rAnn.waitFor(t, 3)[2]
	if decode(t, ping.body)["type"] != "webhook.ping" || !verifies(ping, epAnn.Secret) {
		t.Fatalf("ping %s", ping.body)
	}
}

// 500 then 200: retried on the schedule, every attempt recorded.
func TestRetryThenSuccess(t *testing.T) {
	e := start(t, map[string]string{"VEZA_WEBHOOKS_RETRY_SCHEDULE": "2s,2s"})
	id := e.user(t, "ann")
	tok := e.login(t, "ann")
	r := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.WriteHeader(500)
			return
		}
		w.WriteHeader(204)
	})
	ep := e.endpoint(t, tok, map[string]any{"url": r.URL, "events": []string{"thing.happened"}})
	e.emit(t, 1, id)
	hits := r.waitFor(t, 2)
	// asynq schedules retries to the whole second: a 2s wait is 1 to 2 s.
	if hits[0].id != hits[1].id || hits[1].at.Sub(hits[0].at) < time.Second {
		t.Fatalf("retry: ids %s/%s after %s", hits[0].id, hits[1].id, hits[1].at.Sub(hits[0].at))
	}
	apptest.Eventually(t, 5*time.Second, "delivery succeeded", func() bool {
		ds := e.deliveries(t, tok, ep.ID)
		return len(ds) == 1 && ds[0].Status == "succeeded"
	})
	d := e.deliveries(t, tok, ep.ID)[0]
	if len(d.Attempts) != 2 || *d.Attempts[0].StatusCode != 500 || d.Attempts[0].NextRetryAt == nil || *d.Attempts[1].StatusCode != 204 {
		t.Fatalf("attempts %+v", d.Attempts)
	}
}

func TestGoneDisablesAndNotifies(t *testing.T) {
	e := start(t, nil)
	id := e.user(t, "ann")
	tok := e.login(t, "ann")
	r := newReceiver(t, func(n int, w http.ResponseWriter) { w.WriteHeader(410) })
	ep := e.endpoint(t, tok, map[string]any{"url": r.URL, "events": []string{"thing.happened"}})
	e.emit(t, 1, id)
	r.waitFor(t, 1)
	apptest.Eventually(t, 10*time.Second, "endpoint disabled", func() bool {
		var got endpoint
		e.Do(t, "GET", "/api/v1/webhooks/"+ep.ID, nil, as(tok)...).Status(t, 200).Data(t, &got)
		return !got.Enabled
	})
	e.emit(t, 2, id)
	time.Sleep(1500 * time.Millisecond)
	if n := len(r.got()); n != 1 {
		t.Fatalf("a disabled endpoint got %d requests", n)
	}
	var n int
	if err := e.Runtime.DB().Get(&n, `SELECT count(*) FROM outbox WHERE type = 'webhook.endpoint_disabled' AND $1::uuid = ANY(audience)`, id); err != nil || n != 1 {
		t.Fatalf("disabled events: %d %v", n, err)
	}
	// Re-enabling brings it back.
	e.Do(t, "PUT", "/api/v1/webhooks/"+ep.ID, map[string]any{"enabled": true}, as(tok)...).Status(t, 200)
}

func TestRetryAfterHonoured(t *testing.T) {
	e := start(t, nil)
	id := e.user(t, "ann")
	tok := e.login(t, "ann")
	r := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(200)
	})
	ep := e.endpoint(t, tok, map[string]any{"url": r.URL, "events": []string{"thing.happened"}})
	e.emit(t, 1, id)
	hits := r.waitFor(t, 2)
	if gap := hits[1].at.Sub(hits[0].at); gap < 2*time.Second { // 3s, to asynq's whole second
		t.Fatalf("retried after %s, Retry-After said 3s", gap)
	}
	d := e.deliveries(t, tok, ep.ID)[0]
	if d.Attempts[0].NextRetryAt == nil || d.Attempts[0].NextRetryAt.Sub(d.Attempts[0].At) < 2900*time.Millisecond {
		t.Fatalf("recorded next retry %+v", d.Attempts[0])
	}
}

func TestDisableAfterContinuousFailure(t *testing.T) {
	e := start(t, map[string]string{"VEZA_WEBHOOKS_DISABLE_AFTER": "2s", "VEZA_WEBHOOKS_RETRY_SCHEDULE": "1s,1s,1s,1s,1s,1s"})
	id := e.user(t, "ann")
	tok := e.login(t, "ann")
	r := newReceiver(t, func(n int, w http.ResponseWriter) { w.WriteHeader(500) })
	ep := e.endpoint(t, tok, map[string]any{"url": r.URL, "events": []string{"thing.happened"}})
	e.emit(t, 1, id)
	apptest.Eventually(t, 20*time.Second, "endpoint disabled after failing", func() bool {
		var got struct {
			Enabled        bool    `json:"enabled"`
			DisabledReason *string `json:"disabled_reason"`
		}
		e.Do(t, "GET", "/api/v1/webhooks/"+ep.ID, nil, as(tok)...).Status(t, 200).Data(t, &got)
		return !got.Enabled && got.DisabledReason != nil && strings.Contains(*got.DisabledReason, "failing continuously")
	})
	n := len(r.got())
	if n < 2 || n > 6 {
		t.Fatalf("%d attempts before disabling at 2s with 1s retries", n)
	}
	time.Sleep(2 * time.Second)
	if len(r.got()) != n {
		t.Fatal("a disabled endpoint was still called")
	}
	d := e.deliveries(t, tok, ep.ID)[0]
	if d.Status != "retrying" && d.Status != "failed" {
		t.Fatalf("delivery status %s", d.Status)
	}
}

// After a rotation both secrets sign, for the overlap.
func TestSecretRotation(t *testing.T) {
	e := start(t, nil)
	id := e.user(t, "ann")
	tok := e.login(t, "ann")
	r := newReceiver(t, nil)
	ep := e.endpoint(t, tok, map[string]any{"url": r.URL, "events": []string{"thing.happened"}})
	var rotated struct {
		Secret                  string     `json:"secret"`
		PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	}
	e.Do(t, "POST", "/api/v1/webhooks/"+ep.ID+"/rotate-secret", nil, as(tok)...).Status(t, 200).Data(t, &rotated)
	if rotated.Secret == ep.Secret || rotated.PreviousSecretExpiresAt == nil ||
		time.Until(*rotated.PreviousSecretExpiresAt) < 23*time.Hour {
		t.Fatalf("rotation answer %+v", rotated)
	}
	e.emit(t, 1, id)
	h := r.waitFor(t, 1)[0]
	if len(strings.Fields(h.sig)) != 2 || !verifies(h, rotated.Secret) || !verifies(h, ep.Secret) {
		t.Fatalf("signatures %q after rotation", h.sig)
	}
	if _, err := e.Runtime.DB().Exec(`UPDATE webhook_endpoints SET previous_secret_expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	e.emit(t, 2, id)
	h = r.waitFor(t, 2)[1]
	if len(strings.Fields(h.sig)) != 1 || !verifies(h, rotated.Secret) || verifies(h, ep.Secret) {
		t.Fatalf("signatures %q after the overlap", h.sig)
	}
}
