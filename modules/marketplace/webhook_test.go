package marketplace_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

// state is what a webhook could change, to compare before and after.
func (e *env) state(t testing.TB, o uuid.UUID) string {
	t.Helper()
	var row struct {
		Status, Payment string
		Updated         time.Time
	}
	if err := e.Runtime.DB().QueryRow(`SELECT status, payment_status, updated_at FROM marketplace_orders WHERE id = $1`, o).
		Scan(&row.Status, &row.Payment, &row.Updated); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s/%s at %s; %d licences, %d ledger entries, %d events, %d refunds, %d test payments moved", row.Status, row.Payment,
		row.Updated.Format(time.RFC3339Nano), e.count(t, `SELECT count(*) FROM marketplace_licenses`),
		e.count(t, `SELECT count(*) FROM marketplace_ledger_entries`), e.count(t, `SELECT count(*) FROM outbox WHERE module = 'marketplace'`),
		e.count(t, `SELECT count(*) FROM marketplace_refunds`), e.count(t, `SELECT count(*) FROM marketplace_test_payments WHERE updated_at > created_at`))
}

// The provider's webhooks sent again, in any order, change nothing and
// answer 200; a webhook whose signature does not verify (tampered, absent,
// another secret, too old) answers 401 and changes nothing.
func TestWebhookReplayAndBadSignatures(t *testing.T) {
	e := start(t, nil)
	sellerID, seller := e.user(t, "seller", "creator")
	_, buyer := e.user(t, "buyer", "user")
	p := e.product(t, seller, e.track(t, sellerID), "exclusive", 4000)
	o := e.pay(t, buyer, p.ID)
	e.WaitOutbox(t, 10*time.Second)
	sent := e.front.webhooks()
	if len(sent) != 2 {
		t.Fatalf("%d webhooks sent for one payment, want authorised and succeeded", len(sent))
	}
	before := e.state(t, o.ID)
	same := func(what string) {
		t.Helper()
		if after := e.state(t, o.ID); after != before {
			t.Fatalf("%s changed the order:\n before %s\n after  %s", what, before, after)
		}
	}

	for i, h := range sent { // as they were, then backwards
		e.webhook(t, h.Body, h.Header.Get("Veza-Test-Signature")).Status(t, 200)
		e.webhook(t, sent[len(sent)-1-i].Body, forge(sent[len(sent)-1-i].Body, time.Now())).Status(t, 200)
	}
	same("replays")

	var payID string
	if err := e.Runtime.DB().Get(&payID, `SELECT payment_id FROM marketplace_orders WHERE id = $1`, o.ID); err != nil {
		t.Fatal(err)
	}
	for _, status := range []string{"authorized", "failed", "cancelled", "requires_payment", "succeeded"} {
		body := mustJSON(t, map[string]any{"id": "evt_late_" + status, "type": "payment", "payment_id": payID, "status": status})
		e.webhook(t, body, forge(body, time.Now())).Status(t, 200)
	}
	body := mustJSON(t, map[string]any{"id": "evt_stranger", "type": "payment", "payment_id": "tp_not_ours", "status": "succeeded"})
	e.webhook(t, body, forge(body, time.Now())).Status(t, 200)
	same("late and unknown events")

	tampered := bytes.Replace(sent[1].Body, []byte(`"succeeded"`), []byte(`"failed"`), 1)
	fresh := mustJSON(t, map[string]any{"id": "evt_" + uuid.NewString(), "type": "payment", "payment_id": payID, "status": "failed"})
	for what, sig := range map[string]string{
		"tampered body":   sent[1].Header.Get("Veza-Test-Signature"),
		"no signature":    "",
		"another secret":  forgeWith("another-secret-of-at-least-32-characters", fresh, time.Now()),
		"too old":         forge(fresh, time.Now().Add(-10*time.Minute)),
		"from the future": forge(fresh, time.Now().Add(10*time.Minute)),
		"garbage":         "t=abc,v1=zz",
	} {
		b := fresh
		if what == "tampered body" {
			b = tampered
		}
		if res := e.webhook(t, b, sig); res.StatusCode != 401 {
			t.Errorf("%s: %d, want 401", what, res.StatusCode)
		}
	}
	same("bad signatures")
	e.Do(t, "POST", "/api/v1/marketplace/payments/webhook/stripe", fresh, "Content-Type", "application/json").ErrorCode(t, 404, "not_found")
}
