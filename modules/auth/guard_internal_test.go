package auth

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/veza/veza/platform/testkit"
)

// These tests pin the throttling mechanisms down without timing anything:
// what the guard decides, and what the mail budget admits, with Redis and
// without it. The HTTP tests (lockout_test.go, mailbudget_test.go) show
// the behaviour end to end.

func guardSettings() *Settings {
	s := defaultSettings().(*Settings)
	s.MaxFailedLoginsPerAccount, s.MaxFailedLoginsPerIP = 3, 5
	s.LoginDelayAfter, s.LoginDelayBase, s.LoginDelayMax = 2, 100*time.Millisecond, time.Second
	return s
}

// redisFor returns a client of a private Redis, and the server, which a
// test may stop to play an outage.
func redisFor(t *testing.T) (redis.UniversalClient, *testkit.Redis) {
	t.Helper()
	srv := testkit.NewRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond,
		DialerRetries: 1, DialerRetryTimeout: time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	return rdb, srv
}

func TestLoginDelaySchedule(t *testing.T) {
	g := newLoginGuard(nil, guardSettings())
	want := map[int64]time.Duration{0: 0, 1: 0, 2: 0, 3: 100 * time.Millisecond, 4: 200 * time.Millisecond,
		5: 400 * time.Millisecond, 6: 800 * time.Millisecond, 7: time.Second, 50: time.Second, 1 << 40: time.Second}
	for failures, d := range want {
		if got := g.delayFor(failures); got != d {
			t.Errorf("delayFor(%d) = %s, want %s", failures, got, d)
		}
	}
}

func TestLoginGuard(t *testing.T) {
	for _, outage := range []bool{false, true} {
		t.Run(fmt.Sprintf("redis down %v", outage), func(t *testing.T) {
			rdb, srv := redisFor(t)
			if outage {
				srv.Stop() // each process counts on its own: the same decisions
			}
			g := newLoginGuard(newCounters(rdb), guardSettings())
			checkGuard(t, g)
			if !outage {
				checkShared(t, rdb, g)
			}
		})
	}
}

func checkGuard(t *testing.T, g *loginGuard) {
	ctx := context.Background()
	const a, b, c = "203.0.113.1", "198.51.100.2", "192.0.2.3"
	for range 3 {
		if v := g.check(ctx, a, "carol@example.com"); v.refusedFor > 0 {
			t.Fatal("refused before the limit")
		}
		g.fail(ctx, a, "carol@example.com")
	}
	// The address that failed is refused that account; the account is not
	// refused anywhere else, only slowed (3 failures, 1 past the 2 free).
	if v := g.check(ctx, a, "carol@example.com"); v.refusedFor <= 0 || v.refusedFor > 15*time.Minute {
		t.Fatalf("attacker's verdict %+v, want refused for up to the window", v)
	}
	if v := g.check(ctx, b, "carol@example.com"); v.refusedFor != 0 || v.delay != 100*time.Millisecond {
		t.Fatalf("owner's verdict from another address %+v, want slowed by 100ms, not refused", v)
	}
	// Once the owner signs in from b, b is known: not slowed any more, and
	// later failures elsewhere do not change that.
	g.succeed(ctx, b, "carol@example.com")
	g.fail(ctx, c, "carol@example.com")
	if v := g.check(ctx, b, "carol@example.com"); v != (loginVerdict{}) {
		t.Fatalf("known address verdict %+v, want neither refused nor slowed", v)
	}
	if v := g.check(ctx, c, "carol@example.com"); v.delay != 200*time.Millisecond {
		t.Fatalf("unknown address verdict %+v, want 200ms after 4 failures", v)
	}
	// The attacker's address may still try other accounts, up to the
	// per-address limit (5 failures in all); then it is refused everything.
	if v := g.check(ctx, a, "dave@example.com"); v.refusedFor != 0 {
		t.Fatalf("attacker refused another account at 3 failures: %+v", v)
	}
	g.fail(ctx, a, "x@example.com")
	g.fail(ctx, a, "y@example.com")
	if v := g.check(ctx, a, "dave@example.com"); v.refusedFor <= 0 {
		t.Fatalf("attacker over the per-address limit not refused: %+v", v)
	}
	// A success clears the pair's failures.
	g.fail(ctx, c, "erin@example.com")
	g.fail(ctx, c, "erin@example.com")
	g.succeed(ctx, c, "erin@example.com")
	g.fail(ctx, c, "erin@example.com")
	if v := g.check(ctx, c, "erin@example.com"); v.refusedFor != 0 {
		t.Fatalf("pair failures survived a success: %+v", v)
	}
}

// checkShared checks that the counts checkGuard made are in Redis, where
// other processes see them, each expiring within the window.
func checkShared(t *testing.T, rdb redis.UniversalClient, g *loginGuard) {
	t.Helper()
	ctx := context.Background()
	k := g.keys("203.0.113.1", "carol@example.com")
	for key, want := range map[string]int64{k.pair: 3, k.ip: 5, k.account: 4} {
		n, err := rdb.Get(ctx, key).Int64()
		ttl := rdb.PTTL(ctx, key).Val()
		if err != nil || n != want || ttl <= 0 || ttl > 15*time.Minute {
			t.Errorf("%s in Redis: %d (%v), ttl %s; want %d expiring within the window", key, n, err, ttl, want)
		}
	}
	known := g.keys("198.51.100.2", "carol@example.com").known
	if ttl := rdb.PTTL(ctx, known).Val(); ttl <= 0 {
		t.Errorf("known address not in Redis (ttl %s)", ttl)
	}
}

// One IPv6 subscriber holds a /64: its addresses count as one.
func TestLoginGuardIPv6Network(t *testing.T) {
	rdb, _ := redisFor(t)
	g := newLoginGuard(newCounters(rdb), guardSettings())
	ctx := context.Background()
	for i := range 3 {
		g.fail(ctx, fmt.Sprintf("2001:db8:1:2::%x", i+1), "carol@example.com")
	}
	if v := g.check(ctx, "2001:db8:1:2:ffff:ffff:ffff:ffff", "carol@example.com"); v.refusedFor <= 0 {
		t.Fatalf("another address of the same /64 not refused: %+v", v)
	}
	if v := g.check(ctx, "2001:db8:1:3::1", "carol@example.com"); v.refusedFor != 0 {
		t.Fatalf("another /64 refused: %+v", v)
	}
	if networkKey("::ffff:203.0.113.1") != "203.0.113.1" || networkKey("2001:db8::1%eth0") != "2001:db8::/64" {
		t.Fatal("network keys")
	}
}

func TestMailBudget(t *testing.T) {
	for _, outage := range []bool{false, true} {
		t.Run(fmt.Sprintf("redis down %v", outage), func(t *testing.T) {
			rdb, srv := redisFor(t)
			if outage {
				srv.Stop()
			}
			b := newMailBudget(rdb, defaultSettings().(*Settings))
			now := time.Now()
			b.now = func() time.Time { return now }
			ctx := context.Background()
			admitted := 0
			for i := range 10 {
				if b.take(ctx, mailReset, "carol@example.com", fmt.Sprint("task-", i)) {
					admitted++
				}
			}
			if admitted != 3 {
				t.Fatalf("%d of 10 mails admitted, want 3", admitted)
			}
			if n := rdb.ZCard(ctx, "veza:auth:mail:"+mailReset+":"+addressKey("carol@example.com")).Val(); !outage && n != 3 {
				t.Fatalf("%d admitted tasks in Redis, want 3 (shared by every worker)", n)
			}
			if !b.take(ctx, mailReset, "carol@example.com", "task-0") {
				t.Fatal("a retry of an admitted task was refused")
			}
			if !b.take(ctx, mailVerify, "carol@example.com", "task-v") || !b.take(ctx, mailReset, "dave@example.com", "task-d") {
				t.Fatal("the budget of one kind or address spent another's")
			}
			now = now.Add(time.Hour + time.Second)
			if !b.take(ctx, mailReset, "carol@example.com", "task-late") {
				t.Fatal("the budget did not come back after the window")
			}
		})
	}
}
