// Package netguard tells public network addresses and host names from the
// ones that designate a machine's own network: loopback, private ranges,
// link-local, carrier-grade NAT, multicast, reserved and documentation
// ranges, and names such as localhost or *.internal.
//
// Input that may point somewhere (a webhook endpoint, an avatar URL) has to
// be classified the way the software that will use it reads it, not the way
// it looks. Browsers and the C resolver (inet_aton) read "2130706433",
// "0x7f.1", "0177.0.0.1" and "127.1" as 127.0.0.1, and IPv6 can carry an
// IPv4 address (::ffff:127.0.0.1, ::127.0.0.1, 64:ff9b::7f00:1). HostAddr
// parses every such spelling, so that Classify sees the address that would
// really be reached.
//
// What a name resolves to cannot be known without resolving it, and a
// resolution can change afterwards (DNS rebinding): code that connects must
// check the address it dials (see net.Dialer.Control), not only the name it
// was given.
package netguard

import (
	"net/netip"
	"strings"
)

// Class is the kind of an IP address, as far as reaching it is concerned.
type Class int

// The classes of addresses. Everything but Public designates a network that
// is not the public Internet, or no single host at all.
const (
	// Public is a globally routable unicast address.
	Public Class = iota
	// Unspecified is 0.0.0.0 or :: (and the rest of 0.0.0.0/8, "this
	// network"), which a connecting socket takes as the local host.
	Unspecified
	// Loopback is 127.0.0.0/8 or ::1.
	Loopback
	// Private is RFC 1918 IPv4 (10/8, 172.16/12, 192.168/16) or an IPv6
	// unique local address (fc00::/7).
	Private
	// Shared is the carrier-grade NAT range 100.64.0.0/10 (RFC 6598).
	Shared
	// LinkLocal is 169.254.0.0/16 (cloud metadata services live there) or
	// fe80::/10.
	LinkLocal
	// Multicast is 224.0.0.0/4, ff00::/8, or the IPv4 broadcast address.
	Multicast
	// Documentation is an example range (192.0.2.0/24, 198.51.100.0/24,
	// 203.0.113.0/24, 2001:db8::/32, 3fff::/20): never a real host.
	Documentation
	// Reserved is every other special-purpose range: benchmarking, IETF
	// protocol assignments, 240.0.0.0/4, IPv6 outside global unicast
	// 2000::/3, and the translation prefixes (6to4, NAT64) whose embedded
	// IPv4 address may be anything.
	Reserved
	// Invalid is the zero netip.Addr.
	Invalid
)

var classNames = [...]string{"public", "unspecified", "loopback", "private", "shared (carrier-grade NAT)",
	"link-local", "multicast", "documentation", "reserved", "invalid"}

// String names the class in words, for error messages.
func (c Class) String() string {
	if c < 0 || int(c) >= len(classNames) {
		return "unknown"
	}
	return classNames[c]
}

type classified struct {
	prefix netip.Prefix
	class  Class
}

// v4Special lists the IPv4 ranges of the IANA special-purpose registry that
// are not globally reachable, plus multicast and broadcast.
var v4Special = []classified{
	{netip.MustParsePrefix("0.0.0.0/8"), Unspecified},
	{netip.MustParsePrefix("10.0.0.0/8"), Private},
	{netip.MustParsePrefix("100.64.0.0/10"), Shared},
	{netip.MustParsePrefix("127.0.0.0/8"), Loopback},
	{netip.MustParsePrefix("169.254.0.0/16"), LinkLocal},
	{netip.MustParsePrefix("172.16.0.0/12"), Private},
	{netip.MustParsePrefix("192.0.0.0/24"), Reserved},
	{netip.MustParsePrefix("192.0.2.0/24"), Documentation},
	{netip.MustParsePrefix("192.88.99.0/24"), Reserved}, // 6to4 relay anycast, deprecated
	{netip.MustParsePrefix("192.168.0.0/16"), Private},
	{netip.MustParsePrefix("198.18.0.0/15"), Reserved}, // benchmarking
	{netip.MustParsePrefix("198.51.100.0/24"), Documentation},
	{netip.MustParsePrefix("203.0.113.0/24"), Documentation},
	{netip.MustParsePrefix("224.0.0.0/4"), Multicast},
	{netip.MustParsePrefix("255.255.255.255/32"), Multicast}, // limited broadcast
	{netip.MustParsePrefix("240.0.0.0/4"), Reserved},
}

// v6Special lists the IPv6 ranges handled before the rule that only global
// unicast (2000::/3) is public. The order matters: the first match wins.
var v6Special = []classified{
	{netip.MustParsePrefix("::/128"), Unspecified},
	{netip.MustParsePrefix("::1/128"), Loopback},
	{netip.MustParsePrefix("fc00::/7"), Private},
	{netip.MustParsePrefix("fe80::/10"), LinkLocal},
	{netip.MustParsePrefix("ff00::/8"), Multicast},
	{netip.MustParsePrefix("2001:db8::/32"), Documentation},
	{netip.MustParsePrefix("3fff::/20"), Documentation},
	{netip.MustParsePrefix("2001::/23"), Reserved},    // IETF protocol assignments (Teredo among them)
	{netip.MustParsePrefix("2002::/16"), Reserved},    // 6to4: embeds any IPv4 address
	{netip.MustParsePrefix("5f00::/16"), Reserved},    // SRv6 segment identifiers
	{netip.MustParsePrefix("64:ff9b::/96"), Reserved}, // NAT64: embeds any IPv4 address
	{netip.MustParsePrefix("64:ff9b:1::/48"), Reserved},
}

var globalUnicast = netip.MustParsePrefix("2000::/3")

// Classify returns the class of a. An IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) is the IPv4 address it maps; a zone (fe80::1%eth0) does
// not change the class.
func Classify(a netip.Addr) Class {
	if !a.IsValid() {
		return Invalid
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return classify(a, v4Special)
	}
	if c := classify(a, v6Special); c != Public {
		return c
	}
	if !globalUnicast.Contains(a) {
		// ::/96 (IPv4-compatible, deprecated: ::127.0.0.1), 100::/64
		// (discard) and every unassigned range.
		return Reserved
	}
	return Public
}

func classify(a netip.Addr, table []classified) Class {
	for _, c := range table {
		if c.prefix.Contains(a) {
			return c.class
		}
	}
	return Public
}

// IsPublic reports whether a is a globally routable unicast address.
func IsPublic(a netip.Addr) bool { return Classify(a) == Public }

// HostAddr returns the IP address that host denotes when it is an address
// literal in any spelling a URL parser or inet_aton accepts:
//
//   - IPv6, with or without brackets, with or without a zone
//     ("[::ffff:127.0.0.1]", "::1", "fe80::1%25eth0" as in a URL);
//   - IPv4 in dotted form with one to four parts, each decimal, octal
//     (leading 0) or hexadecimal (0x): "127.0.0.1", "127.1", "0177.0.0.1",
//     "0x7f.1", "2130706433", "0x7f000001";
//   - any of those with one trailing dot ("127.0.0.1.").
//
// ok is false when host is not an address literal, i.e. a name. A host that
// ends in a number but is no valid IPv4 address ("1.2.3.4.5", "a.0x7g",
// "256.0.0.1") is neither: LooksNumeric reports it, and a browser refuses
// such a URL, so callers should refuse it too.
func HostAddr(host string) (addr netip.Addr, ok bool) {
	h := host
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	if strings.Contains(h, ":") {
		h = strings.Replace(h, "%25", "%", 1) // the zone separator as a URL escapes it
		a, err := netip.ParseAddr(h)
		return a, err == nil
	}
	return ParseIPv4(host)
}

// ParseIPv4 parses s as the WHATWG URL standard's IPv4 parser does (the
// rules of inet_aton): one to four dot-separated parts, each decimal, octal
// with a leading 0, or hexadecimal with 0x or 0X ("0x" alone is 0); every
// part but the last is one byte, the last fills the remaining bytes; one
// trailing dot is ignored.
func ParseIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if len(parts) == 0 || len(parts) > 4 {
		return netip.Addr{}, false
	}
	var value uint64
	for i, p := range parts {
		n, ok := parseNumber(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 255 {
				return netip.Addr{}, false
			}
			value = value<<8 | n
			continue
		}
		rest := uint(4 - i) // bytes left for the last part
		if n >= 1<<(8*rest) {
			return netip.Addr{}, false
		}
		value = value<<(8*rest) | n
	}
	return netip.AddrFrom4([4]byte{byte(value >> 24), byte(value >> 16), byte(value >> 8), byte(value)}), true
}

// parseNumber reads one IPv4 part; values beyond 2^32 are refused early so
// that no spelling overflows into a small number.
func parseNumber(p string) (uint64, bool) {
	base := uint64(10)
	switch {
	case p == "":
		return 0, false
	case len(p) >= 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
	case len(p) >= 2 && p[0] == '0':
		base, p = 8, p[1:]
	}
	var n uint64
	for i := 0; i < len(p); i++ {
		d, ok := digit(p[i], base)
		if !ok {
			return 0, false
		}
		n = n*base + d
		if n > 1<<32 {
			return 0, false
		}
	}
	return n, true
}

func digit(c byte, base uint64) (uint64, bool) {
	var d uint64
	switch {
	case c >= '0' && c <= '9':
		d = uint64(c - '0')
	case c >= 'a' && c <= 'f':
		d = uint64(c-'a') + 10
	case c >= 'A' && c <= 'F':
		d = uint64(c-'A') + 10
	default:
		return 0, false
	}
	return d, d < base
}

// LooksNumeric reports whether a host's last label (after one trailing
// dot) is a number, decimal or 0x-hexadecimal: the WHATWG URL standard then
// parses the whole host as IPv4 and refuses the URL when that fails, so such
// a host is either an address (HostAddr) or invalid, never a name.
func LooksNumeric(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if len(last) >= 2 && (last[:2] == "0x" || last[:2] == "0X") {
		last = last[2:]
		for i := 0; i < len(last); i++ {
			if _, ok := digit(last[i], 16); !ok {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			return false
		}
	}
	return true
}

// internalSuffixes are names that designate a host of the local network or
// the machine itself, never a host on the Internet: RFC 6761 localhost,
// RFC 6762 .local (mDNS), .internal (reserved for private use by ICANN in
// 2024), RFC 8375 home.arpa, the common localdomain, and the labels ICANN
// will never delegate because private networks use them (lan, home, corp,
// intranet).
var internalSuffixes = []string{"localhost", "localdomain", "local", "internal", "home.arpa", "lan", "home", "corp", "intranet"}

// IsInternalName reports whether a host name (ASCII, as in a URL after IDNA)
// designates the local machine or a private network: localhost and the
// suffixes above, and single-label names, which a resolver completes with
// its search domains (http://router/, http://intranet/). It says nothing of
// what a public name resolves to.
func IsInternalName(name string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" || !strings.Contains(name, ".") {
		return true
	}
	for _, s := range internalSuffixes {
		if name == s || strings.HasSuffix(name, "."+s) {
			return true
		}
	}
	return false
}
