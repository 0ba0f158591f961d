package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// item is one key of a sync round: an INCRBY of delta hits, or a GET when
// delta is 0.
type item struct {
	sh     *shard
	e      *entry
	window int64
	delta  int64
	incr   *redis.IntCmd
	get    *redis.StringCmd
}

// Start runs Sync every SyncInterval in the background until Stop. Calling
// it again, or after Stop, does nothing.
func (l *Limiter) Start() {
	l.lifeMu.Lock()
	defer l.lifeMu.Unlock()
	if l.started || l.stopped {
		return
	}
	l.started = true
	l.quit = make(chan struct{})
	l.done = make(chan struct{})
	go l.loop()
}

func (l *Limiter) loop() {
	defer close(l.done)
	timeout := max(2*l.interval, time.Second)
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-l.quit:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			_ = l.Sync(ctx) // failures are logged by Sync
			cancel()
		}
	}
}

// Stop ends the background loop, letting a running round finish, then sends
// the hits not synced yet in a last round. It returns ctx's error if ctx ends
// first, or the error of the last round. Allow keeps working after Stop, with
// local counts only. Stop may be called more than once.
func (l *Limiter) Stop(ctx context.Context) error {
	l.lifeMu.Lock()
	first := !l.stopped
	l.stopped = true
	started := l.started
	l.lifeMu.Unlock()
	if started {
		if first {
			close(l.quit)
		}
		select {
		case <-l.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return l.Sync(ctx)
}

// Sync runs one sync round now: it drops the state of past windows, sends
// the unsynced hits of every key to Redis and reads back the global counts,
// all in one pipelined round trip. It returns the Redis error, if any, after
// putting the unsent hits back to be sent by the next round; Allow goes on
// with local counts meanwhile. Rounds do not overlap: a call waits for the
// running one.
func (l *Limiter) Sync(ctx context.Context) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	now := l.now()
	cw := l.windowStart(now.UnixNano())
	perShard := 0
	if l.maxRefresh > 0 {
		perShard = (l.maxRefresh + len(l.shards) - 1) / len(l.shards)
	}

	batch := l.batch[:0]
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		if sh.swept < cw {
			sweep(sh, cw)
		}
		advance(sh, cw) // forget the active list of a past window
		if l.sharing {
			batch = l.collect(sh, cw, perShard, batch)
		}
		sh.mu.Unlock()
	}
	if len(batch) == 0 {
		return nil
	}
	err := l.exchange(ctx, batch)
	l.report(err, now, len(batch))
	clear(batch) // drop the pointers, keep the array
	l.batch = batch[:0]
	return err
}

// collect moves the unsynced hits of sh to inflight and adds them to batch,
// followed by up to perShard keys of window cw to re-read. sh is locked.
func (l *Limiter) collect(sh *shard, cw int64, perShard int, batch []item) []item {
	for _, e := range sh.dirty {
		e.dirty = false
		if e.local > 0 {
			d := e.local
			e.local = 0
			e.inflight += d
			batch = append(batch, item{sh: sh, e: e, window: e.window, delta: d})
		}
	}
	clear(sh.dirty)
	sh.dirty = sh.dirty[:0]

	n := len(sh.active)
	if sh.window != cw || n == 0 || perShard == 0 {
		return batch
	}
	if sh.refresh >= n {
		sh.refresh = 0
	}
	// Look at a bounded number of entries so a round stays cheap when most
	// are already exhausted.
	for scanned, picked := 0, 0; scanned < n && scanned < 4*perShard && picked < perShard; scanned++ {
		e := sh.active[sh.refresh]
		if sh.refresh++; sh.refresh == n {
			sh.refresh = 0
		}
		// An entry with inflight hits is already in this round; one known
		// to be exhausted stays so until the window ends.
		if e.dead || e.window != cw || e.inflight != 0 || e.shared+e.local >= l.limit {
			continue
		}
		batch = append(batch, item{sh: sh, e: e, window: cw})
		picked++
	}
	return batch
}

// exchange sends batch in one pipeline and applies the replies.
func (l *Limiter) exchange(ctx context.Context, batch []item) error {
	pipe := l.rdb.Pipeline()
	ttl := time.Duration(l.window) + expiryMargin
	buf := make([]byte, 0, 64)
	for i := range batch {
		it := &batch[i]
		buf = append(buf[:0], l.prefix...)
		buf = strconv.AppendInt(buf, it.window/int64(time.Millisecond), 10)
		buf = append(buf, ':')
		buf = append(buf, it.e.key...)
		k := string(buf)
		if it.delta > 0 {
			it.incr = pipe.IncrBy(ctx, k, it.delta)
			pipe.PExpire(ctx, k, ttl)
		} else {
			it.get = pipe.Get(ctx, k)
		}
	}
	cmds, execErr := pipe.Exec(ctx)

	var firstErr error
	for _, c := range cmds {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			firstErr = err
			break
		}
	}
	if firstErr == nil && execErr != nil && !errors.Is(execErr, redis.Nil) {
		firstErr = execErr
	}

	var locked *shard // batch is grouped by shard: lock each once
	for i := range batch {
		it := &batch[i]
		if it.sh != locked {
			if locked != nil {
				locked.mu.Unlock()
			}
			locked = it.sh
			locked.mu.Lock()
		}
		e := it.e
		current := e.window == it.window // else the entry rolled: the reply is stale
		if it.delta > 0 {
			v, err := it.incr.Result()
			if !current {
				continue
			}
			e.inflight -= it.delta
			if err != nil {
				// Send these hits again next round. If Redis did apply the
				// INCRBY, they are counted twice: stricter, never laxer.
				e.local += it.delta
				if !e.dirty {
					markDirty(it.sh, e)
				}
				continue
			}
			// v includes our delta. Keep at least what we knew plus the
			// delta, in case Redis lost the key (restart without
			// persistence).
			e.shared = max(v, e.shared+it.delta)
		} else {
			v, err := it.get.Int64()
			if errors.Is(err, redis.Nil) {
				v, err = 0, nil
			}
			if err != nil {
				if firstErr == nil {
					firstErr = err // e.g. a value that is not a number
				}
				continue
			}
			if current {
				e.shared = max(e.shared, v)
			}
		}
	}
	if locked != nil {
		locked.mu.Unlock()
	}
	return firstErr
}

// report logs the outcome of a round: at most one warning per warnEvery while
// Redis fails, and one info line when it works again after a warning.
func (l *Limiter) report(err error, now time.Time, keys int) {
	if err != nil {
		l.failing = true
		if l.lastWarn.IsZero() || now.Sub(l.lastWarn) >= warnEvery {
			l.lastWarn = now
			l.warned = true
			l.log.Warn("ratelimit: redis sync failed; limiting with this process's counts until it works again",
				zap.Error(err), zap.Int("keys", keys))
		}
		return
	}
	if l.failing {
		l.failing = false
		if l.warned {
			l.warned = false
			l.log.Info("ratelimit: redis sync works again; sharing counts")
		}
	}
}
