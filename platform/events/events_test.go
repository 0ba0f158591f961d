package events

import (
	"context"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/veza/veza/platform/jobs"
)

func TestSubscriptionsRouting(t *testing.T) {
	s := NewSubscriptions([]string{"track.created", "user.registered"})
	got := map[string]string{}
	h := func(name string) Handler {
		return func(_ context.Context, ev Event) error { got[name] = ev.Type; return nil }
	}
	for _, add := range []struct{ module, typ string }{
		{"social", "track.created"}, {"webhooks", Wildcard}, {"search", "track.created"}, {"admin", "internal.thing"},
	} {
		if err := s.Add(add.module, add.typ, h(add.module+"/"+add.typ)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Add("social", "track.created", h("dup")); err == nil {
		t.Fatal("a second subscription of one module to one type was accepted")
	}
	for _, bad := range []string{"", "a b", "a:b"} {
		if err := s.Add("x", bad, h("x")); err == nil {
			t.Fatalf("event type %q accepted", bad)
		}
	}
	cases := map[string]string{
		"track.created":   "[search social webhooks]",
		"user.registered": "[webhooks]",
		"internal.thing":  "[admin]", // not public: the wildcard does not get it
		"nobody.cares":    "[]",
	}
	for typ, want := range cases {
		if got := fmtList(s.Subscribers(typ)); got != want {
			t.Errorf("Subscribers(%s) = %s, want %s", typ, got, want)
		}
	}
	body, _ := jobs.Encode(1, Event{Type: "user.registered", Payload: []byte(`{}`)})
	handler, ok := s.JobHandler(jobs.EventTaskType("webhooks", "user.registered"))
	if !ok {
		t.Fatal("no handler for the wildcard subscriber")
	}
	if err := handler(context.Background(), asynq.NewTask("webhooks:event:user.registered", body)); err != nil {
		t.Fatal(err)
	}
	if got["webhooks/*"] != "user.registered" {
		t.Fatalf("wildcard handler not called: %v", got)
	}
	for _, typ := range []string{"webhooks:process", "nomodule", "social:event:user.registered"} {
		if _, ok := s.JobHandler(typ); ok {
			t.Errorf("JobHandler(%s) resolved", typ)
		}
	}
	var p struct{ N int }
	if err := (Event{Payload: []byte(`{"N":"x"}`)}).Decode(&p); err == nil {
		t.Fatal("a payload of the wrong shape decoded")
	}
}

func fmtList(xs []string) string {
	out := "["
	for i, x := range xs {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out + "]"
}
