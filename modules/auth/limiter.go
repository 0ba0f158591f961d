package auth

import (
	"context"
	"time"
)

// loginGuard throttles password guessing without handing attackers a way
// to lock people out of their accounts (OWASP's credential stuffing and
// authentication cheat sheets).
//
// A refusal (429) only ever falls on the address that failed, never on the
// account: a count per client address (IPv4 address or IPv6 /64) against
// all accounts, past max_failed_logins_per_ip, refuses that address
// everything; a count per (account, address) pair, past
// max_failed_logins_per_account, refuses that address that account. A
// count lives failed_login_window from its first failure (so the refusal
// lasts until then, which Retry-After says), not until a clock boundary
// that would hand every attacker fresh attempts at once. So ten wrong
// passwords for carol from one address block that address, and carol, or
// an admin whose email someone hammers, still signs in from anywhere else.
//
// What one address cannot do, many can: against a guess spread over a
// botnet the account's own count (failures from all addresses) does not
// refuse, it slows. Past login_delay_after failures, every attempt on that
// account from an address that has not signed in to it before waits
// login_delay_base, doubling with each further failure up to
// login_delay_max, before its password is even checked. The wait comes
// first and is the same whatever the password: a delay added only to wrong
// answers would tell a client that gives up early that its guess was wrong.
// An address that signed in to the account within known_address_ttl
// (typically the owner's home or office) is not slowed, and a correct
// password from any address that is not refused gets in, only later.
//
// A successful login clears its pair's failures and marks the address as
// known for the account; it does not clear the account's count, which
// would let an attacker reset the slowing by waiting for the owner.
type loginGuard struct {
	counts   *counters
	settings *Settings
}

func newLoginGuard(c *counters, s *Settings) *loginGuard {
	return &loginGuard{counts: c, settings: s}
}

// loginVerdict is what the guard says of an attempt before the password is
// checked.
type loginVerdict struct {
	// refusedFor, when positive, refuses the attempt: the address is over
	// one of its limits for that long still.
	refusedFor time.Duration
	// delay is how long the attempt waits before its password is checked.
	delay time.Duration
}

type loginKeys struct {
	ip, pair, account, known string
}

func (g *loginGuard) keys(ip, email string) loginKeys {
	acct, net := addressKey(email), networkKey(ip)
	return loginKeys{
		ip:      "veza:auth:fail:ip:" + net,
		pair:    "veza:auth:fail:pair:" + acct + ":" + net,
		account: "veza:auth:fail:acct:" + acct,
		known:   "veza:auth:known:" + acct + ":" + net,
	}
}

// check judges an attempt on the account of email from ip.
func (g *loginGuard) check(ctx context.Context, ip, email string) loginVerdict {
	k := g.keys(ip, email)
	c := g.counts.get(ctx, k.ip, k.pair, k.account, k.known)
	overIP := c[0].n >= int64(g.settings.MaxFailedLoginsPerIP)
	overPair := c[1].n >= int64(g.settings.MaxFailedLoginsPerAccount)
	if overIP || overPair {
		var d time.Duration
		if overIP {
			d = c[0].ttl
		}
		if overPair {
			d = max(d, c[1].ttl)
		}
		return loginVerdict{refusedFor: max(d, time.Second)}
	}
	if c[3].n > 0 {
		return loginVerdict{}
	}
	return loginVerdict{delay: g.delayFor(c[2].n)}
}

// delayFor is the wait of an attempt on an account that failed failures
// times in the window, from all addresses together.
func (g *loginGuard) delayFor(failures int64) time.Duration {
	over := failures - int64(g.settings.LoginDelayAfter)
	if over <= 0 {
		return 0
	}
	d := g.settings.LoginDelayBase
	for i := int64(1); i < over && d < g.settings.LoginDelayMax; i++ {
		d *= 2
	}
	return min(d, g.settings.LoginDelayMax)
}

// fail counts one wrong password (or unknown address) from ip.
func (g *loginGuard) fail(ctx context.Context, ip, email string) {
	k := g.keys(ip, email)
	g.counts.incr(ctx, g.settings.FailedLoginWindow, k.ip, k.pair, k.account)
}

// succeed clears the pair's failures and remembers the address as one the
// account signs in from.
func (g *loginGuard) succeed(ctx context.Context, ip, email string) {
	k := g.keys(ip, email)
	g.counts.del(ctx, k.pair)
	if ttl := g.settings.KnownAddressTTL; ttl > 0 {
		g.counts.set(ctx, k.known, ttl)
	}
}

// wait sleeps for d unless ctx ends first.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
