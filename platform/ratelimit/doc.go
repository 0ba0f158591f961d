// Package ratelimit is Veza's per-client rate limiter: at most Limit requests
// per key (a client IP) in fixed windows aligned to the Unix epoch, shared by
// all API processes through Redis without a Redis round trip per request.
//
// # How it works
//
// Every process keeps, per key, the count of the current window in memory:
//
//   - shared: the global count for the key and window as last read back from
//     Redis (it includes the other processes' hits and our own synced hits);
//   - inflight: our hits sent to Redis by a sync round whose reply has not
//     arrived yet;
//   - local: our hits not sent yet.
//
// [Limiter.Allow] admits a request when shared+inflight+local < Limit and
// then increments local. It takes one mutex out of 64 (keys are sharded by
// FNV-1a hash; fewer shards for a small MaxKeys), never touches the network
// and does not allocate for a key it already tracks.
//
// A background loop ([Limiter.Start]) runs [Limiter.Sync] every SyncInterval
// (default 250ms). A round sends, in one pipelined round trip, for each key
// with unsynced hits INCRBY <prefix><windowStart>:<key> <delta> plus PEXPIRE
// (window + 10s), where windowStart is the window's start in Unix
// milliseconds. The delta moves from local to inflight when the round takes
// it, so hits admitted while the round is on the wire are still counted; when
// the reply comes, inflight drops by the delta and shared becomes the INCRBY
// reply, which already includes our delta. The same pipeline GETs the count
// of keys hit in the current window that had no new hits and are not already
// known to be exhausted, so a process learns that the others used up a
// client's budget even if that client is quiet here. At most MaxRefresh such
// keys are read per round, visited round-robin, which bounds the cost of a
// round for processes that see very many clients.
//
// # Accuracy
//
// Let d be one sync period: SyncInterval plus the duration of one round
// (normally a Redis round trip). While Redis is reachable, a hit admitted by
// one process reaches Redis within d, and every process's view of Redis is
// at most d old, so a hit stays invisible to the other processes for less
// than 2d. Hence, for one key and window, across P processes,
//
//	admitted <= Limit + sum over processes of (hits it admits within 2d)
//	         <= Limit + P × (hits one process admits in 2 sync periods)
//
// For a client whose steady stream of requests the load balancer spreads
// over the fleet, this is roughly the client's request rate × 2d, and less
// when the rounds of the processes interleave (the sum over processes does
// not grow with P). Bursts count in full: a process that has not seen a key
// yet in this window starts from 0, so a client bursting on it after using
// its budget elsewhere gets up to min(burst, Limit) there before that
// process's next round. A process never admits more than Limit for a key in
// a window on its own (its own hits are always part of its view, unless the
// key is evicted, see Memory), so the hard ceiling is P × Limit, which is
// also what happens when Redis is down for the whole window. Unless Redis
// loses its data, its count never undershoots: deltas are delivered at least
// once (a round that fails puts its deltas back and they are sent again, so
// a reply lost after Redis applied an INCRBY makes the count too high, i.e.
// stricter, never too lenient).
//
// Windows are computed from each process's clock: clock skew between
// processes shifts the boundaries by the skew. Unsynced hits of a window that
// has ended are sent if a round still finds them but are dropped when the
// key's entry rolls to the new window first; they only matter to processes
// whose clock lags.
//
// # Redis outages
//
// Allow never waits for Redis. When a round fails, its deltas go back to
// local and the process keeps limiting with what it knows (the last shared
// count plus its own hits), i.e. it fails open to per-process limiting; a
// warning is logged at most once per 30 seconds, and an info line when a
// round succeeds again. The hits admitted during the outage are sent by the
// first successful round, for the window they belong to if it is still
// current. If Redis lost its data meanwhile, every process keeps its own
// larger view (shared never decreases within a window).
//
// The loop gives each round a deadline of max(2×SyncInterval, 1s). go-redis
// applies context deadlines to socket reads and writes only when the client
// has Options.ContextTimeoutEnabled; otherwise its Dial/Read/WriteTimeout
// bound a round against a server that hangs. Either way Allow is unaffected:
// no shard lock is held during the round trip.
//
// # Memory
//
// An entry costs about 150 bytes plus the key. Entries of past windows are
// deleted by the first sync round of a window (or, without a sync loop, when
// a shard is full). The table holds at most MaxKeys entries (default
// 1,000,000), split evenly over the shards. When a shard is full within one
// window, a new key evicts an entry of that shard, preferring one whose hits
// are all in Redis: with Redis the evicted key only loses its cached count,
// which its next sync restores (until then it may admit up to Limit again
// locally); its unsynced hits are still sent. Without Redis an evicted key's
// count is forgotten. Eviction is logged at most once per 30 seconds. Keys
// are copied when first stored, so callers may pass strings backed by reused
// buffers (as fasthttp/Fiber ones are).
package ratelimit
