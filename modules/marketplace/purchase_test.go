package marketplace_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/modules/marketplace"
)

// The whole purchase, as a buyer's browser and the test provider do it: a
// seller puts a licence on sale, a buyer orders it, opens the checkout
// page without a bearer token, approves, and the provider's webhook makes
// the order paid; the licence is issued, the signed URL downloads the
// exact file, the seller's balance holds the sale less the fee, and the
// events reach the buyer and the seller.
func TestPurchaseThroughCheckout(t *testing.T) {
	e := start(t, nil)
	sellerID, seller := e.user(t, "seller", "creator")
	buyerID, buyer := e.user(t, "buyer", "user")
	track, file := e.upload(t, seller, "Night Drive")

	p := e.product(t, seller, track, "premium", 2900)
	if p.SellerID != sellerID || p.Status != "active" || p.Currency != "EUR" {
		t.Fatalf("product = %+v", p)
	}
	var list struct {
		Items []product `json:"items"`
	}
	e.Do(t, "GET", "/api/v1/marketplace/products?seller_id="+sellerID.String(), nil).Status(t, 200).Data(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != p.ID {
		t.Fatalf("anonymous listing: %+v", list.Items)
	}

	o := e.buy(t, buyer, p.ID)
	if o.Status != "pending" || o.TotalCents != 2900 || o.Currency != "EUR" || o.Payment.Provider != "test" ||
		o.Payment.Status != "requires_payment" || !strings.HasPrefix(o.Payment.CheckoutURL, e.front.URL+"/api/v1/marketplace/payments/test/checkout/") {
		t.Fatalf("order = %+v", o)
	}
	page := e.Do(t, "GET", e.local(t, o.Payment.CheckoutURL), nil).Status(t, 200)
	if ct := page.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") ||
		!bytes.Contains(page.Body, []byte(`value="approve"`)) || !bytes.Contains(page.Body, []byte(`value="decline"`)) ||
		!bytes.Contains(page.Body, []byte("29.00 EUR")) {
		t.Fatalf("checkout page (%s):\n%s", ct, page.Body)
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") {
		t.Fatalf("the page's form must be allowed to post: CSP %q", csp)
	}
	res := e.checkout(t, o, "approve").Status(t, 200)
	if !bytes.Contains(res.Body, []byte("Approved")) {
		t.Fatalf("after approve:\n%s", res.Body)
	}
	o = e.wait(t, buyer, o.ID, "paid")
	if o.Payment.Status != "succeeded" {
		t.Fatalf("paid order's payment: %+v", o.Payment)
	}

	// A second Approve and a late Decline change nothing.
	if res := e.checkout(t, o, "approve").Status(t, 200); !bytes.Contains(res.Body, []byte("nothing changed")) {
		t.Fatalf("second approve:\n%s", res.Body)
	}
	e.checkout(t, o, "decline").Status(t, 200)
	time.Sleep(300 * time.Millisecond)
	if got := e.get(t, buyer, o.ID); got.Status != "paid" {
		t.Fatalf("after a late decline: %s", got.Status)
	}

	var lic struct {
		Items []struct {
			ID          uuid.UUID `json:"id"`
			ProductID   uuid.UUID `json:"product_id"`
			OrderID     uuid.UUID `json:"order_id"`
			LicenseType string    `json:"license_type"`
			Status      string    `json:"status"`
			IssuedAt    time.Time `json:"issued_at"`
		} `json:"items"`
	}
	e.Do(t, "GET", "/api/v1/marketplace/licenses", nil, as(buyer)...).Status(t, 200).Data(t, &lic)
	if len(lic.Items) != 1 || lic.Items[0].ProductID != p.ID || lic.Items[0].OrderID != o.ID || lic.Items[0].Status != "active" ||
		lic.Items[0].LicenseType != "premium" {
		t.Fatalf("licences = %+v", lic.Items)
	}

	var link struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	e.Do(t, "GET", "/api/v1/marketplace/download/"+p.ID.String(), nil, as(buyer)...).Status(t, 200).Data(t, &link)
	if d := time.Until(link.ExpiresAt); d < 14*time.Minute || d > 15*time.Minute {
		t.Fatalf("expires_at %s is %s ahead, want 15 minutes", link.ExpiresAt, d)
	}
	dl := e.Do(t, "GET", e.local(t, link.URL), nil).Status(t, 200)
	if !bytes.Equal(dl.Body, file) || !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment") ||
		!strings.Contains(dl.Header.Get("Content-Disposition"), "Night Drive.wav") || dl.Header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("download: %d bytes (want %d), %q, %q", len(dl.Body), len(file), dl.Header.Get("Content-Disposition"), dl.Header.Get("Content-Type"))
	}

	var bal struct {
		SellerID uuid.UUID `json:"seller_id"`
		Balances []struct {
			Currency     string `json:"currency"`
			BalanceCents int64  `json:"balance_cents"`
		} `json:"balances"`
	}
	e.Do(t, "GET", "/api/v1/marketplace/balance", nil, as(seller)...).Status(t, 200).Data(t, &bal)
	if len(bal.Balances) != 1 || bal.Balances[0].Currency != "EUR" || bal.Balances[0].BalanceCents != 2900-290 {
		t.Fatalf("seller's balance = %+v, want 2610 EUR (2900 less the 10%% fee)", bal)
	}
	e.Do(t, "GET", "/api/v1/marketplace/balance?seller_id="+sellerID.String(), nil, as(buyer)...).ErrorCode(t, 403, "forbidden")

	e.WaitOutbox(t, 10*time.Second)
	for typ, who := range map[string][]uuid.UUID{
		marketplace.EventProductCreated: {sellerID}, marketplace.EventOrderCreated: {buyerID},
		marketplace.EventOrderPaid: {buyerID, sellerID}, marketplace.EventLicenseIssued: {buyerID, sellerID},
	} {
		for _, id := range who {
			if n := e.count(t, `SELECT count(*) FROM outbox WHERE type = $1 AND $2 = ANY(audience)`, typ, id); n != 1 {
				t.Errorf("%d %s events for %s, want 1", n, typ, id)
			}
		}
	}
}

// A declined payment fails the order: no licence, nothing in the ledger.
func TestDeclinedCheckout(t *testing.T) {
	e := start(t, nil)
	sellerID, seller := e.user(t, "seller", "creator")
	_, buyer := e.user(t, "buyer", "user")
	p := e.product(t, seller, e.track(t, sellerID), "basic", 999)
	o := e.buy(t, buyer, p.ID)
	if res := e.checkout(t, o, "decline").Status(t, 200); !bytes.Contains(res.Body, []byte("Declined")) {
		t.Fatalf("after decline:\n%s", res.Body)
	}
	o = e.wait(t, buyer, o.ID, "failed")
	e.checkout(t, o, "approve").Status(t, 200) // too late: nothing changes
	time.Sleep(300 * time.Millisecond)
	if got := e.get(t, buyer, o.ID); got.Status != "failed" || got.Payment.Status != "failed" {
		t.Fatalf("a late approve changed the order: %+v", got)
	}
	if n := e.count(t, `SELECT count(*) FROM marketplace_licenses`) + e.count(t, `SELECT count(*) FROM marketplace_ledger_entries`); n != 0 {
		t.Fatalf("%d licences and ledger entries for a declined order", n)
	}
	e.Do(t, "GET", "/api/v1/marketplace/download/"+p.ID.String(), nil, as(buyer)...).ErrorCode(t, http.StatusForbidden, "no_license")
}
