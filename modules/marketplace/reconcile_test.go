package marketplace_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/veza/veza/modules/marketplace"
)

// reconcile runs the reconciliation once, as its schedule would; age
// first makes every open order look older than pending_expiry.
func (e *env) reconcile(t testing.TB, age bool) {
	t.Helper()
	if age {
		e.exec(t, `UPDATE marketplace_orders SET updated_at = now() - interval '31 minutes' WHERE status IN ('pending', 'refund_pending')`)
	}
	for _, j := range e.Runtime.Contributions().Jobs {
		if j.Type == marketplace.ReconcileJob {
			if err := j.Handler(context.Background(), asynq.NewTask(j.Type, nil)); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatal("no reconciliation job")
}

// An order nobody paid within 30 minutes is cancelled, and its payment
// voided so that the checkout page can no longer pay it; a younger order
// is left alone.
func TestReconcileExpiresUnpaidOrders(t *testing.T) {
	e := start(t, nil)
	sellerID, seller := e.user(t, "seller", "creator")
	_, buyer := e.user(t, "buyer", "user")
	p := e.product(t, seller, e.track(t, sellerID), "exclusive", 3000)
	o := e.buy(t, buyer, p.ID)
	e.reconcile(t, true)
	if got := e.get(t, buyer, o.ID); got.Status != "cancelled" || got.Payment.Status != "cancelled" {
		t.Fatalf("an expired order is %s/%s, want cancelled/cancelled", got.Status, got.Payment.Status)
	}
	e.checkout(t, o, "approve").Status(t, 200)
	time.Sleep(300 * time.Millisecond)
	if got := e.get(t, buyer, o.ID); got.Status != "cancelled" {
		t.Fatalf("the voided checkout still paid: %s", got.Status)
	}
	young := e.buy(t, buyer, p.ID)
	e.reconcile(t, false)
	if got := e.get(t, buyer, young.ID); got.Status != "pending" {
		t.Fatalf("a fresh order was reconciled: %s", got.Status)
	}
}

// When every webhook is lost, the reconciliation asks the provider and
// gets the order where its payment is: authorised, it captures; captured,
// the order is paid; a refund the provider confirmed is applied. The
// webhooks arriving late change nothing.
func TestReconcileSettlesLostWebhooks(t *testing.T) {
	e := start(t, nil)
	sellerID, seller := e.user(t, "seller", "creator")
	_, buyer := e.user(t, "buyer", "user")
	p := e.product(t, seller, e.track(t, sellerID), "premium", 2000)
	e.front.drop.Store(true)
	o := e.buy(t, buyer, p.ID)
	payment := `SELECT count(*) FROM marketplace_test_payments p JOIN marketplace_orders o ON o.payment_id = p.id WHERE o.id = $1 AND p.status = $2`
	e.checkout(t, o, "approve").Status(t, 200)
	e.eventually(t, 1, payment, o.ID, "authorized")
	e.reconcile(t, true) // authorised: claims and captures
	e.eventually(t, 1, payment, o.ID, "succeeded")
	if got := e.get(t, buyer, o.ID); got.Status != "pending" {
		t.Fatalf("before the capture is known: %s", got.Status)
	}
	e.reconcile(t, true) // captured: paid
	if got := e.get(t, buyer, o.ID); got.Status != "paid" {
		t.Fatalf("after the reconciliation: %s", got.Status)
	}

	e.Do(t, "POST", "/api/v1/marketplace/orders/"+o.ID.String()+"/refund", nil, as(buyer)...).Status(t, 202)
	e.eventually(t, 1, `SELECT count(*) FROM marketplace_test_refunds WHERE status = 'succeeded'`)
	e.reconcile(t, true)
	if got := e.get(t, buyer, o.ID); got.Status != "refunded" {
		t.Fatalf("after the refund's reconciliation: %s", got.Status)
	}
	before := e.state(t, o.ID)
	e.front.drop.Store(false)
	for _, h := range e.front.webhooks() {
		e.webhook(t, h.Body, forge(h.Body, time.Now())).Status(t, 200)
	}
	if after := e.state(t, o.ID); after != before {
		t.Fatalf("late webhooks changed the order:\n %s\n %s", before, after)
	}
}
