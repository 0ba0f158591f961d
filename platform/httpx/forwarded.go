package httpx

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// ForwardedFor makes X-Forwarded-For name the real client before anything
// reads it. A proxy appends the address it received from to the header, so
// only the entries added by our own proxies can be believed: reading from
// the right, the first address that is not one of trusted is the client.
// Fiber's c.IP() reads the leftmost entry, which the client writes itself
// (a client could otherwise pick its own rate-limit and login-throttle
// key); this middleware leaves just the believed address in the header,
// so every c.IP() call agrees. From an address that is not a trusted proxy
// the header is dropped. trusted holds addresses and CIDR ranges
// (TRUSTED_PROXIES).
func ForwardedFor(trusted []string) fiber.Handler {
	var nets []netip.Prefix
	for _, t := range trusted {
		if p, err := netip.ParsePrefix(strings.TrimSpace(t)); err == nil {
			nets = append(nets, p.Masked())
		} else if a, err := netip.ParseAddr(strings.TrimSpace(t)); err == nil {
			nets = append(nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, n := range nets {
			if n.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(c *fiber.Ctx) error {
		h := &c.Request().Header
		remote, ok := netip.AddrFromSlice(c.Context().RemoteIP())
		if !ok || !isTrusted(remote) {
			h.Del(fiber.HeaderXForwardedFor)
			return c.Next()
		}
		if client := forwardedClient(h.PeekAll(fiber.HeaderXForwardedFor), isTrusted); client.IsValid() {
			h.Set(fiber.HeaderXForwardedFor, client.String())
		} else {
			h.Del(fiber.HeaderXForwardedFor)
		}
		return c.Next()
	}
}

// forwardedClient walks the X-Forwarded-For entries (every header line,
// in order) from the right and returns the first address not trusted; the
// leftmost when every one is trusted; an invalid address when an entry on
// the way does not parse (nothing left of it can be believed).
func forwardedClient(lines [][]byte, trusted func(netip.Addr) bool) netip.Addr {
	var entries []string
	for _, l := range lines {
		entries = append(entries, strings.Split(string(l), ",")...)
	}
	var last netip.Addr
	for i := len(entries) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(entries[i]))
		if err != nil {
			return netip.Addr{}
		}
		a = a.Unmap()
		if !trusted(a) {
			return a
		}
		last = a
	}
	return last
}
