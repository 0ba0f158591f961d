package bench

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
)

// BenchmarkMailRequests measures POST /auth/password/reset-request and POST
// /auth/resend-verification for an address that has an account and for one
// that has none, in interleaved rounds on one API process (no worker: the
// mail jobs stay in the outbox, so only the request path is measured). It
// reports each one's req/s and, per endpoint, unknown_over_known: the
// median over the rounds of the latency of the unknown address divided by
// that of the known one (with the same connections, latency is 1/rate).
// The requests must not tell the two apart: the figure should be 1 within
// the noise of the machine. -benchtime does not apply.
func BenchmarkMailRequests(b *testing.B) {
	conns := envInt(b, envConns, 4)
	rounds := envInt(b, envRounds, 25)
	roundTime := envDuration(b, envRoundTime, 200*time.Millisecond)
	env := httpEnv()
	env["MAIL_DRIVER"] = "log"
	srv := apptest.Start(b, apptest.Options{Modules: []app.Module{auth.Module()}, Env: env, Role: app.RoleAPI})
	postOK(b, srv.URL+"/api/v1/auth/register", `{"username":"known","email":"known@example.com","password":"a benchmark passphrase that is long"}`)
	addr := strings.TrimPrefix(srv.URL, "http://")

	paths := map[string]string{"reset": "/password/reset-request", "resend": "/resend-verification"}
	var targets []*target
	for _, name := range []string{"reset", "resend"} {
		for _, who := range []string{"known", "unknown"} {
			t := newTarget(name+"_"+who, addr, app.APIPrefix+"/auth"+paths[name], conns)
			t.body, t.want = []byte(fmt.Sprintf(`{"email":%q}`, who+"@example.com")), 202
			targets = append(targets, t)
		}
	}
	ratios := map[string][]float64{}
	sums := interleave(b, targets, rounds, roundTime, conns, func(got []sample) {
		for i := 0; i < len(targets); i += 2 {
			name := strings.TrimSuffix(targets[i].name, "_known")
			ratios[name] = append(ratios[name], got[i].rate()/got[i+1].rate())
		}
	})
	for i, t := range targets {
		b.ReportMetric(sums[i].rate(), t.name+"_req/s")
	}
	for name, r := range ratios {
		b.ReportMetric(median(r), name+"_unknown_over_known")
	}
	b.ReportMetric(0, "ns/op")
}

// postOK sends a JSON body and fails unless the answer is a success.
func postOK(b *testing.B, url, body string) {
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		b.Fatalf("POST %s: %d", url, res.StatusCode)
	}
}
