package netguard

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	cases := map[string]Class{
		"8.8.8.8":         Public,
		"1.1.1.1":         Public,
		"93.184.215.14":   Public,
		"0.0.0.0":         Unspecified,
		"0.1.2.3":         Unspecified,
		"127.0.0.1":       Loopback,
		"127.255.255.254": Loopback,
		"10.0.0.1":        Private,
		"172.16.0.1":      Private,
		"172.31.255.255":  Private,
		"172.32.0.1":      Public,
		"192.168.1.1":     Private,
		"100.64.0.1":      Shared,
		"100.127.255.255": Shared,
		"100.128.0.1":     Public,
		"169.254.169.254": LinkLocal,
		"224.0.0.1":       Multicast,
		"239.255.255.250": Multicast,
		"255.255.255.255": Multicast,
		"240.0.0.1":       Reserved,
		"192.0.0.8":       Reserved,
		"192.0.2.1":       Documentation,
		"198.51.100.7":    Documentation,
		"203.0.113.9":     Documentation,
		"198.18.0.1":      Reserved,
		"192.88.99.1":     Reserved,

		"2606:4700:4700::1111": Public,
		"2a00:1450:4007::200e": Public,
		"::":                   Unspecified,
		"::1":                  Loopback,
		"::ffff:127.0.0.1":     Loopback,
		"::ffff:10.1.2.3":      Private,
		"::ffff:8.8.8.8":       Public,
		"::127.0.0.1":          Reserved, // IPv4-compatible, deprecated
		"::ffff:0:7f00:1":      Reserved, // IPv4-translated
		"64:ff9b::7f00:1":      Reserved,
		"64:ff9b:1::1":         Reserved,
		"2002:7f00:1::":        Reserved,
		"2001::1":              Reserved,
		"2001:db8::1":          Documentation,
		"3fff::1":              Documentation,
		"fc00::1":              Private,
		"fd12:3456::1":         Private,
		"fe80::1":              LinkLocal,
		"fe80::1%eth0":         LinkLocal,
		"fec0::1":              Reserved, // site-local, deprecated
		"ff02::1":              Multicast,
		"100::1":               Reserved,
		"5f00::1":              Reserved,
	}
	for s, want := range cases {
		a := netip.MustParseAddr(s)
		if got := Classify(a); got != want {
			t.Errorf("Classify(%s) = %s, want %s", s, got, want)
		}
		if IsPublic(a) != (want == Public) {
			t.Errorf("IsPublic(%s) = %v", s, IsPublic(a))
		}
	}
	if Classify(netip.Addr{}) != Invalid || IsPublic(netip.Addr{}) {
		t.Error("the zero address is classified")
	}
}

func TestHostAddrSpellings(t *testing.T) {
	cases := map[string]string{
		"127.0.0.1":              "127.0.0.1",
		"127.0.0.1.":             "127.0.0.1",
		"127.1":                  "127.0.0.1",
		"127.0.1":                "127.0.0.1",
		"2130706433":             "127.0.0.1",
		"0x7f000001":             "127.0.0.1",
		"0X7F000001":             "127.0.0.1",
		"0x7f.1":                 "127.0.0.1",
		"0x7f.0x0.0x0.0x1":       "127.0.0.1",
		"0177.0.0.1":             "127.0.0.1",
		"0177.1":                 "127.0.0.1",
		"017700000001":           "127.0.0.1",
		"0x7f.0.0.01":            "127.0.0.1",
		"0":                      "0.0.0.0",
		"0x":                     "0.0.0.0",
		"0.0.0.0":                "0.0.0.0",
		"10.1":                   "10.0.0.1",
		"192.168.257":            "192.168.1.1",
		"3232235777":             "192.168.1.1",
		"0xa9fea9fe":             "169.254.169.254",
		"169.254.43518":          "169.254.169.254",
		"4294967295":             "255.255.255.255",
		"8.8.8.8":                "8.8.8.8",
		"[::1]":                  "::1",
		"[::ffff:127.0.0.1]":     "::ffff:127.0.0.1",
		"[::ffff:7f00:1]":        "::ffff:127.0.0.1",
		"[::127.0.0.1]":          "::7f00:1",
		"[0:0:0:0:0:0:0:1]":      "::1",
		"[fe80::1%25eth0]":       "fe80::1%eth0",
		"::1":                    "::1",
		"[2606:4700:4700::1111]": "2606:4700:4700::1111",
	}
	for host, want := range cases {
		a, ok := HostAddr(host)
		if !ok || a != netip.MustParseAddr(want) {
			t.Errorf("HostAddr(%q) = %v, %v; want %s", host, a, ok, want)
		}
	}
}

func TestHostAddrRefusals(t *testing.T) {
	for _, host := range []string{
		"", ".", "example.com", "localhost", "1.2.3.4.5", "256.0.0.1", "1.256.0.1", "1.2.65536",
		"4294967296", "0x100000000", "08.0.0.1", "09", "0x7g.1", "1..2", "..", "1.2.3.4..",
		"99999999999999999999", "0xffffffffffffffffffff", "-1", "+1", "1.2.3.-4", " 1.2.3.4",
		"[::1", "[not-ipv6]", "1:2", "127.0.0.1.nip.io",
	} {
		if a, ok := HostAddr(host); ok {
			t.Errorf("HostAddr(%q) = %v, want not an address", host, a)
		}
	}
}

func TestLooksNumeric(t *testing.T) {
	for host, want := range map[string]bool{
		"1.2.3.4.5": true, "a.0x7f": true, "a.0X": true, "example.123": true, "256.0.0.1": true, "127.0.0.1.": true,
		"example.com": false, "a.0x7g": false, "": false, "1.2.3.a": false, "123.example": false, "a.": false,
	} {
		if got := LooksNumeric(host); got != want {
			t.Errorf("LooksNumeric(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestIsInternalName(t *testing.T) {
	for name, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "localhost.": true, "a.localhost": true, "printer.local": true,
		"db.internal": true, "metadata.google.internal": true, "nas.home.arpa": true, "router": true,
		"intranet": true, "x.lan": true, "x.corp": true, "localhost.localdomain": true, "": true,
		"example.com": false, "cdn.example.org": false, "localhost.example.com": false, "mylocal.com": false,
		"internal.example.com": false, "xn--bcher-kva.de": false,
	} {
		if got := IsInternalName(name); got != want {
			t.Errorf("IsInternalName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestClassString(t *testing.T) {
	if Loopback.String() != "loopback" || Class(99).String() != "unknown" {
		t.Error("class names")
	}
}

// FuzzParseIPv4 checks that whatever parses, parses to the value of the
// canonical spelling, and that a canonical address always parses.
func FuzzParseIPv4(f *testing.F) {
	for _, s := range []string{"127.0.0.1", "0x7f.1", "0177.0.0.1", "2130706433", "1.2.3.4.", "0x", "08"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := ParseIPv4(s)
		if !ok {
			return
		}
		b, ok := ParseIPv4(a.String())
		if !ok || a != b || !a.Is4() {
			t.Fatalf("%q parsed to %v, whose canonical form parses to %v (%v)", s, a, b, ok)
		}
	})
}
