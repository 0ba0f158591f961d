package ratelimit

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Defaults applied by New to the zero fields of a Config.
const (
	DefaultSyncInterval = 250 * time.Millisecond
	DefaultKeyPrefix    = "veza:ratelimit:"
	DefaultMaxKeys      = 1_000_000
	DefaultMaxRefresh   = 10_000
)

const (
	// expiryMargin is added to the window for the TTL of the Redis counters:
	// it covers clock skew between processes and late flushes.
	expiryMargin = 10 * time.Second
	// warnEvery spaces the warnings about Redis failures and evictions.
	warnEvery = 30 * time.Second
	// maxShards is the number of shards of the key table (a power of two).
	maxShards = 64
	// minPerShard keeps tiny tables (tests) from being split into shards
	// of a handful of keys each.
	minPerShard = 16
	// evictSample is how many entries a full shard looks at to choose one to
	// evict.
	evictSample = 8
)

// Config sets up a Limiter. Zero fields other than Limit and Window take
// their defaults.
type Config struct {
	// Limit is the number of requests a key may make per window. Zero denies
	// everything.
	Limit int
	// Window is the length of the fixed windows, aligned to the Unix epoch.
	// It must be at least one millisecond.
	Window time.Duration
	// SyncInterval is the period of the background sync with Redis
	// (default 250ms). The overshoot across processes grows with it.
	SyncInterval time.Duration
	// KeyPrefix starts every Redis key (default "veza:ratelimit:"). The keys
	// are <KeyPrefix><window start in Unix ms>:<key>.
	KeyPrefix string
	// MaxKeys bounds the number of keys tracked in memory (default
	// 1,000,000); see the package documentation for what happens beyond.
	MaxKeys int
	// MaxRefresh bounds how many keys without new hits a sync round re-reads
	// from Redis to learn the other processes' usage (default 10,000; they
	// are visited round-robin). Negative disables these reads: a process then
	// learns the global count of a key only when it sends hits for it.
	MaxRefresh int
}

// Decision is the verdict of Allow for one request, with the values for the
// X-RateLimit-* and Retry-After headers.
type Decision struct {
	// Allowed reports whether the request may proceed.
	Allowed bool
	// Limit is Config.Limit.
	Limit int
	// Remaining is how many more requests the key may make in this window,
	// as far as this process knows; 0 when denied.
	Remaining int
	// Reset is the end of the current window.
	Reset time.Time
	// RetryAfter is, for a denied request, the time until the window ends
	// rounded up to whole seconds (at least one second); 0 when allowed.
	RetryAfter time.Duration
}

// entry is the state of one key for its current window. It is guarded by the
// mutex of its shard.
type entry struct {
	key      string
	window   int64 // start of the window, Unix ns
	shared   int64 // global count last read from Redis for key and window
	inflight int64 // our hits sent by the running sync round, not yet acknowledged
	local    int64 // our hits not sent yet
	dirty    bool  // in shard.dirty
	dead     bool  // no longer in shard.m (swept or evicted)
}

type shard struct {
	mu      sync.Mutex
	m       map[string]*entry
	max     int      // entries the shard may hold
	listMax int      // bound of active and dirty
	window  int64    // newest window the shard has seen
	swept   int64    // window whose sweep of older entries has run
	active  []*entry // entries hit in window (only when sharing)
	refresh int      // round-robin position in active
	dirty   []*entry // entries with local hits to send (only when sharing)
	_       [64]byte // keep shards on distinct cache lines
}

// Limiter is a fixed-window rate limiter per key whose counts are shared by
// several processes through Redis. Its methods are safe for concurrent use.
type Limiter struct {
	limit      int64
	window     int64 // ns
	interval   time.Duration
	prefix     string
	maxRefresh int
	rdb        redis.UniversalClient
	sharing    bool // rdb != nil
	log        *zap.Logger
	now        func() time.Time

	shards []shard
	mask   uint32

	evictWarn atomic.Int64 // Unix ns of the last eviction warning

	syncMu   sync.Mutex // one sync round at a time; guards the fields below
	batch    []item
	failing  bool
	warned   bool // a failure warning was logged since the last recovery
	lastWarn time.Time

	lifeMu  sync.Mutex
	started bool
	stopped bool
	quit    chan struct{}
	done    chan struct{}
}

// New returns a Limiter. rdb may be nil, in which case every process limits
// on its own. log may be nil. New panics if cfg.Limit is negative or
// cfg.Window is shorter than a millisecond. Call Start to sync with Redis in
// the background and Stop to flush at shutdown.
func New(cfg Config, rdb redis.UniversalClient, log *zap.Logger) *Limiter {
	if cfg.Limit < 0 {
		panic("ratelimit: negative Limit")
	}
	if cfg.Window < time.Millisecond {
		panic("ratelimit: Window must be at least 1ms")
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.KeyPrefix == "" {
		cfg.KeyPrefix = DefaultKeyPrefix
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	switch {
	case cfg.MaxRefresh == 0:
		cfg.MaxRefresh = DefaultMaxRefresh
	case cfg.MaxRefresh < 0:
		cfg.MaxRefresh = 0
	}
	if log == nil {
		log = zap.NewNop()
	}
	n := maxShards
	for n > 1 && cfg.MaxKeys/n < minPerShard {
		n /= 2
	}
	l := &Limiter{
		limit:      int64(cfg.Limit),
		window:     int64(cfg.Window),
		interval:   cfg.SyncInterval,
		prefix:     cfg.KeyPrefix,
		maxRefresh: cfg.MaxRefresh,
		rdb:        rdb,
		sharing:    rdb != nil,
		log:        log,
		now:        time.Now,
		shards:     make([]shard, n),
		mask:       uint32(n - 1),
	}
	for i := range l.shards {
		sh := &l.shards[i]
		sh.m = make(map[string]*entry)
		sh.max = cfg.MaxKeys / n
		if i < cfg.MaxKeys%n {
			sh.max++
		}
		sh.listMax = 2*sh.max + 64
		sh.window = -1 << 63
		sh.swept = -1 << 63
	}
	return l
}

// Allow counts a request of key and reports whether it may proceed. It
// decides from memory only and never waits for Redis.
func (l *Limiter) Allow(key string) Decision {
	now := l.now()
	ns := now.UnixNano()
	ws := l.windowStart(ns)
	sh := &l.shards[l.shardOf(key)]
	evicted := false

	sh.mu.Lock()
	e := sh.m[key]
	switch {
	case e == nil:
		e, evicted = l.add(sh, key, ws)
	case e.window < ws:
		l.roll(sh, e, ws)
	case e.window > ws:
		ws = e.window // the clock stepped back: stay in the newer window
	}
	used := e.shared + e.inflight + e.local
	allowed := used < l.limit
	if allowed {
		e.local++
		used++
		if l.sharing && !e.dirty {
			markDirty(sh, e)
		}
	}
	sh.mu.Unlock()

	if evicted && l.throttle(&l.evictWarn, ns) {
		l.log.Warn("ratelimit: key table full, evicting keys; raise MaxKeys if this is normal traffic",
			zap.Int("max_keys", l.maxKeys()))
	}
	end := ws + l.window
	d := Decision{Allowed: allowed, Limit: int(l.limit), Reset: time.Unix(0, end)}
	if allowed {
		d.Remaining = int(l.limit - used)
	} else {
		d.RetryAfter = retryAfter(time.Duration(end - ns))
	}
	return d
}

// windowStart returns the start of the window holding ns (Unix ns).
func (l *Limiter) windowStart(ns int64) int64 {
	r := ns % l.window
	if r < 0 {
		r += l.window
	}
	return ns - r
}

// shardOf hashes key with 32-bit FNV-1a.
func (l *Limiter) shardOf(key string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return h & l.mask
}

func (l *Limiter) maxKeys() int {
	n := 0
	for i := range l.shards {
		n += l.shards[i].max
	}
	return n
}

// add stores a new entry for key in window ws, evicting one if the shard is
// full. It reports whether it evicted a live entry.
func (l *Limiter) add(sh *shard, key string, ws int64) (*entry, bool) {
	advance(sh, ws)
	evicted := false
	if len(sh.m) >= sh.max {
		evicted = makeRoom(sh, ws)
	}
	e := &entry{key: strings.Clone(key), window: ws}
	sh.m[e.key] = e
	l.markActive(sh, e)
	return e, evicted
}

// roll moves e to the newer window ws, forgetting its counts.
func (l *Limiter) roll(sh *shard, e *entry, ws int64) {
	advance(sh, ws)
	e.window = ws
	e.shared, e.inflight, e.local = 0, 0, 0
	l.markActive(sh, e)
}

// advance starts a new window for the shard's list of active entries.
func advance(sh *shard, ws int64) {
	if ws > sh.window {
		sh.window = ws
		clear(sh.active)
		sh.active = sh.active[:0]
		sh.refresh = 0
	}
}

func (l *Limiter) markActive(sh *shard, e *entry) {
	if l.sharing && e.window == sh.window {
		sh.active, _ = appendBounded(sh.active, e, sh.listMax)
	}
}

func markDirty(sh *shard, e *entry) {
	sh.dirty, e.dirty = appendBounded(sh.dirty, e, sh.listMax)
}

// appendBounded appends e to list unless list already holds
// bound entries after dropping the dead ones.
func appendBounded(list []*entry, e *entry, bound int) ([]*entry, bool) {
	if len(list) >= bound {
		kept := list[:0]
		for _, x := range list {
			if x.dead {
				x.dirty = false
			} else {
				kept = append(kept, x)
			}
		}
		clear(list[len(kept):])
		list = kept
		if len(list) >= bound {
			return list, false
		}
	}
	return append(list, e), true
}

// makeRoom frees one place in a full shard: it first drops the entries of
// past windows (once per window), then evicts an entry of the current window,
// preferring one with all its hits in Redis. It reports whether it evicted.
func makeRoom(sh *shard, ws int64) bool {
	if sh.swept < ws {
		sweep(sh, ws)
		if len(sh.m) < sh.max {
			return false
		}
	}
	var victim *entry
	n := 0
	for _, e := range sh.m {
		victim = e
		if e.local == 0 && e.inflight == 0 {
			break
		}
		if n++; n == evictSample {
			break
		}
	}
	if victim == nil { // sh.max == 0 cannot happen, but stay safe
		return false
	}
	delete(sh.m, victim.key)
	victim.dead = true
	return true
}

// sweep deletes the entries of windows before cw.
func sweep(sh *shard, cw int64) {
	for k, e := range sh.m {
		if e.window < cw {
			delete(sh.m, k)
			e.dead = true
		}
	}
	sh.swept = cw
}

// throttle reports whether a warning may be logged at ns, at most one per
// warnEvery for the given clock.
func (l *Limiter) throttle(last *atomic.Int64, ns int64) bool {
	p := last.Load()
	if p != 0 && ns-p < int64(warnEvery) {
		return false
	}
	return last.CompareAndSwap(p, ns)
}

// retryAfter rounds d up to whole seconds, at least one.
func retryAfter(d time.Duration) time.Duration {
	if d <= time.Second {
		return time.Second
	}
	return (d + time.Second - 1).Truncate(time.Second)
}
