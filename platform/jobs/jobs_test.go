package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"go.uber.org/zap"
)

func TestCheckType(t *testing.T) {
	for _, ok := range []string{"tracks:process", "tracks:delete_file", "tracks:a.b-c:d"} {
		if err := CheckType("tracks", ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"process", "track:process", "tracks:", "tracks:Process", "tracks:event:x", "social:like"} {
		if err := CheckType("tracks", bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// The mux matches exact types: a registered prefix does not take a longer
// type (asynq's own ServeMux would).
func TestMuxExact(t *testing.T) {
	m := NewMux(zap.NewNop(), nil)
	called := ""
	if err := m.Handle("tracks:process", func(context.Context, *asynq.Task) error { called = "process"; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := m.Handle("tracks:process", nil); err == nil {
		t.Fatal("a second handler was accepted")
	}
	if err := m.ProcessTask(context.Background(), asynq.NewTask("tracks:process", nil)); err != nil || called != "process" {
		t.Fatalf("exact type: %v %q", err, called)
	}
	err := m.ProcessTask(context.Background(), asynq.NewTask("tracks:process_batch", nil))
	if err == nil || !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("a longer type was handled, or retried: %v", err)
	}
	if err := m.Handle("tracks:boom", func(context.Context, *asynq.Task) error { panic("boom") }); err != nil {
		t.Fatal(err)
	}
	if err := m.ProcessTask(context.Background(), asynq.NewTask("tracks:boom", nil)); err == nil {
		t.Fatal("a panicking handler did not fail its task")
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	task, err := NewTask("tracks:process", 2, map[string]string{"id": "x"})
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]string
	v, err := Decode(task, &out)
	if err != nil || v != 2 || out["id"] != "x" {
		t.Fatalf("decode: %v %d %v", err, v, out)
	}
	if _, err := Decode(asynq.NewTask("x:y", []byte("not json")), &out); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("bad payload: %v", err)
	}
	if v, err := Decode(asynq.NewTask("x:y", nil), &out); err != nil || v != 0 {
		t.Fatalf("empty payload: %v %d", err, v)
	}
}

func TestSpecs(t *testing.T) {
	for _, ok := range []string{"@every 1m", "@hourly", "*/5 * * * *"} {
		if _, err := ParseSpec(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if _, err := ParseSpec("every minute"); err == nil {
		t.Error("a bad spec was accepted")
	}
}

// Two workers started at different moments agree on an "@every" schedule's
// slots, so that each slot is enqueued once.
func TestEverySlotsAgreeAcrossStarts(t *testing.T) {
	s, err := ParseSpec("@every 10m")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC)
	a, b := s.Next(base.Add(7*time.Second)), s.Next(base.Add(9*time.Minute+59*time.Second))
	if !a.Equal(base.Add(10*time.Minute)) || !b.Equal(a) {
		t.Fatalf("next slots %s and %s, want both %s", a, b, base.Add(10*time.Minute))
	}
	if c := s.Next(a); !c.Equal(a.Add(10 * time.Minute)) {
		t.Fatalf("the slot after %s is %s", a, c)
	}
}
