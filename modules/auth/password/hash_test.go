package password

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cheap are parameters that make a hash take microseconds, for the tests
// that are about the plumbing rather than the cost.
var cheap = Params{Memory: 8, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestDefaultParams(t *testing.T) {
	want := Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if got := DefaultParams(); got != want {
		t.Fatalf("DefaultParams() = %+v, want %+v", got, want)
	}
	if err := want.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	ctx := context.Background()
	// The default parameters once, cheap ones for the variety of inputs.
	for i, pw := range []string{"correct horse battery staple", "", "  spaces  ", "mot de passe très sûr ☃", "a\x00b", strings.Repeat("long", 1000)} {
		h := NewHasher(cheap, 0)
		if i == 0 {
			h = NewHasher(DefaultParams(), 0)
		}
		enc, err := h.Hash(ctx, pw)
		if err != nil {
			t.Fatal(err)
		}
		ok, rehash, err := h.Verify(ctx, pw, enc)
		if err != nil || !ok || rehash {
			t.Fatalf("Verify(%q) = %v, %v, %v; want true, false, nil", pw, ok, rehash, err)
		}
		ok, rehash, err = h.Verify(ctx, pw+"x", enc)
		if err != nil || ok || rehash {
			t.Fatalf("Verify(wrong password) = %v, %v, %v; want false, false, nil", ok, rehash, err)
		}
	}
	// Spaces are part of the password.
	h := NewHasher(cheap, 0)
	enc, _ := h.Hash(ctx, " secret ")
	if ok, _, _ := h.Verify(ctx, "secret", enc); ok {
		t.Fatal("a trimmed password matched the untrimmed hash")
	}
}

func TestHashFormat(t *testing.T) {
	h := NewHasher(DefaultParams(), 1)
	a, err := h.Hash(context.Background(), "hunter2hunter2")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(a) {
		t.Fatalf("hash %q is not a PHC argon2id string with the default parameters", a)
	}
	p, salt, key, err := decode(a)
	if err != nil {
		t.Fatal(err)
	}
	if p != DefaultParams() || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("decoded %+v, salt %d bytes, key %d bytes", p, len(salt), len(key))
	}
	if encode(p, salt, key) != a {
		t.Fatal("encode(decode(h)) != h")
	}
	b, _ := h.Hash(context.Background(), "hunter2hunter2")
	if a == b {
		t.Fatal("two hashes of the same password are equal: salt not random")
	}
}

// TestReferenceVectors verifies hashes made by the Argon2 reference
// implementation (phc-winner-argon2), so that hashes are interoperable.
func TestReferenceVectors(t *testing.T) {
	h := NewHasher(DefaultParams(), 1)
	for _, enc := range []string{
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
	} {
		ok, rehash, err := h.Verify(context.Background(), "password", enc)
		if err != nil || !ok || !rehash {
			t.Fatalf("Verify(%s) = %v, %v, %v; want true, true (other params), nil", enc, ok, rehash, err)
		}
		if ok, _, _ := h.Verify(context.Background(), "passwore", enc); ok {
			t.Fatal("wrong password verified against a reference vector")
		}
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, cur, old Params) {
		t.Helper()
		h, o := NewHasher(cur, 0), NewHasher(old, 0)
		enc, err := o.Hash(ctx, "an old password")
		if err != nil {
			t.Fatal(err)
		}
		ok, rehash, err := h.Verify(ctx, "an old password", enc)
		if err != nil || !ok || !rehash {
			t.Fatalf("hashed with %+v, verified with %+v: %v, %v, %v; want true, true, nil", old, cur, ok, rehash, err)
		}
		if ok, rehash, _ := h.Verify(ctx, "not it", enc); ok || rehash {
			t.Fatalf("wrong password: ok=%v needsRehash=%v; want false, false", ok, rehash)
		}
		if _, rehash, _ := o.Verify(ctx, "an old password", enc); rehash {
			t.Fatal("needsRehash with the hasher's own params")
		}
	}
	// The case that matters: an old, cheaper hash met by the default hasher.
	old := DefaultParams()
	old.Time = 1
	check(t, DefaultParams(), old)
	// Any stored parameter that differs counts, stronger ones too: the
	// configuration rules.
	for _, mod := range []func(*Params){
		func(p *Params) { p.Time = 2 },
		func(p *Params) { p.Memory = 16 },
		func(p *Params) { p.Threads = 2 },
		func(p *Params) { p.SaltLen = 8 },
		func(p *Params) { p.KeyLen = 16 },
	} {
		cur := Params{Memory: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
		p := cur
		mod(&p)
		check(t, cur, p)
	}
}

func TestMalformedHashes(t *testing.T) {
	h := NewHasher(cheap, 1)
	valid, err := h.Hash(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(valid, "$")
	salt, key := parts[4], parts[5]
	with := func(i int, v string) string {
		q := append([]string(nil), parts...)
		q[i] = v
		return strings.Join(q, "$")
	}
	cases := map[string]string{
		"empty":              "",
		"garbage":            "not a hash",
		"bcrypt":             "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ012",
		"argon2i":            with(1, "argon2i"),
		"argon2d":            with(1, "argon2d"),
		"version 16":         with(2, "v=16"),
		"no version":         strings.Replace(valid, "$v=19", "", 1),
		"missing key":        strings.Join(parts[:5], "$"),
		"extra field":        valid + "$abc",
		"no leading dollar":  strings.TrimPrefix(valid, "$"),
		"params order":       with(3, "t=1,m=8,p=1"),
		"params missing":     with(3, "m=8,t=1"),
		"params extra":       with(3, "m=8,t=1,p=1,keyid=abc"),
		"params empty value": with(3, "m=,t=1,p=1"),
		"params sign":        with(3, "m=+8,t=1,p=1"),
		"params negative":    with(3, "m=-8,t=1,p=1"),
		"params leading 0":   with(3, "m=08,t=1,p=1"),
		"params hex":         with(3, "m=0x8,t=1,p=1"),
		"params overflow":    with(3, "m=99999999999999999999,t=1,p=1"),
		"memory 0":           with(3, "m=0,t=1,p=1"),
		"memory < 8p":        with(3, "m=15,t=1,p=2"),
		"memory > 1 GiB":     with(3, "m=1048577,t=1,p=1"),
		"memory 4 GiB":       with(3, "m=4294967295,t=1,p=1"),
		"time 0":             with(3, "m=8,t=0,p=1"),
		"time 101":           with(3, "m=8,t=101,p=1"),
		"threads 0":          with(3, "m=8,t=1,p=0"),
		"threads 256":        with(3, "m=4096,t=1,p=256"),
		"salt padded":        with(4, salt+"=="),
		"salt url alphabet":  with(4, strings.Repeat("-_", 11)),
		"salt bad char":      with(4, "!"+salt[1:]),
		"salt trailing bits": with(4, "AAAAAAAAAAB"), // 11 chars = 8 bytes, last char has non-zero spare bits
		"salt too short":     with(4, "c29tZXNhbA"),  // 7 bytes
		"salt too long":      with(4, strings.Repeat("A", 88)),
		"salt empty":         with(4, ""),
		"salt newline":       with(4, salt[:10]+"\n"+salt[10:]),
		"key carriage ret":   with(5, key[:10]+"\r"+key[10:]),
		"key too short":      with(5, key[:20]),
		"key empty":          with(5, ""),
		"too long":           with(5, strings.Repeat("A", 600)),
	}
	for name, enc := range cases {
		t.Run(name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), "x", enc)
			if !errors.Is(err, ErrMalformedHash) || ok || rehash {
				t.Fatalf("Verify(%q) = %v, %v, %v; want ErrMalformedHash", enc, ok, rehash, err)
			}
		})
	}
	// The boundaries themselves are accepted.
	for _, enc := range []string{with(3, "m=16,t=1,p=2"), with(3, "m=8,t=100,p=1")} {
		if _, _, _, err := decode(enc); err != nil {
			t.Fatalf("decode(%q): %v", enc, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	h := NewHasher(cheap, 0)
	valid, err := h.Hash(context.Background(), "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		valid,
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$",
		"$argon2id$v=19$m=8,t=1,p=1$$",
		"$argon2id$v=19$m=,t=,p=$$",
		"$argon2id$v=19$m=99999999999,t=1,p=1$c29tZXNhbHQ$c29tZXNhbHRzb21lc2FsdA",
		"$argon2i$v=19$m=8,t=1,p=1$c29tZXNhbHQ$c29tZXNhbHRzb21lc2FsdA",
		"$$$$$",
		"$",
		"",
		"\x00$argon2id",
	} {
		f.Add("fuzz", s)
	}
	f.Fuzz(func(t *testing.T, password, enc string) {
		p, salt, key, err := decode(enc)
		if err == nil {
			// Accepted strings are canonical.
			if got := encode(p, salt, key); got != enc {
				t.Fatalf("decode accepted %q, which re-encodes as %q", enc, got)
			}
			// Keep each run fast: the bounds allow hashes of up to 1 GiB.
			if p.Memory > 4096 || p.Time > 4 {
				t.Skip("valid but expensive parameters")
			}
		} else if !errors.Is(err, ErrMalformedHash) {
			t.Fatalf("decode error %v is not ErrMalformedHash", err)
		}
		ok, rehash, verr := h.Verify(context.Background(), password, enc)
		if (verr != nil) != (err != nil) {
			t.Fatalf("Verify error %v, decode error %v", verr, err)
		}
		if verr != nil && (ok || rehash) {
			t.Fatalf("Verify = %v, %v with error %v", ok, rehash, verr)
		}
		if rehash && !ok {
			t.Fatal("needsRehash without ok")
		}
	})
}

func TestNewHasher(t *testing.T) {
	if got := cap(NewHasher(cheap, 0).sem); got != runtime.NumCPU() {
		t.Fatalf("maxConcurrent 0: %d slots, want NumCPU %d", got, runtime.NumCPU())
	}
	if got := cap(NewHasher(cheap, -3).sem); got != runtime.NumCPU() {
		t.Fatalf("maxConcurrent -3: %d slots, want NumCPU %d", got, runtime.NumCPU())
	}
	h := NewHasher(cheap, 3)
	if cap(h.sem) != 3 || h.maxQueue.Load() != 3*DefaultQueuePerSlot {
		t.Fatalf("slots %d, queue %d; want 3, %d", cap(h.sem), h.maxQueue.Load(), 3*DefaultQueuePerSlot)
	}
	if h.Params() != cheap {
		t.Fatal("Params() differs from the parameters given")
	}
	for _, p := range []Params{
		{},
		{Memory: 8, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 8, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 8, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		{Memory: 1<<20 + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 8, Time: 101, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 8, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 8, Time: 1, Threads: 1, SaltLen: 65, KeyLen: 32},
		{Memory: 8, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
		{Memory: 8, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 65},
	} {
		if p.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want an error", p)
			continue
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewHasher(%+v) did not panic", p)
				}
			}()
			NewHasher(p, 1)
		}()
	}
}

// gate is a test hook that holds every hash until released and records how
// many run at once.
type gate struct {
	entered chan Params
	release chan struct{}
	active  atomic.Int32
	maxSeen atomic.Int32
	total   atomic.Int32
}

func newGate() *gate {
	return &gate{entered: make(chan Params, 100), release: make(chan struct{})}
}

func (g *gate) hook(p Params) {
	n := g.active.Add(1)
	for {
		m := g.maxSeen.Load()
		if n <= m || g.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	g.total.Add(1)
	g.entered <- p
	<-g.release
	g.active.Add(-1)
}

// waitFor polls cond until it holds; the test's own deadline bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if t.Context().Err() != nil {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	h := NewHasher(cheap, 2)
	g := newGate()
	h.hook = g.hook
	const callers = 6
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			_, err := h.Hash(context.Background(), "pw")
			errs <- err
		})
	}
	// Two hashes run; the other four wait for a slot.
	<-g.entered
	<-g.entered
	waitFor(t, "4 waiters", func() bool { return h.waiting.Load() == callers-2 })
	if got := g.active.Load(); got != 2 {
		t.Fatalf("%d hashes running, want 2", got)
	}
	close(g.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if g.maxSeen.Load() != 2 || g.total.Load() != callers {
		t.Fatalf("max simultaneous %d (want 2), total %d (want %d)", g.maxSeen.Load(), g.total.Load(), callers)
	}
}

func TestConcurrentUse(t *testing.T) {
	h := NewHasher(cheap, 3)
	h.SetMaxQueue(-1)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			pw := strings.Repeat("p", i)
			enc, err := h.Hash(context.Background(), pw)
			if err != nil {
				t.Error(err)
				return
			}
			if ok, _, err := h.Verify(context.Background(), pw, enc); !ok || err != nil {
				t.Errorf("Verify = %v, %v", ok, err)
			}
		})
	}
	wg.Wait()
}

func TestContextCanceledWhileWaiting(t *testing.T) {
	h := NewHasher(cheap, 1)
	g := newGate()
	h.hook = g.hook
	defer close(g.release)
	go func() { _, _ = h.Hash(context.Background(), "holder") }()
	<-g.entered

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := h.Verify(ctx, "pw", h.dummy)
		done <- err
	}()
	waitFor(t, "the waiter", func() bool { return h.waiting.Load() == 1 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-t.Context().Done():
		t.Fatal("Verify did not return after its context was canceled")
	}
	if h.waiting.Load() != 0 {
		t.Fatalf("waiting = %d after cancel, want 0", h.waiting.Load())
	}

	// A deadline works the same way.
	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer dcancel()
	if _, err := h.Hash(dctx, "pw"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestContextAlreadyDone(t *testing.T) {
	h := NewHasher(cheap, 1)
	var calls atomic.Int32
	h.hook = func(Params) { calls.Add(1) }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "pw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash: err = %v, want context.Canceled", err)
	}
	if ok, _, err := h.Verify(ctx, "pw", h.dummy); ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify: %v, %v; want false, context.Canceled", ok, err)
	}
	if calls.Load() != 0 {
		t.Fatal("a hash ran although the context was done")
	}
}

func TestErrBusy(t *testing.T) {
	h := NewHasher(cheap, 1)
	h.SetMaxQueue(2)
	g := newGate()
	h.hook = g.hook

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	wg.Go(func() { _, err := h.Hash(context.Background(), "pw"); errs <- err })
	<-g.entered
	for range 2 {
		wg.Go(func() { _, err := h.Hash(context.Background(), "pw"); errs <- err })
	}
	waitFor(t, "2 waiters", func() bool { return h.waiting.Load() == 2 })

	// Queue full: refused at once, without touching the queue.
	if _, err := h.Hash(context.Background(), "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with a full queue: %v, want ErrBusy", err)
	}
	if ok, _, err := h.Verify(context.Background(), "pw", h.dummy); ok || !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify with a full queue: %v, %v; want false, ErrBusy", ok, err)
	}
	if h.waiting.Load() != 2 {
		t.Fatalf("waiting = %d, want 2", h.waiting.Load())
	}

	close(g.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a queued caller failed: %v", err)
		}
	}
	if g.total.Load() != 3 {
		t.Fatalf("%d hashes ran, want 3", g.total.Load())
	}
}

func TestMaxQueueZeroAndUnbounded(t *testing.T) {
	h := NewHasher(cheap, 1)
	g := newGate()
	h.hook = g.hook
	defer close(g.release)
	go func() { _, _ = h.Hash(context.Background(), "holder") }()
	<-g.entered

	h.SetMaxQueue(0)
	if _, err := h.Hash(context.Background(), "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("max queue 0, all slots busy: %v, want ErrBusy", err)
	}

	h.SetMaxQueue(-1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 200 {
		go func() { _, _ = h.Hash(ctx, "pw") }()
	}
	waitFor(t, "200 waiters", func() bool { return h.waiting.Load() == 200 })
	cancel()
	waitFor(t, "the waiters to leave", func() bool { return h.waiting.Load() == 0 })
}

// TestVerifyDummySamePath checks that VerifyDummy does what a Verify of a
// real user's hash does: one key derivation with the hasher's parameters,
// through the same slot, rather than comparing timings.
func TestVerifyDummySamePath(t *testing.T) {
	ctx := context.Background()
	for _, p := range []Params{DefaultParams(), {Memory: 64, Time: 3, Threads: 2, SaltLen: 24, KeyLen: 48}} {
		h := NewHasher(p, 1)
		var mu sync.Mutex
		var seen []Params
		h.hook = func(p Params) { mu.Lock(); seen = append(seen, p); mu.Unlock() }

		enc, err := h.Hash(ctx, "the real one")
		if err != nil {
			t.Fatal(err)
		}
		seen = nil
		if ok, _, _ := h.Verify(ctx, "a wrong guess", enc); ok {
			t.Fatal("wrong password verified")
		}
		h.VerifyDummy(ctx, "a wrong guess")
		if len(seen) != 2 || seen[0] != p || seen[1] != p {
			t.Fatalf("derivations %+v, want two with %+v (Verify then VerifyDummy)", seen, p)
		}
		// The dummy hash is a well-formed hash with h's parameters.
		dp, _, _, err := decode(h.dummy)
		if err != nil || dp != p {
			t.Fatalf("dummy hash %q decodes as %+v, %v", h.dummy, dp, err)
		}
	}
}

func TestVerifyDummyRespectsLimits(t *testing.T) {
	h := NewHasher(cheap, 1)
	h.SetMaxQueue(0)
	g := newGate()
	h.hook = g.hook
	defer close(g.release)
	go func() { _, _ = h.Hash(context.Background(), "holder") }()
	<-g.entered
	h.VerifyDummy(context.Background(), "pw") // returns at once: queue full, as Verify would
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	h.VerifyDummy(ctx, "pw")
	if g.total.Load() != 1 {
		t.Fatalf("%d hashes ran, want 1", g.total.Load())
	}
}

func BenchmarkHash(b *testing.B) {
	h := NewHasher(DefaultParams(), 0)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	h := NewHasher(DefaultParams(), 0)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, "correct horse battery staple", enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkVerifyDummy(b *testing.B) {
	h := NewHasher(DefaultParams(), 0)
	ctx := context.Background()
	for b.Loop() {
		h.VerifyDummy(ctx, "correct horse battery staple")
	}
}

// BenchmarkHashParallel shows the throughput with one slot per CPU.
func BenchmarkHashParallel(b *testing.B) {
	h := NewHasher(DefaultParams(), 0)
	h.SetMaxQueue(-1)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
