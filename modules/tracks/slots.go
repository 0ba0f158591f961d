package tracks

import (
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/platform/httpx"
)

// uploadRetry is the Retry-After of a refused upload: long enough for a
// small upload in progress to end.
const uploadRetry = 5 * time.Second

// uploadSlots bounds the uploads in progress in this process: all of them
// (max_concurrent_uploads), so that uploads cannot take every connection and
// disk, and each user's (max_concurrent_uploads_per_user), so that one
// account cannot take all the slots by trickling its bodies. Both are per
// process, like the uploads they protect.
type uploadSlots struct {
	all     chan struct{}
	perUser int

	mu    sync.Mutex
	users map[uuid.UUID]int
}

func newUploadSlots(all, perUser int) *uploadSlots {
	return &uploadSlots{all: make(chan struct{}, all), perUser: perUser, users: map[uuid.UUID]int{}}
}

// take reserves a slot for user, or answers 429 (the user's own uploads) or
// 503 (everyone's), both with Retry-After. release gives it back.
func (u *uploadSlots) take(user uuid.UUID) (release func(), err error) {
	if !u.takeUser(user) {
		return nil, httpx.TooManyRequests("too_many_uploads",
			"you have too many uploads in progress; wait for one to finish", uploadRetry)
	}
	select {
	case u.all <- struct{}{}:
	default:
		u.releaseUser(user)
		e := httpx.Unavailable("too_many_uploads", "too many uploads in progress; try again shortly", nil)
		e.RetryAfter = uploadRetry
		return nil, e
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-u.all
			u.releaseUser(user)
		})
	}, nil
}

func (u *uploadSlots) takeUser(user uuid.UUID) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.users[user] >= u.perUser {
		return false
	}
	u.users[user]++
	return true
}

func (u *uploadSlots) releaseUser(user uuid.UUID) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.users[user]--; u.users[user] <= 0 {
		delete(u.users, user) // the map holds only users with uploads in progress
	}
}
