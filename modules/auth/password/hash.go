// Package password hashes and verifies account passwords with argon2id and
// decides which new passwords are acceptable.
//
// Hashes are stored in the PHC string format
// ($argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>), so the cost parameters
// travel with each hash: they can be raised later, and Verify reports when a
// stored hash was made with other parameters so that the caller re-hashes the
// password while it has it in clear (at the next successful login).
//
// Hashing is deliberately expensive (19 MiB and tens of milliseconds per
// call with the default parameters), so a Hasher admits only a bounded number
// of hashes at a time and a bounded number of waiters: a burst of logins then
// queues, or is refused with ErrBusy, instead of exhausting memory or CPU.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Bounds on the parameters a Hasher accepts and a stored hash may carry.
// They are far above what any deployment uses and far below what would let
// a corrupted or forged row make one verification allocate unbounded memory
// or spin for minutes.
const (
	maxMemoryKiB  = 1 << 20 // 1 GiB
	maxTime       = 100
	minSaltLen    = 8 // the minimum of the Argon2 specification (RFC 9106)
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 64
	maxEncodedLen = 512 // well above the longest valid encoding (~230 bytes)
)

// argon2Version is the only Argon2 version golang.org/x/crypto implements
// (0x13, "v=19").
const argon2Version = argon2.Version

// ErrMalformedHash is returned by Verify when the stored string is not an
// argon2id PHC string this package can verify (other algorithm or version,
// parameters out of bounds, bad base64). It signals corrupt or foreign data
// in the store, not a wrong password, so callers should log it and fail the
// login rather than report "wrong password".
var ErrMalformedHash = errors.New("password: malformed argon2id hash")

// ErrBusy is returned by Hash and Verify, without waiting, when the Hasher's
// waiting queue is full (see SetMaxQueue). Under such load, answering quickly
// with 503 and a Retry-After header is better than letting requests pile up
// until they time out; the handler is expected to do exactly that.
var ErrBusy = errors.New("password: too many password hashes in progress, retry later")

// Params are the argon2id cost parameters. They are stored with each hash,
// so changing them affects only new hashes; Verify flags the old ones.
type Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism (lanes).
	Threads uint8
	// SaltLen is the length in bytes of the random salt.
	SaltLen uint32
	// KeyLen is the length in bytes of the derived key.
	KeyLen uint32
}

// DefaultParams returns the OWASP Password Storage Cheat Sheet's argon2id
// configuration (m=19 MiB, t=2, p=1) with a 16-byte salt and a 32-byte key:
// a cost a login endpoint can afford while keeping offline guessing slow.
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Validate reports whether p is within the bounds this package accepts
// (memory between 8×Threads KiB and 1 GiB, time 1..100, at least one thread,
// salt 8..64 bytes, key 16..64 bytes). Settings that carry Params should call
// it at start-up, because NewHasher panics on invalid parameters.
func (p Params) Validate() error {
	switch {
	case p.Threads < 1:
		return errors.New("password: argon2 threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemoryKiB:
		return fmt.Errorf("password: argon2 memory must be between %d and %d KiB", 8*uint32(p.Threads), maxMemoryKiB)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("password: argon2 time must be between 1 and %d", maxTime)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("password: salt length must be between %d and %d bytes", minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("password: key length must be between %d and %d bytes", minKeyLen, maxKeyLen)
	}
	return nil
}

// Hasher hashes and verifies passwords with fixed parameters while limiting
// how many hashes run at once. It is safe for concurrent use; create one per
// process (NewHasher) and share it, since the limit only works if every
// caller goes through the same Hasher.
type Hasher struct {
	params Params
	sem    chan struct{} // one token per running hash
	// maxQueue is the number of callers allowed to wait for a slot; < 0
	// means unbounded.
	maxQueue atomic.Int64
	waiting  atomic.Int64
	// dummy is a well-formed hash with h's parameters that no password
	// matches in practice, verified by VerifyDummy.
	dummy string
	// hook, when set (tests only), is called inside the concurrency slot
	// just before each key derivation, with the parameters used.
	hook func(Params)
}

// DefaultQueuePerSlot is the default number of waiting callers per
// concurrent hash: NewHasher allows 64 × maxConcurrent callers to wait.
// At ~50 ms per hash, the last of them waits about 3 s, which is still a
// usable login; beyond that, failing fast with ErrBusy is kinder.
const DefaultQueuePerSlot = 64

// NewHasher returns a Hasher that hashes with p and runs at most
// maxConcurrent hashes at a time (runtime.NumCPU() if maxConcurrent <= 0),
// since each hash holds p.Memory KiB and a CPU for its whole duration.
// Up to DefaultQueuePerSlot × maxConcurrent further callers may wait for a
// slot; change that with SetMaxQueue.
//
// NewHasher panics if p.Validate fails: parameters are deployment
// configuration, to be validated when the settings are loaded.
func NewHasher(p Params, maxConcurrent int) *Hasher {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.NumCPU()
	}
	h := &Hasher{
		params: p,
		sem:    make(chan struct{}, maxConcurrent),
	}
	h.maxQueue.Store(int64(DefaultQueuePerSlot) * int64(maxConcurrent))
	// A fixed, recognisable salt and an all-zero key: verifying against it
	// costs exactly what a real verification with p costs.
	salt := []byte(strings.Repeat("veza-dummy-salt!", 4))[:p.SaltLen]
	h.dummy = encode(p, salt, make([]byte, p.KeyLen))
	return h
}

// SetMaxQueue sets how many callers may wait for a hashing slot before Hash
// and Verify answer ErrBusy immediately: n > 0 allows n waiters, n == 0
// allows none (fail as soon as all slots are busy), n < 0 removes the bound
// (callers wait until their context ends). It bounds the latency and the
// number of goroutines parked on logins during a burst or an attack. It may
// be called at any time; callers already waiting are not affected.
func (h *Hasher) SetMaxQueue(n int) {
	h.maxQueue.Store(int64(n))
}

// Params returns the parameters h hashes with.
func (h *Hasher) Params() Params { return h.params }

// Hash derives a key from password with a fresh random salt and returns the
// PHC string to store. The password is hashed as given (not trimmed or
// normalised). It waits for a slot (see NewHasher) and fails with an error
// wrapping ctx.Err() if ctx ends first, or with ErrBusy if too many callers
// are already waiting. A hash that has started is not interrupted.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading random salt: %w", err)
	}
	key, err := h.derive(ctx, password, salt, h.params)
	if err != nil {
		return "", err
	}
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, a string made by Hash
// (possibly with other parameters). The keys are compared in constant time.
// needsRehash is true when the password matched but encoded was made with
// parameters other than h's: the caller should then store a new Hash of the
// password, which upgrades (or corrects) the cost as it is changed.
//
// err is ErrMalformedHash (wrapped) for an encoded string that cannot be
// verified, and otherwise the errors of Hash (ctx ended, ErrBusy); ok is
// false whenever err is not nil.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok bool, needsRehash bool, err error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	got, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return false, false, err
	}
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	return true, p != h.params, nil
}

// VerifyDummy does the work of a Verify with h's parameters against a fixed
// hash, and discards the result. Call it when the login names an unknown
// user, so that such a login takes as long as one with a wrong password and
// response times do not reveal which accounts exist. It waits for a slot like
// Verify and gives up silently when ctx ends or the queue is full, as Verify
// would.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) {
	_, _, _ = h.Verify(ctx, password, h.dummy)
}

// derive runs argon2id inside a concurrency slot.
func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p Params) ([]byte, error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-h.sem }()
	if h.hook != nil {
		h.hook(p)
	}
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// acquire takes a slot, waiting in the bounded queue if none is free.
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("password: waiting for a hashing slot: %w", err)
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	default:
	}
	n := h.waiting.Add(1)
	defer h.waiting.Add(-1)
	if limit := h.maxQueue.Load(); limit >= 0 && n > limit {
		return ErrBusy
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("password: waiting for a hashing slot: %w", ctx.Err())
	}
}

// b64 is the PHC string format's base64: standard alphabet, no padding.
// Strict decoding rejects non-zero trailing bits, so every accepted string
// has a single encoding.
var b64 = base64.RawStdEncoding.Strict()

// encode formats a hash as a PHC string.
func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// decode parses a PHC string made by encode. It accepts only the canonical
// form (argon2id, v=19, parameters m,t,p in that order without leading
// zeros, unpadded strict base64) and parameters within Validate's bounds.
func decode(s string) (p Params, salt, key []byte, err error) {
	malformed := func(why string) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, why)
	}
	if len(s) > maxEncodedLen {
		return malformed("too long")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return malformed("not a PHC string")
	}
	if parts[1] != "argon2id" {
		return malformed("algorithm is not argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2Version) {
		return malformed("unsupported version")
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return malformed("parameters are not m,t,p")
	}
	var vals [3]uint64
	for i, name := range [3]string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(fields[i], name)
		if !ok {
			return malformed("parameters are not m,t,p")
		}
		n, ok := parseDecimal(v)
		if !ok {
			return malformed("bad parameter value")
		}
		vals[i] = n
	}
	if vals[0] > maxMemoryKiB || vals[1] > maxTime || vals[2] > 255 {
		return malformed("parameters out of bounds")
	}
	// The decoder skips '\r' and '\n'; the format has no room for them.
	if !isB64(parts[4]) || !isB64(parts[5]) {
		return malformed("bad base64")
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return malformed("bad salt encoding")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil {
		return malformed("bad key encoding")
	}
	p = Params{
		Memory:  uint32(vals[0]),
		Time:    uint32(vals[1]),
		Threads: uint8(vals[2]),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if p.Validate() != nil {
		return malformed("parameters out of bounds")
	}
	return p, salt, key, nil
}

// isB64 reports whether s uses only the characters of the standard base64
// alphabet.
func isB64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

// parseDecimal parses a canonical decimal number (digits only, no sign, no
// leading zero) of at most 10 digits.
func parseDecimal(s string) (uint64, bool) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}
