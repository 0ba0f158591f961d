package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
)

// invalidationChannel carries "u:<user id>" (token version changed, ban) and
// "s:<user id>:<session id>" (session ended) between processes.
const invalidationChannel = "veza:auth:invalidate"

// Authenticator verifies access tokens for every module's routes. After the
// signature and claims, it checks the user's current token version, ban
// state and session against a per-process cache, so an ordinary request
// costs no database query. Changes are pushed to every process through Redis
// pub/sub; TokenCacheTTL bounds staleness when a message is missed.
type Authenticator struct {
	tokens *tokenIssuer
	store  *store
	rdb    redis.UniversalClient
	log    *zap.Logger
	ttl    time.Duration
	now    func() time.Time

	verified [verifiedShards]verifiedShard

	mu    sync.RWMutex
	users map[uuid.UUID]*cachedUser
	// gen counts invalidations so that a load racing one is not cached.
	gen uint64
}

type cachedUser struct {
	version  int
	banned   bool
	fetched  time.Time
	sessions map[uuid.UUID]bool
}

func newAuthenticator(tokens *tokenIssuer, st *store, rdb redis.UniversalClient, s *Settings, log *zap.Logger) *Authenticator {
	a := &Authenticator{tokens: tokens, store: st, rdb: rdb, log: log, ttl: s.TokenCacheTTL, now: time.Now,
		users: map[uuid.UUID]*cachedUser{}}
	for i := range a.verified {
		a.verified[i].m = map[string]*verifiedToken{}
	}
	return a
}

// Authenticate implements authn.Authenticator.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*authn.Principal, error) {
	vt, err := a.verify(token)
	if err != nil {
		return nil, err
	}
	version, banned, live, err := a.state(ctx, vt.uid, vt.sid)
	if errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("%w: no such user", authn.ErrInvalidToken)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case banned:
		return nil, httpx.Forbidden("account_banned", "this account is banned")
	case version != vt.version:
		return nil, fmt.Errorf("%w: token version %d is revoked", authn.ErrInvalidToken, vt.version)
	case !live:
		return nil, fmt.Errorf("%w: the session has ended", authn.ErrInvalidToken)
	}
	return &authn.Principal{UserID: vt.uid, Role: vt.role, TokenID: vt.jti, SessionID: vt.sid}, nil
}

// verifiedToken is what a checked signature and claims yield.
type verifiedToken struct {
	uid, sid uuid.UUID
	role     string
	jti      string
	version  int
	expires  time.Time
}

// verify checks a token's signature and claims. A client sends the same
// token on every request for its lifetime, so the result is remembered:
// the same bytes always verify the same way, and only the expiry needs
// checking again. That keeps the HMAC and the JSON decoding off all but the
// first request of each token.
func (a *Authenticator) verify(token string) (*verifiedToken, error) {
	now := a.now()
	sh := &a.verified[shardOf(token)]
	sh.mu.RLock()
	vt, ok := sh.m[token]
	sh.mu.RUnlock()
	if ok && now.Before(vt.expires) {
		return vt, nil
	}
	claims, err := a.tokens.parse(token)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", authn.ErrInvalidToken, err)
	}
	uid, err1 := uuid.Parse(claims.Subject)
	sid, err2 := uuid.Parse(claims.SessionID)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("%w: malformed sub or sid", authn.ErrInvalidToken)
	}
	vt = &verifiedToken{uid: uid, sid: sid, role: claims.Role, jti: claims.ID, version: claims.TokenVersion,
		expires: claims.ExpiresAt.Time}
	sh.mu.Lock()
	if len(sh.m) >= verifiedPerShard {
		for k := range sh.m { // evict an arbitrary entry: map order is random
			delete(sh.m, k)
			break
		}
	}
	sh.m[strings.Clone(token)] = vt // the caller's string may live in a reused buffer
	sh.mu.Unlock()
	return vt, nil
}

const (
	verifiedShards   = 16
	verifiedPerShard = 8192
)

type verifiedShard struct {
	mu sync.RWMutex
	m  map[string]*verifiedToken
}

func shardOf(token string) int {
	// FNV-1a over the signature's end, which is what differs between tokens.
	h := uint32(2166136261)
	for i := max(0, len(token)-16); i < len(token); i++ {
		h ^= uint32(token[i])
		h *= 16777619
	}
	return int(h % verifiedShards)
}

func (a *Authenticator) state(ctx context.Context, uid, sid uuid.UUID) (version int, banned, live bool, err error) {
	now := a.now()
	a.mu.RLock()
	cu, ok := a.users[uid]
	if ok && now.Sub(cu.fetched) < a.ttl {
		if l, known := cu.sessions[sid]; known {
			a.mu.RUnlock()
			return cu.version, cu.banned, l, nil
		}
	}
	gen := a.gen
	a.mu.RUnlock()

	st, err := a.store.tokenState(ctx, uid, sid)
	if err != nil {
		return 0, false, false, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gen == gen && a.ttl > 0 {
		cu, ok := a.users[uid]
		if !ok || now.Sub(cu.fetched) >= a.ttl || cu.version != st.Version || cu.banned != st.Banned {
			cu = &cachedUser{version: st.Version, banned: st.Banned, fetched: now, sessions: map[uuid.UUID]bool{}}
			a.users[uid] = cu
		}
		if len(cu.sessions) < 64 {
			cu.sessions[sid] = st.SessionLive
		}
	}
	return st.Version, st.Banned, st.SessionLive, nil
}

// forgetUser drops what this process knows of a user and tells the others.
func (a *Authenticator) forgetUser(ctx context.Context, uid uuid.UUID) {
	a.dropUser(uid)
	a.publish(ctx, "u:"+uid.String())
}

// forgetSession drops one session and tells the others.
func (a *Authenticator) forgetSession(ctx context.Context, uid, sid uuid.UUID) {
	a.dropSession(uid, sid)
	a.publish(ctx, "s:"+uid.String()+":"+sid.String())
}

func (a *Authenticator) dropUser(uid uuid.UUID) {
	a.mu.Lock()
	delete(a.users, uid)
	a.gen++
	a.mu.Unlock()
}

func (a *Authenticator) dropSession(uid, sid uuid.UUID) {
	a.mu.Lock()
	if cu, ok := a.users[uid]; ok {
		delete(cu.sessions, sid)
	}
	a.gen++
	a.mu.Unlock()
}

func (a *Authenticator) dropAll() {
	a.mu.Lock()
	a.users = map[uuid.UUID]*cachedUser{}
	a.gen++
	a.mu.Unlock()
}

func (a *Authenticator) publish(ctx context.Context, msg string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := a.rdb.Publish(ctx, invalidationChannel, msg).Err(); err != nil {
		a.log.Warn("token invalidation not broadcast; other processes catch up within token_cache_ttl", zap.Error(err))
	}
}

// listen applies the invalidations other processes publish until ctx ends.
// A lost subscription is returned as an error: the platform restarts the
// loop with backoff and /readyz shows it down meanwhile. The cache is
// dropped whenever the subscription starts or ends, since anything may have
// changed while nobody listened.
func (a *Authenticator) listen(ctx context.Context) error {
	defer a.dropAll()
	sub := a.rdb.Subscribe(ctx, invalidationChannel)
	// go-redis does not interrupt a blocked receive when ctx ends; closing
	// the subscription does.
	stop := context.AfterFunc(ctx, func() { sub.Close() })
	defer func() { stop(); sub.Close() }()
	if _, err := sub.Receive(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("subscribe to %s: %w", invalidationChannel, err)
	}
	a.dropAll()
	for {
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("receive token invalidations: %w", err)
		}
		a.apply(msg.Payload)
	}
}

func (a *Authenticator) apply(payload string) {
	parts := strings.Split(payload, ":")
	switch {
	case len(parts) == 2 && parts[0] == "u":
		if uid, err := uuid.Parse(parts[1]); err == nil {
			a.dropUser(uid)
		}
	case len(parts) == 3 && parts[0] == "s":
		uid, err1 := uuid.Parse(parts[1])
		sid, err2 := uuid.Parse(parts[2])
		if err1 == nil && err2 == nil {
			a.dropSession(uid, sid)
		}
	}
}
