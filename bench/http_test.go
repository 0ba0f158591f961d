package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/testkit"
)

const (
	healthPath = "/health"
	pingPath   = app.APIPrefix + "/bench/ping"
)

// ping is the handler of the fixture route, and of the bare app: both run
// the same code, so the difference is the framework around it.
func ping(c *fiber.Ctx) error { return httpx.OK(c, fiber.Map{"pong": true}) }

// pingModule contributes GET /api/v1/bench/ping, which, unlike /health, goes
// through the rate limit and the route's body limit.
func pingModule() app.Module {
	return app.Module{
		Name:        "bench",
		Description: "Benchmark fixture: one route answering a constant envelope.",
		Register:    func(r *app.Registrar) { r.Get("/bench/ping", ping) },
	}
}

// httpEnv is what the HTTP benchmarks need from the environment: Veza's
// configuration for a rate limit that counts every request but never trips.
func httpEnv() map[string]string {
	return map[string]string{"RATE_LIMIT_LIMIT": "1000000000"}
}

// target is one server and path under load.
type target struct {
	name   string
	addr   string // host:port
	path   string
	client *fasthttp.HostClient
	// auth, when set, is sent as the Authorization header.
	auth string
	// body, when set, is POSTed as JSON and the answer must have status
	// want (default: GET, 200).
	body []byte
	want int
}

func newTarget(name, addr, path string, conns int) *target {
	return &target{name: name, addr: addr, path: path, client: &fasthttp.HostClient{
		Addr:                addr,
		MaxConns:            conns,
		MaxConnWaitTimeout:  10 * time.Second,
		ReadTimeout:         10 * time.Second,
		WriteTimeout:        10 * time.Second,
		MaxIdleConnDuration: time.Minute,
	}}
}

// worker returns a function that sends one request on a reused request and
// response and checks the answer.
func (t *target) worker() (do func() error, release func()) {
	req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI("http://" + t.addr + t.path)
	req.Header.SetMethod(fasthttp.MethodGet)
	want := fasthttp.StatusOK
	if t.body != nil {
		req.Header.SetMethod(fasthttp.MethodPost)
		req.Header.SetContentType("application/json")
		req.SetBody(t.body)
		want = t.want
	}
	if t.auth != "" {
		req.Header.Set(fasthttp.HeaderAuthorization, t.auth)
	}
	method := string(req.Header.Method())
	do = func() error {
		if err := t.client.Do(req, res); err != nil {
			return fmt.Errorf("%s %s %s: %w", t.name, method, t.path, err)
		}
		if res.StatusCode() != want {
			return fmt.Errorf("%s %s %s: status %d: %s", t.name, method, t.path, res.StatusCode(), res.Body())
		}
		return nil
	}
	release = func() { fasthttp.ReleaseRequest(req); fasthttp.ReleaseResponse(res) }
	return do, release
}

// sample is one timed run of a target.
type sample struct {
	n    int64         // requests answered
	wall time.Duration // elapsed
	cpu  time.Duration // CPU time of the whole process (client and servers)
}

func (s sample) rate() float64 { return float64(s.n) / s.wall.Seconds() }

// cpuPerReq is in microseconds.
func (s sample) cpuPerReq() float64 { return float64(s.cpu.Microseconds()) / float64(max(s.n, 1)) }

// runFor drives t with conns goroutines (one keep-alive connection each) for
// d.
func (t *target) runFor(d time.Duration, conns int) (sample, error) {
	var count atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	cpu0 := cpuTime()
	start := time.Now()
	deadline := start.Add(d)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			do, release := t.worker()
			defer release()
			var n int64
			for time.Now().Before(deadline) {
				if err := do(); err != nil {
					errOnce.Do(func() { firstErr = err })
					break
				}
				n++
			}
			count.Add(n)
		}()
	}
	wg.Wait()
	return sample{n: count.Load(), wall: time.Since(start), cpu: cpuTime() - cpu0}, firstErr
}

// bench runs b.N requests over conns goroutines and reports req/s.
func (t *target) bench(b *testing.B, conns int) {
	if _, err := t.runFor(200*time.Millisecond, conns); err != nil { // connect and warm up
		b.Fatal(err)
	}
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((conns + procs - 1) / procs)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		do, release := t.worker()
		defer release()
		for pb.Next() {
			if err := do(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// startBare serves the fixture route with a bare Fiber app: the same handler,
// hence the same bytes, and nothing else.
func startBare(b *testing.B) string {
	b.Helper()
	f := fiber.New(fiber.Config{DisableStartupMessage: true})
	f.Get(pingPath, ping)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = f.Listener(ln) }()
	b.Cleanup(func() { _ = f.ShutdownWithTimeout(10 * time.Second) })
	return ln.Addr().String()
}

// jsonLogger is platform/log.New's production logger (JSON encoder, info
// level, caller, stacktraces on errors, locked sink) writing to io.Discard
// instead of standard error: every access-log line is encoded, none written.
func jsonLogger() *zap.Logger {
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "ts"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(encCfg), zapcore.Lock(zapcore.AddSync(io.Discard)), zapcore.InfoLevel)
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.ErrorLevel)).With(zap.String("env", "test"))
}

// startWithLogger is apptest.TryStart with a logger of our choice, through
// the framework's exported API (apptest's logger is a Nop one).
func startWithLogger(b *testing.B, o apptest.Options, log *zap.Logger) string {
	b.Helper()
	r := testkit.NewRedis(b)
	o.RedisURL = r.URL()
	cfg := apptest.Config(b, &o)
	a := app.New(o.Modules...)
	plan, err := apptest.Plan(b, a, cfg, o)
	if err != nil {
		b.Fatal(err)
	}
	rt, err := a.Build(app.BuildOptions{Config: cfg, Plan: plan, Role: o.Role, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := rt.Start(ctx); err != nil {
		_ = rt.Stop(context.Background())
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = rt.Stop(ctx)
	})
	return rt.Addr()
}

// httpTargets starts the bare app, a Veza process with apptest's (Nop)
// logger and one with a JSON logger, and returns the targets in the order
// the ratio benchmark alternates them.
func httpTargets(b *testing.B, conns int) []*target {
	bare := startBare(b)
	opts := apptest.Options{Modules: []app.Module{pingModule()}, Role: app.RoleAPI, Env: httpEnv()}
	veza := apptest.Start(b, opts).Runtime.Addr()
	vezaJSON := startWithLogger(b, apptest.Options{Modules: []app.Module{pingModule()}, Role: app.RoleAPI, Env: httpEnv()}, jsonLogger())
	return []*target{
		newTarget("bare", bare, pingPath, conns),
		newTarget("veza_health", veza, healthPath, conns),
		newTarget("veza_route", veza, pingPath, conns),
		newTarget("veza_health_jsonlog", vezaJSON, healthPath, conns),
		newTarget("veza_route_jsonlog", vezaJSON, pingPath, conns),
	}
}

// BenchmarkHealth reports req/s of GET requests answered by a bare Fiber app
// and by Veza: /health (all middleware but the rate limit, which exempts
// it) and a module route (all middleware, rate limit and body limit
// included), each with apptest's Nop logger and with a JSON logger to
// io.Discard (the *_jsonlog ones).
func BenchmarkHealth(b *testing.B) {
	conns := envInt(b, envConns, 32)
	for _, t := range httpTargets(b, conns) {
		b.Run(t.name, func(b *testing.B) { t.bench(b, conns) })
	}
}

// BenchmarkHealthRatio runs the targets of BenchmarkHealth one after the
// other for BENCH_ROUND_TIME each (the order rotating from round to round),
// BENCH_ROUNDS times. It reports each one's req/s and process CPU time per
// request over all rounds, and the ratios veza/bare: ratio_* of req/s and
// cpuratio_* of CPU per request (bare's over veza's, so that higher is
// better in both), each the median over the rounds of that round's ratio, so
// that a burst of load from elsewhere on the machine skews one round, not the
// result. -benchtime does not apply.
func BenchmarkHealthRatio(b *testing.B) {
	conns := envInt(b, envConns, 32)
	rounds := envInt(b, envRounds, 25)
	roundTime := envDuration(b, envRoundTime, 200*time.Millisecond)
	targets := httpTargets(b, conns)
	ratios := make([][]float64, len(targets)) // per round, against bare (targets[0])
	cpuRatios := make([][]float64, len(targets))
	r := 0
	sums := interleave(b, targets, rounds, roundTime, conns, func(got []sample) {
		r++
		line := fmt.Sprintf("round %d:", r)
		for i, t := range targets {
			ratios[i] = append(ratios[i], got[i].rate()/got[0].rate())
			cpuRatios[i] = append(cpuRatios[i], got[0].cpuPerReq()/got[i].cpuPerReq())
			line += fmt.Sprintf(" %s=%.0f/s,%.1fus", t.name, got[i].rate(), got[i].cpuPerReq())
		}
		b.Log(line)
	})
	for i, t := range targets {
		b.ReportMetric(sums[i].rate(), t.name+"_req/s")
		b.ReportMetric(sums[i].cpuPerReq(), t.name+"_cpu_us/req")
		if i > 0 {
			name := strings.TrimPrefix(t.name, "veza_")
			b.ReportMetric(median(ratios[i]), "ratio_"+name)
			b.ReportMetric(median(cpuRatios[i]), "cpuratio_"+name)
		}
	}
	b.ReportMetric(0, "ns/op")
}

// interleave warms every target up, then runs rounds in which each target
// runs for roundTime, starting from a different target each round so that
// none is always first; after each round it passes the round's samples to
// each. It returns the samples summed per target. It resets the benchmark
// timer and stops it at the end.
func interleave(b *testing.B, targets []*target, rounds int, roundTime time.Duration, conns int, each func(got []sample)) []sample {
	for _, t := range targets { // connect and warm up
		if _, err := t.runFor(300*time.Millisecond, conns); err != nil {
			b.Fatal(err)
		}
	}
	sums := make([]sample, len(targets))
	b.ResetTimer()
	for r := range rounds {
		got := make([]sample, len(targets))
		for k := range targets {
			i := (r + k) % len(targets)
			runtime.GC() // start each run from the same heap state
			s, err := targets[i].runFor(roundTime, conns)
			if err != nil {
				b.Fatal(err)
			}
			got[i] = s
			sums[i].n += s.n
			sums[i].wall += s.wall
			sums[i].cpu += s.cpu
		}
		each(got)
	}
	b.StopTimer()
	return sums
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
