package webhooks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/webhooks"
)

// With private targets not allowed: literal private addresses are refused
// at creation, and a name that resolves to loopback is refused when dialled.
func TestSSRFRefusals(t *testing.T) {
	e := start(t, map[string]string{"VEZA_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "false"})
	id := e.user(t, "ann")
	tok := e.login(t, "ann")
	for _, u := range []string{"http://127.0.0.1:8080/x", "http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data",
		"http://[::1]:9000/", "http://[::ffff:127.0.0.1]/", "https://192.168.0.10/", "http://0.0.0.0/",
		// Every spelling a client reads as an address.
		"http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://127.1/", "http://[::127.0.0.1]/",
		"http://0x7f000001:8080/", "http://0xa9.0xfe.0xa9.0xfe/", "http://10.1/", "http://127.0.0.1./",
		// Names for internal hosts, and numbers that are no address.
		"http://localhost:8080/", "http://LOCALHOST/", "http://printer.local/", "http://db.internal/", "http://1.2.3.4.5/"} {
		env := e.Do(t, "POST", "/api/v1/webhooks", map[string]any{"url": u, "events": []string{"thing.happened"}}, as(tok)...).
			ErrorCode(t, 422, "validation_failed")
		if env.Error.Details[0].Field != "url" {
			t.Fatalf("%s: %+v", u, env.Error.Details)
		}
	}
	// A name that resolves to a private address when the delivery is made
	// (DNS rebinding: it was public when the endpoint was created) is
	// refused on the address actually dialled. The test stands in for the
	// rebinding by pointing the stored URL at localhost.
	r := newReceiver(t, nil)
	port := r.URL[strings.LastIndex(r.URL, ":")+1:]
	ep := e.endpoint(t, tok, map[string]any{"url": "https://hooks.example.com/in", "events": []string{"thing.happened"}})
	if _, err := e.Runtime.DB().Exec(`UPDATE webhook_endpoints SET url = $2 WHERE id = $1`, ep.ID, "http://localhost:"+port+"/hook"); err != nil {
		t.Fatal(err)
	}
	e.emit(t, 1, id)
	apptest.Eventually(t, 15*time.Second, "a refused attempt", func() bool {
		ds := e.deliveries(t, tok, ep.ID)
		return len(ds) == 1 && len(ds[0].Attempts) > 0
	})
	time.Sleep(6 * time.Second) // past the first retry (5s): there must be none
	d := e.deliveries(t, tok, ep.ID)[0]
	if len(d.Attempts) != 1 || d.Status != "failed" || d.Attempts[0].NextRetryAt != nil {
		t.Fatalf("a refused target is final, not retried: %+v", d)
	}
	if a := d.Attempts[0]; a.Error == nil || *a.Error != "target address is not public" || a.StatusCode != nil {
		t.Fatalf("attempt %+v: %v", a, deref(a.Error))
	}
	if n := len(r.got()); n != 0 {
		t.Fatalf("the loopback receiver got %d requests", n)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// Production takes https only, and refuses to start with private targets.
func TestProductionRules(t *testing.T) {
	prod := map[string]string{"APP_ENV": "production", "CORS_ALLOWED_ORIGINS": "https://app.example.com", "APP_PUBLIC_URL": "https://veza.example.com",
		"JWT_SECRET": strings.Repeat("p", 40), "VEZA_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "false"}
	e := start(t, prod)
	e.user(t, "ann")
	tok := e.login(t, "ann")
	env := e.Do(t, "POST", "/api/v1/webhooks", map[string]any{"url": "http://hooks.example.com/in", "events": []string{"thing.happened"}}, as(tok)...).
		ErrorCode(t, 422, "validation_failed")
	if !strings.Contains(env.Error.Details[0].Message, "https") {
		t.Fatalf("details %+v", env.Error.Details)
	}
	e.endpoint(t, tok, map[string]any{"url": "https://hooks.example.com/in", "events": []string{"thing.happened"}})

	prod["VEZA_WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "true"
	_, err := apptest.TryStart(t, apptest.Options{Modules: []app.Module{auth.Module(), webhooks.Module()}, Env: prod, NoStart: true})
	if err == nil || !strings.Contains(err.Error(), "allow_private_targets is refused in production") {
		t.Fatalf("start with private targets in production: %v", err)
	}
}

// A name that does not resolve is told as such, without the address of the
// resolver that said so (it is ours, not the endpoint owner's).
func TestUnresolvableNameKeepsTheResolverPrivate(t *testing.T) {
	e := start(t, map[string]string{"VEZA_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "false"})
	id := e.user(t, "ann")
	tok := e.login(t, "ann")
	ep := e.endpoint(t, tok, map[string]any{"url": "https://hooks.example.com/in", "events": []string{"thing.happened"}})
	if _, err := e.Runtime.DB().Exec(`UPDATE webhook_endpoints SET url = 'https://no-such-host.veza-nowhere.example/in' WHERE id = $1`, ep.ID); err != nil {
		t.Fatal(err)
	}
	e.emit(t, 1, id)
	apptest.Eventually(t, 20*time.Second, "an attempt", func() bool {
		ds := e.deliveries(t, tok, ep.ID)
		return len(ds) == 1 && len(ds[0].Attempts) > 0
	})
	msg := deref(e.deliveries(t, tok, ep.ID)[0].Attempts[0].Error)
	if !strings.HasPrefix(msg, "could not resolve no-such-host.veza-nowhere.example") || strings.Contains(msg, " on ") || strings.Contains(msg, ":53") {
		t.Fatalf("attempt error %q", msg)
	}
}
