package httpx

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// Behind trusted proxies the client is the rightmost address they did not
// add: whatever the client writes to the left of it is ignored, so it
// cannot choose its own rate-limit or login-throttle key.
func TestForwardedForBelievesOnlyTrustedHops(t *testing.T) {
	// app.Test's requests come from 0.0.0.0: the proxy in front here.
	trusted := []string{"0.0.0.0", "10.0.0.0/8"}
	app := fiber.New(fiber.Config{ProxyHeader: fiber.HeaderXForwardedFor, EnableTrustedProxyCheck: true,
		TrustedProxies: trusted, EnableIPValidation: true})
	app.Use(ForwardedFor(trusted))
	app.Get("/", func(c *fiber.Ctx) error { return c.SendString(c.IP()) })
	for _, tc := range []struct{ xff, want string }{
		{"", "0.0.0.0"}, // no header: the remote address
		{"203.0.113.9", "203.0.113.9"},
		{"6.6.6.6, 203.0.113.9", "203.0.113.9"},           // the client wrote 6.6.6.6
		{"6.6.6.6, 203.0.113.9, 10.1.2.3", "203.0.113.9"}, // two of our proxies
		{"10.1.2.3, 10.9.9.9", "10.1.2.3"},                // all ours: the leftmost
		{"garbage, 203.0.113.9", "203.0.113.9"},
		{"203.0.113.9, garbage", "0.0.0.0"}, // nothing believable: the remote
	} {
		req := httptest.NewRequest("GET", "/", nil)
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, 64)
		n, _ := res.Body.Read(body)
		if got := string(body[:n]); got != tc.want {
			t.Errorf("X-Forwarded-For %q: client %q, want %q", tc.xff, got, tc.want)
		}
	}
}

func TestForwardedClient(t *testing.T) {
	trusted := func(a netip.Addr) bool { return a.IsPrivate() || a.IsLoopback() }
	for _, tc := range []struct {
		lines []string
		want  string
	}{
		{[]string{"1.1.1.1", "2.2.2.2, 10.0.0.1"}, "2.2.2.2"},
		{[]string{"::ffff:8.8.8.8"}, "8.8.8.8"},
		{[]string{"[bad]"}, "invalid IP"},
	} {
		var lines [][]byte
		for _, l := range tc.lines {
			lines = append(lines, []byte(l))
		}
		if got := forwardedClient(lines, trusted).String(); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.lines, got, tc.want)
		}
	}
}

// From an address that is not one of our proxies the header is not
// believed at all.
func TestForwardedForFromAStranger(t *testing.T) {
	app := fiber.New(fiber.Config{ProxyHeader: fiber.HeaderXForwardedFor, EnableTrustedProxyCheck: true,
		TrustedProxies: []string{"10.0.0.1"}})
	app.Use(ForwardedFor([]string{"10.0.0.1"}))
	app.Get("/", func(c *fiber.Ctx) error { return c.SendString(c.IP() + "|" + c.Get("X-Forwarded-For")) })
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	res, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	body := make([]byte, 64)
	n, _ := res.Body.Read(body)
	if got := string(body[:n]); got != "0.0.0.0|" {
		t.Fatalf("from a stranger: %q", got)
	}
}
