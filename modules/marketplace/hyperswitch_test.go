package marketplace_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app/apptest"
)

// With Hyperswitch as the provider (a fake of its API): the payment is
// created with the order's Idempotency-Key and manual capture, its payment
// link is the checkout URL; the buyer's authorisation arrives as a signed
// webhook, the marketplace captures, and the capture's webhook makes the
// order paid. A refund goes the same way. Unsigned webhooks change nothing.
func TestHyperswitchPurchaseAndRefund(t *testing.T) {
	e, hs := hsEnv(t)
	sellerID, seller := e.user(t, "seller", "creator")
	_, buyer := e.user(t, "buyer", "user")
	p := e.product(t, seller, e.track(t, sellerID), "exclusive", 15000)

	o := e.buy(t, buyer, p.ID)
	creates := hs.callsTo("POST", "/payments")
	if len(creates) != 1 || creates[0].Key != "order-"+o.ID.String() || creates[0].Body["capture_method"] != "manual" ||
		creates[0].Body["amount"] != float64(15000) || creates[0].Body["currency"] != "EUR" {
		t.Fatalf("payment creation: %+v", creates)
	}
	if o.Payment.Provider != "hyperswitch" || o.Payment.Status != "requires_payment" || !strings.HasPrefix(o.Payment.CheckoutURL, hs.URL+"/payment_link/") {
		t.Fatalf("order payment = %+v", o.Payment)
	}
	payID := strings.TrimPrefix(o.Payment.CheckoutURL, hs.URL+"/payment_link/")

	// Forged and unsigned webhooks are refused and change nothing.
	body := mustJSON(t, map[string]any{"event_id": "evt_forged", "event_type": "payment_succeeded",
		"content": map[string]any{"type": "payment_details", "object": map[string]any{"payment_id": payID, "status": "succeeded"}}})
	for _, sig := range []string{"", "00", hsSign(append(body, ' ')), strings.Repeat("ab", 64)} {
		h := []string{"Content-Type", "application/json"}
		if sig != "" {
			h = append(h, "X-Webhook-Signature-512", sig)
		}
		e.Do(t, "POST", "/api/v1/marketplace/payments/webhook/hyperswitch", body, h...).ErrorCode(t, 401, "bad_signature")
	}
	if got := e.get(t, buyer, o.ID); got.Status != "pending" {
		t.Fatalf("a forged webhook moved the order to %s", got.Status)
	}

	hs.authorize(payID)
	o = e.wait(t, buyer, o.ID, "paid")
	captures := hs.callsTo("POST", "/payments/"+payID+"/capture")
	if len(captures) == 0 || captures[0].Key != "capture-"+o.ID.String() || captures[0].Body["amount_to_capture"] != float64(15000) {
		t.Fatalf("capture: %+v", captures)
	}

	var accepted order
	e.Do(t, "POST", "/api/v1/marketplace/orders/"+o.ID.String()+"/refund", nil, as(buyer)...).Status(t, 202).Data(t, &accepted)
	if accepted.Status != "refund_pending" {
		t.Fatalf("refund answer: %+v", accepted)
	}
	refunds := hs.callsTo("POST", "/refunds")
	if len(refunds) != 1 || !strings.HasPrefix(refunds[0].Key, "refund-") || refunds[0].Body["payment_id"] != payID || refunds[0].Body["amount"] != float64(15000) {
		t.Fatalf("refund call: %+v", refunds)
	}
	time.Sleep(200 * time.Millisecond)
	if got := e.get(t, buyer, o.ID); got.Status != "refund_pending" {
		t.Fatalf("the refund must wait for the provider's webhook: %s", got.Status)
	}
	hs.completeRefunds()
	e.wait(t, buyer, o.ID, "refunded")
	if n := e.count(t, `SELECT count(*) FROM marketplace_licenses WHERE status = 'active'`); n != 0 {
		t.Fatalf("%d licences still active after the refund", n)
	}
}

// The Idempotency-Key matrix: none is 400; the same key and body answer
// the same order (201 again); the same key with another body is 422; a
// request while the first is still in flight (here, waiting on the
// provider) is 409; keys are the user's own, and live 24 hours.
func TestIdempotencyMatrix(t *testing.T) {
	e, hs := hsEnv(t)
	sellerID, seller := e.user(t, "seller", "creator")
	_, alice := e.user(t, "alice", "user")
	_, bob := e.user(t, "bob", "user")
	a := e.product(t, seller, e.track(t, sellerID), "basic", 500)
	b := e.product(t, seller, e.track(t, sellerID), "basic", 700)

	e.orderReq(t, alice, "", a.ID).ErrorCode(t, 400, "idempotency_key_required")
	e.orderReq(t, alice, strings.Repeat("k", 300), a.ID).ErrorCode(t, 400, "bad_idempotency_key")

	var first, again order
	e.orderReq(t, alice, "key-1", a.ID, b.ID).Status(t, 201).Data(t, &first)
	e.orderReq(t, alice, "key-1", b.ID, a.ID).Status(t, 201).Data(t, &again) // the same set of products
	if again.ID != first.ID || first.TotalCents != 1200 {
		t.Fatalf("same key and body: %s then %s (total %d)", first.ID, again.ID, first.TotalCents)
	}
	e.orderReq(t, alice, "key-1", a.ID).ErrorCode(t, 422, "idempotency_key_reused")
	var bobs order
	e.orderReq(t, bob, "key-1", a.ID).Status(t, 201).Data(t, &bobs)
	if bobs.ID == first.ID {
		t.Fatal("another user's key answered alice's order")
	}
	if n := len(hs.callsTo("POST", "/payments")); n != 2 {
		t.Fatalf("%d payments created for 2 orders", n)
	}

	// In flight: the first request waits on the provider.
	hs.mu.Lock()
	hs.block, hs.arrived = make(chan struct{}), make(chan struct{}, 1)
	hs.mu.Unlock()
	var wg sync.WaitGroup
	var first2 *apptest.Response
	wg.Add(1)
	go func() {
		defer wg.Done()
		first2 = e.orderReq(t, alice, "key-2", b.ID)
	}()
	<-hs.arrived
	e.orderReq(t, alice, "key-2", b.ID).ErrorCode(t, 409, "idempotency_key_in_flight")
	e.orderReq(t, alice, "key-2", a.ID).ErrorCode(t, 422, "idempotency_key_reused")
	hs.mu.Lock()
	close(hs.block)
	hs.block = nil
	hs.mu.Unlock()
	wg.Wait()
	var slow, after order
	first2.Status(t, 201).Data(t, &slow)
	e.orderReq(t, alice, "key-2", b.ID).Status(t, 201).Data(t, &after)
	if after.ID != slow.ID || slow.ID == uuid.Nil {
		t.Fatalf("after the first answered: %s, want %s", after.ID, slow.ID)
	}

	// A refused request keeps nothing: the key serves the corrected one.
	e.orderReq(t, alice, "key-3", uuid.New()).ErrorCode(t, 422, "validation_failed")
	e.orderReq(t, alice, "key-3", a.ID).Status(t, 201)

	// Past 24 hours the key is free again.
	e.exec(t, `UPDATE marketplace_idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'key-1'`)
	var later order
	e.orderReq(t, alice, "key-1", b.ID).Status(t, 201).Data(t, &later)
	if later.ID == first.ID {
		t.Fatal("an expired key answered its old order")
	}
}
