package marketplace_test

import (
	"testing"
	"time"

	"github.com/veza/veza/modules/marketplace"
)

// A refund: refused for an unpaid order and past the window; pending until
// the provider confirms (which the test provider does by itself); then the
// licence is revoked, its download links die, the sale is reversed in the
// ledger and the exclusive licence can be bought again.
func TestRefundAndRepurchase(t *testing.T) {
	e := start(t, nil)
	sellerID, seller := e.user(t, "seller", "creator")
	buyerID, buyer := e.user(t, "buyer", "user")
	_, second := e.user(t, "second", "user")
	track, _ := e.upload(t, seller, "Once")
	p := e.product(t, seller, track, "exclusive", 10000)

	unpaid := e.buy(t, buyer, p.ID)
	e.Do(t, "POST", "/api/v1/marketplace/orders/"+unpaid.ID.String()+"/refund", nil, as(buyer)...).ErrorCode(t, 409, "not_refundable")
	e.checkout(t, unpaid, "approve").Status(t, 200)
	o := e.wait(t, buyer, unpaid.ID, "paid")
	e.Do(t, "POST", "/api/v1/marketplace/orders/"+o.ID.String()+"/refund", nil, as(second)...).ErrorCode(t, 404, "not_found")
	l := e.link(t, buyer, p.ID)

	var pending order
	e.Do(t, "POST", "/api/v1/marketplace/orders/"+o.ID.String()+"/refund", nil, as(buyer)...).Status(t, 202).Data(t, &pending)
	if pending.Status != "refund_pending" {
		t.Fatalf("refund answer: %s", pending.Status)
	}
	e.Do(t, "POST", "/api/v1/marketplace/orders/"+o.ID.String()+"/refund", nil, as(buyer)...).ErrorCode(t, 409, "not_refundable")
	e.wait(t, buyer, o.ID, "refunded")
	e.Do(t, "GET", e.local(t, l.URL), nil).ErrorCode(t, 403, "license_revoked")
	e.Do(t, "GET", "/api/v1/marketplace/download/"+p.ID.String(), nil, as(buyer)...).ErrorCode(t, 403, "no_license")
	var lic struct {
		Items []struct {
			Status    string     `json:"status"`
			RevokedAt *time.Time `json:"revoked_at"`
		} `json:"items"`
	}
	e.Do(t, "GET", "/api/v1/marketplace/licenses", nil, as(buyer)...).Status(t, 200).Data(t, &lic)
	if len(lic.Items) != 1 || lic.Items[0].Status != "revoked" || lic.Items[0].RevokedAt == nil {
		t.Fatalf("licences after the refund: %+v", lic.Items)
	}
	if b := e.balance(t, seller); b != 0 {
		t.Fatalf("the seller's balance after the refund is %d, want 0", b)
	}
	var got product
	e.Do(t, "GET", "/api/v1/marketplace/products/"+p.ID.String(), nil).Status(t, 200).Data(t, &got)
	if got.Status != "active" {
		t.Fatalf("the refunded exclusive product is %s, want active", got.Status)
	}

	again := e.pay(t, second, p.ID)
	if b := e.balance(t, seller); b != 9000 {
		t.Fatalf("the seller's balance after the second sale is %d, want 9000", b)
	}
	e.WaitOutbox(t, 10*time.Second)
	if n := e.count(t, `SELECT count(*) FROM outbox WHERE type = $1 AND $2 = ANY(audience) AND $3 = ANY(audience)`,
		marketplace.EventOrderRefunded, buyerID, sellerID); n != 1 {
		t.Fatalf("%d order.refunded events for the buyer and the seller", n)
	}

	// Past the window, no refund.
	e.exec(t, `UPDATE marketplace_orders SET paid_at = now() - interval '15 days' WHERE id = $1`, again.ID)
	e.Do(t, "POST", "/api/v1/marketplace/orders/"+again.ID.String()+"/refund", nil, as(second)...).ErrorCode(t, 409, "refund_window_closed")
}

// balance is a seller's EUR balance.
func (e *env) balance(t testing.TB, token string) int64 {
	t.Helper()
	var b struct {
		Balances []struct {
			Currency     string `json:"currency"`
			BalanceCents int64  `json:"balance_cents"`
		} `json:"balances"`
	}
	e.Do(t, "GET", "/api/v1/marketplace/balance", nil, as(token)...).Status(t, 200).Data(t, &b)
	for _, x := range b.Balances {
		if x.Currency == "EUR" {
			return x.BalanceCents
		}
	}
	return 0
}
