package ratelimit

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/veza/veza/platform/testkit"
)

// clock is a settable time source shared by the limiters of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// t0 is 20s into a minute: windows of one minute start at t0-20s.
var t0 = time.Unix(1_700_000_000, 0) // 1_700_000_000 % 60 == 20

func minuteStart() time.Time { return t0.Add(-20 * time.Second) }

func newLimiter(t testing.TB, cfg Config, rdb redis.UniversalClient, clk *clock, log *zap.Logger) *Limiter {
	t.Helper()
	l := New(cfg, rdb, log)
	if clk != nil {
		l.now = clk.Now
	}
	return l
}

func newRedis(t *testing.T) (*testkit.Redis, *redis.Client) {
	t.Helper()
	r := testkit.NewRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return r, rdb
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func redisKey(ws time.Time, key string) string {
	return fmt.Sprintf("%s%d:%s", DefaultKeyPrefix, ws.UnixMilli(), key)
}

func redisCount(t *testing.T, rdb *redis.Client, ws time.Time, key string) int64 {
	t.Helper()
	n, err := rdb.Get(ctxT(t), redisKey(ws, key)).Int64()
	if err == redis.Nil {
		return 0
	}
	if err != nil {
		t.Fatalf("GET %s: %v", redisKey(ws, key), err)
	}
	return n
}

func mustSync(t *testing.T, l *Limiter) {
	t.Helper()
	if err := l.Sync(ctxT(t)); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// admit calls Allow n times and returns how many were allowed.
func admit(l *Limiter, key string, n int) int {
	ok := 0
	for range n {
		if l.Allow(key).Allowed {
			ok++
		}
	}
	return ok
}

func TestSingleLimiterWindow(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("redis=%v", shared), func(t *testing.T) {
			var rdb *redis.Client
			if shared {
				_, rdb = newRedis(t)
			}
			clk := newClock(t0)
			var l *Limiter
			if rdb != nil {
				l = newLimiter(t, Config{Limit: 5, Window: time.Minute}, rdb, clk, nil)
			} else {
				l = newLimiter(t, Config{Limit: 5, Window: time.Minute}, nil, clk, nil)
			}
			end := minuteStart().Add(time.Minute)
			for i := range 5 {
				d := l.Allow("1.2.3.4")
				if !d.Allowed || d.Limit != 5 || d.Remaining != 4-i || !d.Reset.Equal(end) || d.RetryAfter != 0 {
					t.Fatalf("hit %d: %+v", i+1, d)
				}
				if shared && i == 2 {
					mustSync(t, l) // syncing in the middle changes nothing for one process
				}
			}
			d := l.Allow("1.2.3.4")
			if d.Allowed || d.Remaining != 0 || !d.Reset.Equal(end) || d.RetryAfter != 40*time.Second {
				t.Fatalf("6th hit: %+v", d)
			}
			if shared {
				mustSync(t, l)
				if n := redisCount(t, rdb, minuteStart(), "1.2.3.4"); n != 5 {
					t.Fatalf("redis count = %d, want 5 (denied hits are not counted)", n)
				}
				if d := l.Allow("1.2.3.4"); d.Allowed {
					t.Fatalf("after sync: %+v", d)
				}
			}
			clk.Set(end) // first instant of the next window
			d = l.Allow("1.2.3.4")
			if !d.Allowed || d.Remaining != 4 || !d.Reset.Equal(end.Add(time.Minute)) {
				t.Fatalf("next window: %+v", d)
			}
		})
	}
}

func TestWindowsAlignedToUnixEpoch(t *testing.T) {
	// 7s does not divide a day: time.Time.Truncate (relative to year 1)
	// would give other boundaries.
	const sec = 1_000_000_003
	start := time.Unix(sec/7*7, 0)
	clk := newClock(time.Unix(sec, 500))
	l := newLimiter(t, Config{Limit: 1, Window: 7 * time.Second}, nil, clk, nil)
	if d := l.Allow("k"); !d.Reset.Equal(start.Add(7 * time.Second)) {
		t.Fatalf("Reset = %v, want %v", d.Reset, start.Add(7*time.Second))
	}
	clk.Set(start.Add(7*time.Second - 1))
	if d := l.Allow("k"); d.Allowed {
		t.Fatalf("last ns of the window: %+v", d)
	}
	clk.Set(start.Add(7 * time.Second))
	if d := l.Allow("k"); !d.Allowed {
		t.Fatalf("first ns of the next window: %+v", d)
	}
}

func TestRetryAfterRounding(t *testing.T) {
	cases := map[time.Duration]time.Duration{
		1:                       time.Second,
		999 * time.Millisecond:  time.Second,
		time.Second:             time.Second,
		time.Second + 1:         2 * time.Second,
		1500 * time.Millisecond: 2 * time.Second,
		59 * time.Second:        59 * time.Second,
	}
	for in, want := range cases {
		if got := retryAfter(in); got != want {
			t.Errorf("retryAfter(%v) = %v, want %v", in, got, want)
		}
	}
	clk := newClock(minuteStart().Add(time.Minute - 100*time.Millisecond))
	l := newLimiter(t, Config{Limit: 0, Window: time.Minute}, nil, clk, nil)
	if d := l.Allow("k"); d.Allowed || d.RetryAfter != time.Second || d.Remaining != 0 {
		t.Fatalf("Limit 0, 100ms before the end: %+v", d)
	}
}

func TestKeysAreIndependent(t *testing.T) {
	_, rdb := newRedis(t)
	clk := newClock(t0)
	l := newLimiter(t, Config{Limit: 2, Window: time.Minute}, rdb, clk, nil)
	if n := admit(l, "a", 5); n != 2 {
		t.Fatalf("a admitted %d, want 2", n)
	}
	if d := l.Allow("b"); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("b after a is exhausted: %+v", d)
	}
	mustSync(t, l)
	if a, b := redisCount(t, rdb, minuteStart(), "a"), redisCount(t, rdb, minuteStart(), "b"); a != 2 || b != 1 {
		t.Fatalf("redis a=%d b=%d, want 2 and 1", a, b)
	}
	if d := l.Allow("b"); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("b second hit: %+v", d)
	}
}

func TestTwoProcessesLearnEachOthersUsage(t *testing.T) {
	_, rdb := newRedis(t)
	clk := newClock(t0)
	cfg := Config{Limit: 10, Window: time.Minute}
	a := newLimiter(t, cfg, rdb, clk, nil)
	b := newLimiter(t, cfg, rdb, clk, nil)
	const key = "203.0.113.7"

	if !b.Allow(key).Allowed {
		t.Fatal("b first hit denied")
	}
	mustSync(t, b) // Redis: 1
	// a has never seen the key: it admits on its own until its first sync.
	admitted := 1 + admit(a, key, 20)
	if admitted != 11 {
		t.Fatalf("admitted %d before a's first sync, want 11", admitted)
	}
	mustSync(t, a) // INCRBY 10 -> 11
	if d := a.Allow(key); d.Allowed || d.Remaining != 0 {
		t.Fatalf("a after sync: %+v", d)
	}
	// b saw one hit only; its sync re-reads the key and learns that a used
	// the budget up.
	mustSync(t, b)
	if d := b.Allow(key); d.Allowed || d.Remaining != 0 || d.RetryAfter != 40*time.Second {
		t.Fatalf("b after learning a's usage: %+v", d)
	}
	if got := redisCount(t, rdb, minuteStart(), key); got != int64(admitted) {
		t.Fatalf("redis count %d, want %d admitted", got, admitted)
	}

	// The other way round with budget left: b learns a's hits and reports
	// the global remaining count.
	other := "198.51.100.1"
	b.Allow(other)
	mustSync(t, b)
	admit(a, other, 6)
	mustSync(t, a)
	mustSync(t, b)
	if d := b.Allow(other); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("b sees %+v, want allowed with 2 remaining (1+6+1 of 10 used)", d)
	}
}

// TestOvershootBound plays P processes that each get r requests per sync
// period and checks the documented bound: admitted <= Limit + P × (hits one
// process admits in 2 periods), the exact accounting in Redis, and that no
// process admits more than Limit on its own.
func TestOvershootBound(t *testing.T) {
	_, rdb := newRedis(t)
	clk := newClock(t0)
	const limit, procs, perPeriod = 100, 3, 7
	cfg := Config{Limit: limit, Window: time.Minute}
	var ls [procs]*Limiter
	for i := range ls {
		ls[i] = newLimiter(t, cfg, rdb, clk, nil)
	}
	for round, key := range []string{"aligned", "staggered"} {
		var own [procs]int
		total := 0
		for period := range 60 {
			for i, l := range ls {
				n := admit(l, key, perPeriod)
				own[i] += n
				total += n
				if round == 1 && (period+i)%procs == 0 {
					mustSync(t, l) // processes sync at different moments
				}
			}
			if round == 0 {
				for _, l := range ls {
					mustSync(t, l)
				}
			}
		}
		for _, l := range ls {
			mustSync(t, l)
		}
		bound := limit + procs*2*perPeriod
		if round == 1 {
			bound = limit + procs*2*procs*perPeriod // a period is procs steps here
		}
		if total < limit || total > bound {
			t.Errorf("%s: admitted %d, want between %d and %d", key, total, limit, bound)
		}
		for i, n := range own {
			if n > limit {
				t.Errorf("%s: process %d admitted %d > Limit on its own", key, i, n)
			}
		}
		if got := redisCount(t, rdb, minuteStart(), key); got != int64(total) {
			t.Errorf("%s: redis count %d, want %d admitted", key, got, total)
		}
		t.Logf("%s: admitted %d for Limit %d with %d processes and %d requests per process per period", key, total, limit, procs, perPeriod)
	}
}

// TestProcessesWithSyncLoops hammers two limiters whose loops run for real.
func TestProcessesWithSyncLoops(t *testing.T) {
	_, rdb := newRedis(t)
	clk := newClock(t0)
	const limit = 500
	cfg := Config{Limit: limit, Window: time.Minute, SyncInterval: 2 * time.Millisecond}
	a := newLimiter(t, cfg, rdb, clk, nil)
	b := newLimiter(t, cfg, rdb, clk, nil)
	a.Start()
	a.Start() // idempotent
	b.Start()

	var admitted atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		l := a
		if g%2 == 1 {
			l = b
		}
		wg.Go(func() {
			denied := 0
			for denied < 200 {
				if l.Allow("hot").Allowed {
					admitted.Add(1)
					time.Sleep(100 * time.Microsecond) // spread the budget over rounds
				} else {
					denied++
					time.Sleep(100 * time.Microsecond)
				}
			}
		})
	}
	wg.Wait()
	for _, l := range []*Limiter{a, b} {
		if err := l.Stop(ctxT(t)); err != nil {
			t.Fatalf("Stop: %v", err)
		}
	}
	n := admitted.Load()
	if n < limit || n > 2*limit {
		t.Fatalf("admitted %d, want within [%d, %d]", n, limit, 2*limit)
	}
	if got := redisCount(t, rdb, minuteStart(), "hot"); got != n {
		t.Fatalf("redis count %d, want %d admitted", got, n)
	}
	mustSync(t, a)
	mustSync(t, b)
	if a.Allow("hot").Allowed || b.Allow("hot").Allowed {
		t.Fatal("allowed after the budget was used up")
	}
	t.Logf("admitted %d for Limit %d with two processes syncing every 2ms", n, limit)
}

// pipelineHook runs before() before each pipeline goes to Redis.
type pipelineHook struct{ before func() }

func (h pipelineHook) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h pipelineHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h pipelineHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.before != nil {
			h.before()
		}
		return next(ctx, cmds)
	}
}

func TestHitsDuringSyncAreKept(t *testing.T) {
	_, rdb := newRedis(t)
	clk := newClock(t0)
	l := newLimiter(t, Config{Limit: 10, Window: time.Minute}, rdb, clk, nil)
	var once sync.Once
	rdb.AddHook(pipelineHook{before: func() {
		once.Do(func() {
			// The round has taken the delta of 4 and not got the reply.
			if n := admit(l, "k", 3); n != 3 {
				t.Errorf("admitted %d during the round, want 3", n)
			}
		})
	}})
	admit(l, "k", 4)
	mustSync(t, l)
	if got := redisCount(t, rdb, minuteStart(), "k"); got != 4 {
		t.Fatalf("redis count after first round %d, want 4", got)
	}
	// 4 synced + 3 local: 3 left.
	if d := l.Allow("k"); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("after the round: %+v", d)
	}
	if n := admit(l, "k", 5); n != 2 {
		t.Fatalf("admitted %d more, want 2", n)
	}
	mustSync(t, l)
	if got := redisCount(t, rdb, minuteStart(), "k"); got != 10 {
		t.Fatalf("redis count %d, want 10", got)
	}
}

func TestRedisDownAndBack(t *testing.T) {
	r, rdb := newRedis(t)
	core, logs := observer.New(zapcore.InfoLevel)
	clk := newClock(t0)
	cfg := Config{Limit: 5, Window: time.Minute, SyncInterval: 5 * time.Millisecond}
	l := newLimiter(t, cfg, rdb, clk, zap.New(core))
	admit(l, "k", 2)
	mustSync(t, l)

	r.Stop()
	// Local limiting goes on: 2 known + 3 local.
	if n := admit(l, "k", 10); n != 3 {
		t.Fatalf("admitted %d while Redis is down, want 3", n)
	}
	for range 3 {
		// The loop bounds its rounds the same way.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		err := l.Sync(ctx)
		cancel()
		if err == nil {
			t.Fatal("Sync succeeded with Redis down")
		}
	}
	warnings := func() int { return logs.FilterLevelExact(zapcore.WarnLevel).Len() }
	if n := warnings(); n != 1 {
		t.Fatalf("%d warnings after 3 failed rounds, want 1", n)
	}
	l.Start() // the loop keeps failing in the background
	for end := time.Now().Add(200 * time.Millisecond); time.Now().Before(end); {
		if d := l.Allow("k"); d.Allowed {
			t.Fatalf("allowed over the local limit: %+v", d)
		}
		time.Sleep(time.Millisecond)
	}
	if n := warnings(); n != 1 {
		t.Fatalf("%d warnings logged within 30s, want 1", n)
	}

	// A new window while Redis is down: local counts only.
	next := minuteStart().Add(time.Minute)
	clk.Set(next.Add(time.Second))
	if n := admit(l, "k", 2); n != 2 {
		t.Fatalf("admitted %d in the new window, want 2", n)
	}

	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for redisCount(t, rdb, next, "k") != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("hits made during the outage not sent: redis count %d", redisCount(t, rdb, next, "k"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	for logs.FilterMessageSnippet("works again").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no recovery logged")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Sharing resumed: another process sees the count and adds to it.
	other := newLimiter(t, cfg, rdb, clk, nil)
	other.Allow("k")
	mustSync(t, other)
	if n := admit(other, "k", 5); n != 2 {
		t.Fatalf("other process admitted %d, want 2 (2 + 1 used of 5)", n)
	}
	mustSync(t, other)
	if err := l.Stop(ctxT(t)); err != nil { // its last round reads the count back
		t.Fatal(err)
	}
	if d := l.Allow("k"); d.Allowed {
		t.Fatalf("first process still allows: %+v", d)
	}
}

// TestAllowDoesNotWaitForRedis runs a round against a server that never
// answers and checks that Allow returns while the round hangs.
func TestAllowDoesNotWaitForRedis(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns sync.WaitGroup
	release := make(chan struct{})
	conns.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() { <-release; c.Close() })
		}
	})
	defer conns.Wait()
	defer close(release)
	defer ln.Close()

	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), MaxRetries: -1, ContextTimeoutEnabled: true})
	defer rdb.Close()
	clk := newClock(t0)
	l := newLimiter(t, Config{Limit: 3, Window: time.Minute}, rdb, clk, nil)
	admit(l, "k", 1)

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	syncDone := make(chan error, 1)
	go func() { syncDone <- l.Sync(ctx) }()
	time.Sleep(50 * time.Millisecond) // let the round take the delta and hang
	if n := admit(l, "k", 5); n != 2 {
		t.Fatalf("admitted %d while the round hangs, want 2", n)
	}
	if n := admit(l, "other", 2); n != 2 {
		t.Fatalf("admitted %d of another key, want 2", n)
	}
	select {
	case err := <-syncDone:
		t.Fatalf("round ended before the Allow calls were checked (%v): the test proves nothing", err)
	default:
	}
	if err := <-syncDone; err == nil {
		t.Fatal("round against a silent server succeeded")
	}
	// The hits of the failed round are kept.
	if d := l.Allow("k"); d.Allowed {
		t.Fatalf("after the failed round: %+v", d)
	}
}

func TestRedisLosingDataKeepsOwnCounts(t *testing.T) {
	r, rdb := newRedis(t)
	clk := newClock(t0)
	l := newLimiter(t, Config{Limit: 5, Window: time.Minute}, rdb, clk, nil)
	admit(l, "gone", 5)
	admit(l, "k", 3)
	mustSync(t, l)

	r.Stop() // no persistence: the counters are lost
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	admit(l, "k", 1)
	// The pool's connections died with the server: the round may fail
	// once before it reconnects.
	if err := l.Sync(ctxT(t)); err != nil {
		mustSync(t, l)
	}
	if got := redisCount(t, rdb, minuteStart(), "k"); got != 1 {
		t.Fatalf("redis count %d, want 1 after the restart", got)
	}
	if d := l.Allow("gone"); d.Allowed {
		t.Fatalf("exhausted key allowed after Redis lost it: %+v", d)
	}
	if n := admit(l, "k", 5); n != 1 {
		t.Fatalf("admitted %d, want 1 (3 + 1 known of 5)", n)
	}
}

func TestConcurrentAllowCountsExactly(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		l := newLimiter(t, Config{Limit: 1000, Window: time.Minute}, nil, newClock(t0), nil)
		keys := []string{"hot", "a", "b", "c", "d", "e", "f", "g"}
		var allowed [8]atomic.Int64
		var wg sync.WaitGroup
		for g := range 32 {
			wg.Go(func() {
				for i := range 400 {
					k := (g + i) % len(keys)
					if i%2 == 0 {
						k = 0
					}
					if l.Allow(keys[k]).Allowed {
						allowed[k].Add(1)
					}
				}
			})
		}
		wg.Wait()
		// "hot" got 6400 attempts, the others 800 each.
		for i := range keys {
			want := int64(800)
			if i == 0 {
				want = 1000
			}
			if got := allowed[i].Load(); got != want {
				t.Errorf("%s: %d allowed, want %d", keys[i], got, want)
			}
		}
	})
	t.Run("syncing", func(t *testing.T) {
		// One process never exceeds the limit, whatever the rounds do
		// meanwhile, and Redis ends with exactly what it admitted.
		_, rdb := newRedis(t)
		l := newLimiter(t, Config{Limit: 1000, Window: time.Minute, SyncInterval: time.Millisecond}, rdb, newClock(t0), nil)
		l.Start()
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for range 200 {
					if l.Allow("k").Allowed {
						allowed.Add(1)
					}
					time.Sleep(20 * time.Microsecond)
				}
			})
		}
		wg.Wait()
		if err := l.Stop(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if got := allowed.Load(); got != 1000 {
			t.Fatalf("%d allowed, want 1000", got)
		}
		if got := redisCount(t, rdb, minuteStart(), "k"); got != 1000 {
			t.Fatalf("redis count %d, want 1000", got)
		}
	})
}

func TestStopFlushes(t *testing.T) {
	_, rdb := newRedis(t)
	clk := newClock(t0)
	cfg := Config{Limit: 100, Window: time.Minute, SyncInterval: time.Hour}
	l := newLimiter(t, cfg, rdb, clk, nil)
	l.Start()
	admit(l, "k", 7)
	admit(l, "j", 2)
	if got := redisCount(t, rdb, minuteStart(), "k"); got != 0 {
		t.Fatalf("redis count %d before Stop, want 0", got)
	}
	if err := l.Stop(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if k, j := redisCount(t, rdb, minuteStart(), "k"), redisCount(t, rdb, minuteStart(), "j"); k != 7 || j != 2 {
		t.Fatalf("redis k=%d j=%d after Stop, want 7 and 2", k, j)
	}
	ttl, err := rdb.PTTL(ctxT(t), redisKey(minuteStart(), "k")).Result()
	if err != nil || ttl <= 0 || ttl > time.Minute+expiryMargin {
		t.Fatalf("PTTL = %v, %v; want within (0, window+margin]", ttl, err)
	}
	// Stop without Start flushes too; a second Stop is harmless.
	m := newLimiter(t, cfg, rdb, clk, nil)
	admit(m, "k", 3)
	if err := m.Stop(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := redisCount(t, rdb, minuteStart(), "k"); got != 10 {
		t.Fatalf("redis count %d, want 10", got)
	}
	m.Start() // after Stop: no loop
	if m.done != nil {
		t.Fatal("Start after Stop started a loop")
	}
}

func TestPastWindowsAreDropped(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("redis=%v", shared), func(t *testing.T) {
			clk := newClock(t0)
			cfg := Config{Limit: 3, Window: time.Minute}
			var l *Limiter
			if shared {
				_, rdb := newRedis(t)
				l = newLimiter(t, cfg, rdb, clk, nil)
			} else {
				l = newLimiter(t, cfg, nil, clk, nil)
			}
			for i := range 100 {
				l.Allow(fmt.Sprint("key", i))
			}
			mustSync(t, l)
			if n := tracked(l); n != 100 {
				t.Fatalf("%d keys tracked, want 100", n)
			}
			clk.Set(t0.Add(time.Minute))
			l.Allow("key0")
			mustSync(t, l)
			if n := tracked(l); n != 1 {
				t.Fatalf("%d keys tracked after the window rolled, want 1", n)
			}
			for i := range l.shards {
				sh := &l.shards[i]
				if len(sh.dirty) != 0 || len(sh.active) > 1 {
					t.Fatalf("shard %d keeps %d dirty and %d active entries", i, len(sh.dirty), len(sh.active))
				}
			}
		})
	}
}

func tracked(l *Limiter) int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

func TestMaxKeys(t *testing.T) {
	_, rdb := newRedis(t)
	core, logs := observer.New(zapcore.WarnLevel)
	clk := newClock(t0)
	l := newLimiter(t, Config{Limit: 2, Window: time.Minute, MaxKeys: 10}, rdb, clk, zap.New(core))
	for i := range 30 {
		if d := l.Allow(fmt.Sprint("ip", i)); !d.Allowed {
			t.Fatalf("new key %d denied: %+v", i, d)
		}
		if n := tracked(l); n > 10 {
			t.Fatalf("%d keys tracked, MaxKeys is 10", n)
		}
	}
	if n := logs.Len(); n != 1 {
		t.Fatalf("%d eviction warnings, want 1", n)
	}
	// Evicted keys' hits still reach Redis.
	mustSync(t, l)
	for i := range 30 {
		if got := redisCount(t, rdb, minuteStart(), fmt.Sprint("ip", i)); got != 1 {
			t.Fatalf("ip%d: redis count %d, want 1", i, got)
		}
	}
	// A big table is split into 64 shards holding MaxKeys in total.
	big := New(Config{Limit: 1, Window: time.Second, MaxKeys: 100_003}, nil, nil)
	if len(big.shards) != 64 || big.maxKeys() != 100_003 {
		t.Fatalf("%d shards for %d keys", len(big.shards), big.maxKeys())
	}
	// Without Redis, a key table full within one window stays bounded.
	local := newLimiter(t, Config{Limit: 2, Window: time.Minute, MaxKeys: 50}, nil, clk, nil)
	for i := range 1000 {
		local.Allow(fmt.Sprint("ip", i))
	}
	if n := tracked(local); n > 50 {
		t.Fatalf("%d keys tracked, MaxKeys is 50", n)
	}
}

func TestKeyIsCopied(t *testing.T) {
	l := newLimiter(t, Config{Limit: 1, Window: time.Minute}, nil, newClock(t0), nil)
	buf := []byte("10.0.0.1")
	l.Allow(unsafe.String(&buf[0], len(buf))) // as a fasthttp-backed string
	copy(buf, "99.9.9.9")
	if d := l.Allow("10.0.0.1"); d.Allowed {
		t.Fatalf("the stored key changed with the caller's buffer: %+v", d)
	}
}

func TestNewValidates(t *testing.T) {
	for name, cfg := range map[string]Config{
		"negative limit": {Limit: -1, Window: time.Second},
		"no window":      {Limit: 1},
		"tiny window":    {Limit: 1, Window: time.Microsecond},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: New did not panic", name)
				}
			}()
			New(cfg, nil, nil)
		}()
	}
	l := New(Config{Limit: 1, Window: time.Second}, nil, nil)
	if l.interval != DefaultSyncInterval || l.prefix != DefaultKeyPrefix || l.maxKeys() != DefaultMaxKeys || l.maxRefresh != DefaultMaxRefresh {
		t.Fatalf("defaults not applied: %v %q %d %d", l.interval, l.prefix, l.maxKeys(), l.maxRefresh)
	}
}

func TestMaxRefreshNegativeDisablesReads(t *testing.T) {
	_, rdb := newRedis(t)
	clk := newClock(t0)
	a := newLimiter(t, Config{Limit: 3, Window: time.Minute}, rdb, clk, nil)
	b := newLimiter(t, Config{Limit: 3, Window: time.Minute, MaxRefresh: -1}, rdb, clk, nil)
	b.Allow("k")
	mustSync(t, b)
	admit(a, "k", 3)
	mustSync(t, a)
	mustSync(t, b) // no GET: b still believes 1 of 3 is used
	if d := b.Allow("k"); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("b: %+v, want allowed with 1 remaining", d)
	}
	mustSync(t, b) // its INCRBY reply brings the global count
	if d := b.Allow("k"); d.Allowed {
		t.Fatalf("b after sending its hit: %+v", d)
	}
}
