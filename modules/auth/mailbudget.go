package auth

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// mailBudget caps the mails of one kind that one address receives in a
// sliding window, across every worker process through Redis (per process
// when Redis does not answer).
//
// It is asked by the mail job, once the job knows the address has an
// account, and not by the request: requests for addresses without an
// account spend nothing, so nobody can spend the verification budget of an
// address before its owner registers, and the request does the same work
// whatever the address (see Service.requestMail). It counts tasks, not
// attempts: a task retried after a temporary failure keeps the place it
// took, so a greylisting relay does not eat the budget.
type mailBudget struct {
	rdb    redis.UniversalClient
	limit  int
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	local map[string][]budgetEntry
}

type budgetEntry struct {
	task string
	at   time.Time
}

func newMailBudget(rdb redis.UniversalClient, s *Settings) *mailBudget {
	return &mailBudget{rdb: rdb, limit: s.MailBudget, window: s.MailBudgetWindow, now: time.Now,
		local: map[string][]budgetEntry{}}
}

// takeScript admits task into the sorted set KEYS[1] (task -> time in ms)
// unless the set already holds ARGV[3] tasks of the last ARGV[2] ms; a task
// already admitted stays admitted. Only admitted tasks are stored, so the
// set never grows past the budget.
var takeScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then return 1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)

// take reports whether task may mail kind to email.
func (b *mailBudget) take(ctx context.Context, kind, email, task string) bool {
	key := "veza:auth:mail:" + kind + ":" + addressKey(email)
	now := b.now()
	ok, err := takeScript.Run(ctx, b.rdb, []string{key}, now.UnixMilli(), b.window.Milliseconds(), b.limit, task).Int()
	if err == nil {
		return ok == 1
	}
	return b.takeLocal(key, task, now)
}

func (b *mailBudget) takeLocal(key, task string, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	var live []budgetEntry
	for _, e := range b.local[key] {
		if now.Sub(e.at) < b.window {
			live = append(live, e)
		}
	}
	defer func() { b.local[key] = live }()
	for _, e := range live {
		if e.task == task {
			return true
		}
	}
	if len(live) >= b.limit {
		return false
	}
	live = append(live, budgetEntry{task: task, at: now})
	if len(b.local) > maxLocalCounts {
		b.local = map[string][]budgetEntry{}
	}
	return true
}
