package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// failureLimiter counts failed logins per account and per IP in fixed
// windows, in Redis so that every API process sees the same counts. When
// Redis does not answer, each process keeps counting on its own: the limit
// weakens to per-process but never disappears.
type failureLimiter struct {
	rdb        redis.UniversalClient
	window     time.Duration
	perAccount int
	perIP      int
	now        func() time.Time

	mu    sync.Mutex
	local map[string]int // key "<window>:<kind>:<id>"
}

func newFailureLimiter(rdb redis.UniversalClient, s *Settings) *failureLimiter {
	return &failureLimiter{rdb: rdb, window: s.FailedLoginWindow, perAccount: s.MaxFailedLoginsPerAccount,
		perIP: s.MaxFailedLoginsPerIP, now: time.Now, local: map[string]int{}}
}

func (l *failureLimiter) keys(ip, account string) (accountKey, ipKey string, reset time.Time) {
	w := l.now().UnixNano() / int64(l.window)
	start := time.Unix(0, w*int64(l.window))
	sum := sha256.Sum256([]byte(account)) // keep addresses out of Redis
	prefix := "veza:auth:fail:" + strconv.FormatInt(w, 10) + ":"
	return prefix + "acct:" + hex.EncodeToString(sum[:12]), prefix + "ip:" + ip, start.Add(l.window)
}

// blocked reports whether the account or the IP is over its limit, and for
// how long.
func (l *failureLimiter) blocked(ctx context.Context, ip, account string) (time.Duration, bool) {
	ak, ik, reset := l.keys(ip, account)
	wait := time.Until(reset)
	counts, err := l.rdb.MGet(ctx, ak, ik).Result()
	if err != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		return wait, l.local[ak] >= l.perAccount || l.local[ik] >= l.perIP
	}
	n := func(v any) int {
		s, _ := v.(string)
		i, _ := strconv.Atoi(s)
		return i
	}
	return wait, n(counts[0]) >= l.perAccount || n(counts[1]) >= l.perIP
}

// fail counts one failed login.
func (l *failureLimiter) fail(ctx context.Context, ip, account string) {
	ak, ik, _ := l.keys(ip, account)
	pipe := l.rdb.TxPipeline()
	pipe.Incr(ctx, ak)
	pipe.Expire(ctx, ak, l.window+time.Minute)
	pipe.Incr(ctx, ik)
	pipe.Expire(ctx, ik, l.window+time.Minute)
	if _, err := pipe.Exec(ctx); err != nil {
		l.mu.Lock()
		l.local[ak]++
		l.local[ik]++
		l.prune()
		l.mu.Unlock()
	}
}

// succeed clears the account's failures (not the IP's).
func (l *failureLimiter) succeed(ctx context.Context, account string) {
	ak, _, _ := l.keys("", account)
	_ = l.rdb.Del(ctx, ak).Err()
	l.mu.Lock()
	delete(l.local, ak)
	l.mu.Unlock()
}

// prune keeps the local fallback bounded; called with mu held.
func (l *failureLimiter) prune() {
	if len(l.local) > 100000 {
		l.local = map[string]int{}
	}
}
