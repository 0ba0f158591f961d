package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// counters are integer counts with an expiry, kept in Redis so that every
// process sees the same ones. When Redis does not answer, each process
// counts on its own: a limit built on them weakens to per-process but never
// disappears.
type counters struct {
	rdb redis.UniversalClient
	now func() time.Time

	mu    sync.Mutex
	local map[string]localCount
}

type localCount struct {
	n       int64
	expires time.Time
}

// maxLocalCounts bounds the fallback's memory; past it, expired counts are
// dropped, then everything if that is not enough.
const maxLocalCounts = 100000

func newCounters(rdb redis.UniversalClient) *counters {
	return &counters{rdb: rdb, now: time.Now, local: map[string]localCount{}}
}

// count is a counter's value and how long it still lives.
type count struct {
	n   int64
	ttl time.Duration
}

// get returns the counts of keys: 0 for an absent one.
func (c *counters) get(ctx context.Context, keys ...string) []count {
	out := make([]count, len(keys))
	pipe := c.rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(keys))
	ttls := make([]*redis.DurationCmd, len(keys))
	for i, k := range keys {
		gets[i], ttls[i] = pipe.Get(ctx, k), pipe.PTTL(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return c.getLocal(keys)
	}
	for i := range keys {
		out[i].n, _ = gets[i].Int64()
		out[i].ttl = max(ttls[i].Val(), 0) // -1, -2: no expiry, no key
	}
	return out
}

func (c *counters) getLocal(keys []string) []count {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	out := make([]count, len(keys))
	for i, k := range keys {
		if lc, ok := c.local[k]; ok && now.Before(lc.expires) {
			out[i] = count{n: lc.n, ttl: lc.expires.Sub(now)}
		}
	}
	return out
}

// incrScript counts one more in KEYS[1], which expires ARGV[1] ms after
// its first count: a window that starts with the first failure of a burst,
// not at a clock boundary that would reset every count at once.
var incrScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`)

// incr adds one to each key; a key lives ttl from its first count. Keys go
// one script each, so that they may live on different Redis Cluster slots.
func (c *counters) incr(ctx context.Context, ttl time.Duration, keys ...string) {
	pipe := c.rdb.Pipeline()
	for _, k := range keys {
		incrScript.Eval(ctx, pipe, []string{k}, ttl.Milliseconds())
	}
	if _, err := pipe.Exec(ctx); err == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for _, k := range keys {
		lc, ok := c.local[k]
		if !ok || !now.Before(lc.expires) {
			lc = localCount{expires: now.Add(ttl)}
		}
		lc.n++
		c.local[k] = lc
	}
	c.prune(now)
}

// set makes key count 1 for ttl from now, whatever it held.
func (c *counters) set(ctx context.Context, key string, ttl time.Duration) {
	if err := c.rdb.Set(ctx, key, 1, ttl).Err(); err == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.local[key] = localCount{n: 1, expires: c.now().Add(ttl)}
	c.prune(c.now())
}

// del forgets keys, here and in Redis.
func (c *counters) del(ctx context.Context, keys ...string) {
	_ = c.rdb.Del(ctx, keys...).Err()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.local, k)
	}
}

// prune keeps the fallback bounded; called with mu held.
func (c *counters) prune(now time.Time) {
	if len(c.local) <= maxLocalCounts {
		return
	}
	for k, lc := range c.local {
		if !now.Before(lc.expires) {
			delete(c.local, k)
		}
	}
	if len(c.local) > maxLocalCounts {
		c.local = map[string]localCount{}
	}
}

// addressKey is the part of a key that names an email address: a hash, so
// that Redis holds no addresses.
func addressKey(email string) string {
	sum := sha256.Sum256([]byte(email))
	return hex.EncodeToString(sum[:12])
}

// networkKey is the part of a key that names a client: its IPv4 address,
// or its IPv6 /64. One IPv6 subscriber gets a whole /64 (SLAAC, privacy
// addresses), so counting single IPv6 addresses would give an attacker 2^64
// fresh ones. An IPv4-mapped address counts as its IPv4 address.
func networkKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
