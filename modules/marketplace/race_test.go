package marketplace_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app/apptest"
)

// Buyers racing for one exclusive licence, all approving at once: exactly
// one order is paid; the others are cancelled and their payments voided,
// never captured; the product is sold and a new order for it is 409.
func TestExclusiveRace(t *testing.T) {
	e := start(t, nil)
	sellerID, seller := e.user(t, "seller", "creator")
	p := e.product(t, seller, e.track(t, sellerID), "exclusive", 50000)
	const buyers = 6
	tokens := make([]string, buyers)
	orders := make([]order, buyers)
	for i := range buyers {
		_, tokens[i] = e.user(t, fmt.Sprintf("buyer%d", i), "user")
		orders[i] = e.buy(t, tokens[i], p.ID) // not reserved by an order
	}

	var wg sync.WaitGroup
	statuses := make([]int, buyers)
	start := make(chan struct{})
	for i := range buyers {
		url := e.URL + e.local(t, orders[i].Payment.CheckoutURL)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i] = postForm(url, "action=approve")
		}()
	}
	close(start)
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Fatalf("buyer %d's approve: %d", i, s)
		}
	}

	apptest.Eventually(t, 30*time.Second, "every order settled", func() bool {
		// Settled on both sides: the provider's books, and the orders once
		// the webhooks saying so have arrived.
		return e.count(t, `SELECT count(*) FROM marketplace_orders WHERE status = 'pending' OR payment_status = 'authorized'`) == 0 &&
			e.count(t, `SELECT count(*) FROM marketplace_test_payments WHERE status = 'authorized'`) == 0
	})
	paid := 0
	for i, o := range orders {
		switch got := e.get(t, tokens[i], o.ID); got.Status {
		case "paid":
			paid++
		case "cancelled":
			if got.Payment.Status != "cancelled" {
				t.Errorf("the loser %d's payment is %s, want cancelled (voided)", i, got.Payment.Status)
			}
		default:
			t.Errorf("order %d is %s", i, got.Status)
		}
	}
	if paid != 1 {
		t.Fatalf("%d orders paid for one exclusive licence", paid)
	}
	if n := e.count(t, `SELECT count(*) FROM marketplace_test_payments WHERE status = 'succeeded'`); n != 1 {
		t.Fatalf("%d payments captured, want 1: a loser was charged", n)
	}
	if n := e.count(t, `SELECT count(*) FROM marketplace_licenses WHERE product_id = $1 AND status = 'active'`, p.ID); n != 1 {
		t.Fatalf("%d active licences to the exclusive product", n)
	}
	var got product
	e.Do(t, "GET", "/api/v1/marketplace/products/"+p.ID.String(), nil).Status(t, 200).Data(t, &got)
	if got.Status != "sold" {
		t.Fatalf("product status %s, want sold", got.Status)
	}
	_, late := e.user(t, "late", "user")
	e.orderReq(t, late, uuid.NewString(), p.ID).ErrorCode(t, 409, "product_sold")
	if ledger := e.count(t, `SELECT coalesce(sum(amount_cents), 0) FROM marketplace_ledger_entries`); ledger != 0 {
		t.Fatalf("the ledger sums to %d", ledger)
	}
}

// postForm posts a form as a browser, without the test's helpers (it runs
// in goroutines, where a test may not fail).
func postForm(url, form string) int {
	res, err := http.Post(url, "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}
