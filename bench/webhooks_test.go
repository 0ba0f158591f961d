package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/webhooks"
	"github.com/veza/veza/platform/events"
)

const hookEvent = "bench.hooked"

// hookModule declares the event the webhook benchmark publishes.
func hookModule() app.Module {
	return app.Module{
		Name: "benchhook", Description: "Benchmark fixture: declares bench.hooked.", Requires: []string{"auth"},
		Events: []app.EventType{{Type: hookEvent, Description: "a benchmark event", Example: map[string]int{"seq": 1}}},
	}
}

// hookSide publishes events into a Veza process whose webhooks module posts
// each to a receiver on loopback; a run ends when the receiver has them all.
type hookSide struct {
	db         *sqlx.DB
	dsn        string
	sink       *sink
	publishers int
}

func startHooks(b *testing.B, concurrency, publishers int) *hookSide {
	s := &hookSide{sink: &sink{}, publishers: publishers}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-signature") == "" {
			w.WriteHeader(400)
			return
		}
		s.sink.hit()
		w.WriteHeader(204)
	}))
	b.Cleanup(recv.Close)
	env := vezaEnv(concurrency)
	env["VEZA_WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "true"
	env["VEZA_AUTH_REQUIRE_VERIFIED_EMAIL"] = "false"
	env["MAIL_DRIVER"] = "log"
	srv := apptest.Start(b, apptest.Options{Modules: []app.Module{auth.Module(), webhooks.Module(), hookModule()}, Env: env})
	post := func(path, token string, body any) map[string]any {
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", srv.URL+path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		var out struct {
			Data map[string]any `json:"data"`
		}
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode >= 300 {
			b.Fatalf("POST %s: %d %v", path, res.StatusCode, err)
		}
		return out.Data
	}
	post("/api/v1/auth/register", "", map[string]string{"username": "hooker", "email": "hooker@example.com", "password": benchPassword})
	if _, err := srv.Runtime.DB().Exec(`UPDATE users SET role = 'admin'`); err != nil {
		b.Fatal(err)
	}
	token := post("/api/v1/auth/login", "", map[string]string{"email": "hooker@example.com", "password": benchPassword})["access_token"].(string)
	post("/api/v1/webhooks", token, map[string]any{"url": recv.URL, "events": []string{hookEvent}, "scope": "global"})
	s.db, s.dsn = srv.Runtime.DB(), srv.Config.DatabaseURL
	return s
}

func (s *hookSide) run(b *testing.B, n int) timing {
	done := s.sink.arm(n)
	ctx := context.Background()
	start := time.Now()
	fanOut(b, n, s.publishers, func(i int) error {
		tx, err := s.db.BeginTxx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := events.NewPublisher("benchhook", hookEvent).Publish(ctx, tx, hookEvent, map[string]int{"seq": i}); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
	sent := time.Since(start)
	return timing{send: sent, total: s.sink.wait(b, done, n).Sub(start)}
}

// BenchmarkWebhooksRatio alternates rounds of BENCH_EVENTS: raw asynq
// enqueue -> handler, and publish -> relay -> webhooks fan-out -> signed
// POST received on loopback; it reports both rates and ratio_webhooks
// (target 0.5). -benchtime does not apply.
func BenchmarkWebhooksRatio(b *testing.B) {
	n, publishers, concurrency := eventSettings(b)
	rounds := envInt(b, envEventRounds, 3)
	raw := startRaw(b, concurrency, publishers)
	hooks := startHooks(b, concurrency, publishers)
	raw.run(b, min(n, 100))
	hooks.run(b, min(n, 100))
	waits := newPGWaits(b, hooks.dsn)
	var rawSum, hookSum timing
	b.ResetTimer()
	for r := range rounds {
		runtime.GC()
		tr := raw.run(b, n)
		runtime.GC()
		var th timing
		waits.during(func() { th = hooks.run(b, n) })
		rawSum.total += tr.total
		hookSum.total += th.total
		hookSum.send += th.send
		b.Logf("round %d: raw=%.0f tasks/s webhooks=%.0f deliveries/s (published at %.0f/s)", r+1,
			float64(n)/tr.total.Seconds(), float64(n)/th.total.Seconds(), float64(n)/th.send.Seconds())
	}
	b.StopTimer()
	waits.report(b, "the webhook rounds")
	total := float64(rounds * n)
	rawRate, hookRate := total/rawSum.total.Seconds(), total/hookSum.total.Seconds()
	b.ReportMetric(rawRate, "raw_tasks/s")
	b.ReportMetric(hookRate, "deliveries/s")
	b.ReportMetric(hookRate/rawRate, "ratio_webhooks")
	b.ReportMetric(0, "ns/op")
}
