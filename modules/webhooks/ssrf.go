package webhooks

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/veza/veza/platform/netguard"
)

// errForbiddenTarget is the SSRF guard's refusal.
var errForbiddenTarget = errors.New("target address is not public")

// publicAddr reports whether a may be called: a globally routable unicast
// address (netguard's classes: no loopback, private, link-local, shared,
// reserved, documentation, multicast or translation range, in IPv4, IPv6
// and IPv4 written as IPv6).
func publicAddr(a netip.Addr) bool { return netguard.IsPublic(a) }

// checkHost says what is wrong with a webhook URL's host before anything is
// dialled: an address literal in any spelling a client would accept
// (2130706433, 0x7f.1, 0177.0.0.1, 127.1, [::127.0.0.1]) that is not public,
// a host that looks numeric but is no address (a browser refuses it, and
// resolvers read it differently), or a name kept for internal use
// (localhost, *.local, *.internal). Other names are checked on every
// delivery, on the address they resolve to then. "" means acceptable.
func checkHost(host string) string {
	if a, ok := netguard.HostAddr(host); ok {
		if !netguard.IsPublic(a) {
			return "must not point at a loopback, private, link-local or reserved address"
		}
		return ""
	}
	if netguard.LooksNumeric(host) {
		return "has a host that looks like an address but is not one"
	}
	if netguard.IsInternalName(host) {
		return "must not name an internal host (localhost, .local, .internal)"
	}
	return ""
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
	// The refusal names no address: the delivery log is the endpoint
	// owner's to read, and the address a name resolves to inside our
	// network is not theirs to learn.
	d.Control = func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !publicAddr(ap.Addr()) {
			return errForbiddenTarget
		}
		return nil
	}
	return d
}
