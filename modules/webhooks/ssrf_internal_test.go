package webhooks

import (
	"net/netip"
	"testing"
)

func TestPublicAddr(t *testing.T) {
	blocked := []string{
		"127.0.0.1", "127.255.0.9", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "0.0.0.0", "0.1.2.3",
		"100.64.0.1", "224.0.0.1", "255.255.255.255", "198.18.0.1", "240.0.0.1", "192.0.0.8",
		"::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
		"::ffff:169.254.169.254", "64:ff9b::7f00:1", "2001:db8::1",
	}
	for _, s := range blocked {
		if publicAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s is treated as public", s)
		}
	}
	for _, s := range []string{"93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946", "::ffff:8.8.8.8", "1.1.1.1"} {
		if !publicAddr(netip.MustParseAddr(s)) {
			t.Errorf("%s is treated as private", s)
		}
	}
	for host, refused := range map[string]bool{"127.0.0.1": true, "::1": true, "example.com": false, "8.8.8.8": false,
		"::ffff:127.0.0.1": true, "2130706433": true, "0x7f.1": true, "0177.0.0.1": true, "127.1": true, "::127.0.0.1": true,
		"0x7f000001": true, "10.1": true, "0xa9.0xfe.0xa9.0xfe": true, "134744072": false, "1.2.3.4.5": true, "localhost": true,
		"printer.local": true, "db.internal": true, "hooks.example.com": false} {
		if got := checkHost(host) != ""; got != refused {
			t.Errorf("checkHost(%q) refuses: %v, want %v", host, got, refused)
		}
	}
}

func TestSignatureKnownVector(t *testing.T) {
	// The Standard Webhooks reference example.
	sig, err := sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
		[]byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if sig != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("signature %s", sig)
	}
}
