package webhooks

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// errForbiddenTarget is the SSRF guard's refusal.
var errForbiddenTarget = errors.New("the target address is not public")

// blockedPrefixes are the ranges beyond netip's own predicates that a
// webhook must never reach: shared address space, benchmarking, reserved,
// "this network", IETF protocol assignments, documentation, NAT64.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
}

// publicAddr reports whether a may be called: not loopback, private,
// link-local, multicast, unspecified or reserved, in IPv4, IPv6 and IPv4
// written as IPv6 (::ffff:127.0.0.1).
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	if a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return false
	}
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// literalPrivateHost reports whether host is an IP literal that is not
// public (creating such an endpoint is refused up front).
func literalPrivateHost(host string) bool {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return !publicAddr(a)
}

// newDialer returns a dialer whose every connection is checked on the
// address actually dialled, after DNS resolution: a name that resolves to a
// private address, even only on the second lookup (DNS rebinding), is
// refused.
func newDialer(allowPrivate bool, timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if allowPrivate {
		return d
	}
	d.Control = func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", errForbiddenTarget, address)
		}
		if !publicAddr(ap.Addr()) {
			return fmt.Errorf("%w: %s", errForbiddenTarget, ap.Addr())
		}
		return nil
	}
	return d
}
