package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
)

// whoamiModule adds two routes that differ only by authentication, so that
// their difference is the cost of the auth middleware alone.
func whoamiModule() app.Module {
	return app.Module{
		Name:        "benchauth",
		Description: "Benchmark fixture: the same constant answer with and without authentication.",
		Requires:    []string{"auth"},
		Register: func(r *app.Registrar) {
			r.Get("/bench/open", ping)
			r.Get("/bench/whoami", func(c *fiber.Ctx) error {
				return httpx.OK(c, fiber.Map{"pong": authn.FromCtx(c).UserID != [16]byte{}})
			}, app.Authenticated())
		},
	}
}

const benchPassword = "a benchmark passphrase that is long"

// startAuth starts Veza with the auth module and one verified account, and
// returns the address and an access token.
func startAuth(b *testing.B) (*apptest.Server, string) {
	env := httpEnv()
	env["VEZA_AUTH_REQUIRE_VERIFIED_EMAIL"] = "false"
	env["MAIL_DRIVER"] = "log"
	env["VEZA_AUTH_MAX_FAILED_LOGINS_PER_IP"] = "1000000"
	srv := apptest.Start(b, apptest.Options{Modules: []app.Module{auth.Module(), whoamiModule()}, Env: env, Role: app.RoleAPI})
	post := func(path string, body any) map[string]any {
		data, _ := json.Marshal(body)
		res, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(data))
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
	post("/api/v1/auth/register", map[string]string{"username": "bencher", "email": "bencher@example.com", "password": benchPassword})
	tk := post("/api/v1/auth/login", map[string]string{"email": "bencher@example.com", "password": benchPassword})
	return srv, tk["access_token"].(string)
}

// BenchmarkAuth reports, in one run of interleaved rounds, req/s of /health,
// of a module route without and with authentication, and of GET /auth/me;
// auth_cost_of_health is the time the auth middleware adds to a request, as
// a fraction of the time of a /health request (target: at most 0.15). It then
// reports login/s. -benchtime does not apply.
func BenchmarkAuth(b *testing.B) {
	conns := envInt(b, envConns, 32)
	rounds := envInt(b, envRounds, 25)
	roundTime := envDuration(b, envRoundTime, 200*time.Millisecond)
	srv, token := startAuth(b)
	addr := strings.TrimPrefix(srv.URL, "http://")
	targets := []*target{
		newTarget("health", addr, healthPath, conns),
		newTarget("open", addr, app.APIPrefix+"/bench/open", conns),
		newTarget("whoami", addr, app.APIPrefix+"/bench/whoami", conns),
		newTarget("me", addr, app.APIPrefix+"/auth/me", conns),
	}
	for _, t := range targets[2:] {
		t.auth = "Bearer " + token
	}
	var costs []float64
	sums := interleave(b, targets, rounds, roundTime, conns, func(got []sample) {
		// Time per request is 1/rate with the same connections: the
		// difference between whoami and open is what authentication adds.
		costs = append(costs, (1/got[2].rate()-1/got[1].rate())/(1/got[0].rate()))
	})
	for i, t := range targets {
		b.ReportMetric(sums[i].rate(), t.name+"_req/s")
	}
	b.ReportMetric(median(costs), "auth_cost_of_health")
	b.ReportMetric(logins(b, srv.URL, envDuration(b, envRoundTime, 200*time.Millisecond)*10), "logins/s")
	b.ReportMetric(0, "ns/op")
}

// logins runs concurrent logins for d and returns logins per second.
func logins(b *testing.B, url string, d time.Duration) float64 {
	body := []byte(fmt.Sprintf(`{"email":"bencher@example.com","password":%q}`, benchPassword))
	var n atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				res, err := http.Post(url+"/api/v1/auth/login", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				res.Body.Close()
				if res.StatusCode != 200 {
					b.Errorf("login: %d", res.StatusCode)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}
