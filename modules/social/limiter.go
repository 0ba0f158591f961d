package social

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/veza/veza/platform/httpx"
)

// commentLimiter caps the comments one user posts in a sliding window
// (comments_per_window per comment_window), across every API process
// through Redis: a sorted set per user of the comments admitted, by time.
// When Redis does not answer, each process counts on its own, so the
// limit weakens to per process but never disappears. A sliding window,
// unlike the platform's fixed ones, never lets twice the limit through
// around a window's edge.
type commentLimiter struct {
	rdb    redis.UniversalClient
	limit  int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	local map[uuid.UUID][]time.Time
}

// maxLocalUsers bounds the fallback's memory.
const maxLocalUsers = 100000

func newLimiter(rdb redis.UniversalClient, s *Settings) *commentLimiter {
	return &commentLimiter{rdb: rdb, limit: s.CommentsPerWindow, window: s.CommentWindow, now: time.Now,
		local: map[uuid.UUID][]time.Time{}}
}

// admitScript admits ARGV[4] into the sorted set KEYS[1] (member -> time
// in ms) unless it holds ARGV[3] members of the last ARGV[2] ms. It
// returns {1, count} when admitted, {0, oldest admitted time} otherwise.
var admitScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local n = redis.call('ZCARD', KEYS[1])
if n >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2])}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, n + 1}`)

// take admits the comment id of user, or answers 429 with Retry-After: the
// time until the oldest comment of the window leaves it.
func (l *commentLimiter) take(ctx context.Context, user, id uuid.UUID) error {
	now := l.now()
	ok, oldest := l.admit(ctx, user, id, now)
	if ok {
		return nil
	}
	wait := oldest.Add(l.window).Sub(now)
	return httpx.TooManyRequests("too_many_comments",
		fmt.Sprintf("at most %d comments per %s; retry after the time in Retry-After", l.limit, l.window), max(wait, time.Second))
}

func (l *commentLimiter) admit(ctx context.Context, user, id uuid.UUID, now time.Time) (bool, time.Time) {
	key := "veza:social:comments:" + user.String()
	res, err := admitScript.Run(ctx, l.rdb, []string{key}, now.UnixMilli(), l.window.Milliseconds(), l.limit, id.String()).Int64Slice()
	if err == nil && len(res) == 2 {
		return res[0] == 1, time.UnixMilli(res[1])
	}
	return l.admitLocal(user, now)
}

func (l *commentLimiter) admitLocal(user uuid.UUID, now time.Time) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var live []time.Time
	for _, at := range l.local[user] {
		if now.Sub(at) < l.window {
			live = append(live, at)
		}
	}
	if len(live) >= l.limit {
		l.local[user] = live
		return false, live[0]
	}
	if len(l.local) > maxLocalUsers {
		l.local = map[uuid.UUID][]time.Time{}
	}
	l.local[user] = append(live, now)
	return true, time.Time{}
}
