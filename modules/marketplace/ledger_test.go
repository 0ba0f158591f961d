package marketplace_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app/apptest"
)

// A random mix of 200 purchases (some declined, some racing for exclusive
// licences) and refunds: every journal balances, so the whole ledger sums
// to zero, and each seller's balance is what their paid sales earned, less
// the fee, computed from the orders alone.
func TestLedgerSumsToZero(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 42))
	e := start(t, map[string]string{"VEZA_MARKETPLACE_PAYMENTS_TEST_REFUND_DELAY": "0s"})

	type seller struct {
		id    uuid.UUID
		token string
	}
	sellers := make([]seller, 3)
	byCurrency := map[string][]uuid.UUID{}
	for i := range sellers {
		sellers[i].id, sellers[i].token = e.user(t, fmt.Sprintf("seller%d", i), "producer")
		for range 8 {
			track := e.track(t, sellers[i].id)
			currency := []string{"EUR", "USD"}[rng.IntN(2)]
			for _, kind := range []string{"basic", "exclusive"}[:1+rng.IntN(2)] {
				var p product
				e.Do(t, "POST", "/api/v1/marketplace/products", map[string]any{"track_id": track, "title": kind, "license_type": kind,
					"price_cents": 100 + rng.IntN(20000), "currency": currency}, as(sellers[i].token)...).Status(t, 201).Data(t, &p)
				byCurrency[currency] = append(byCurrency[currency], p.ID)
			}
		}
	}
	buyers := make([]string, 12)
	for i := range buyers {
		_, buyers[i] = e.user(t, fmt.Sprintf("buyer%d", i), "user")
	}
	tokenOf := map[uuid.UUID]string{}

	purchases, refunds := 0, 0
	for tries := 0; purchases+refunds < 200; tries++ {
		if tries == 2000 {
			t.Fatalf("only %d purchases and %d refunds in %d tries", purchases, refunds, tries)
		}
		var paid []uuid.UUID
		if err := e.Runtime.DB().Select(&paid, `SELECT id FROM marketplace_orders WHERE status = 'paid' ORDER BY id`); err != nil {
			t.Fatal(err)
		}
		if len(paid) > 0 && rng.Float64() < 0.3 {
			o := paid[rng.IntN(len(paid))]
			e.Do(t, "POST", "/api/v1/marketplace/orders/"+o.String()+"/refund", nil, as(tokenOf[o])...).Status(t, 202)
			refunds++
			continue
		}
		buyer := buyers[rng.IntN(len(buyers))]
		pool := byCurrency[[]string{"EUR", "USD"}[rng.IntN(2)]]
		picks := map[uuid.UUID]bool{}
		for range 1 + rng.IntN(3) {
			picks[pool[rng.IntN(len(pool))]] = true
		}
		var ids []uuid.UUID
		for id := range picks {
			ids = append(ids, id)
		}
		res := e.orderReq(t, buyer, uuid.NewString(), ids...)
		if res.StatusCode == 409 { // sold, or already held by this buyer
			continue
		}
		var o order
		res.Status(t, 201).Data(t, &o)
		tokenOf[o.ID] = buyer
		action := "approve"
		if rng.Float64() < 0.1 {
			action = "decline"
		}
		e.checkout(t, o, action).Status(t, 200)
		purchases++
	}
	t.Logf("%d purchases, %d refunds", purchases, refunds)
	apptest.Eventually(t, 60*time.Second, "every order settled", func() bool {
		return e.count(t, `SELECT count(*) FROM marketplace_orders WHERE status IN ('pending', 'refund_pending') OR payment_status = 'authorized'`) == 0 &&
			e.count(t, `SELECT count(*) FROM marketplace_test_payments WHERE status = 'authorized'`) == 0
	})

	if sum := e.count(t, `SELECT coalesce(sum(amount_cents), 0) FROM marketplace_ledger_entries`); sum != 0 {
		t.Fatalf("the ledger sums to %d", sum)
	}
	if n := e.count(t, `SELECT count(*) FROM (SELECT journal_id FROM marketplace_ledger_entries GROUP BY journal_id HAVING sum(amount_cents) <> 0) j`); n != 0 {
		t.Fatalf("%d journals do not balance", n)
	}
	if n := e.count(t, `SELECT count(*) FROM marketplace_orders WHERE status = 'refunded'`); n != refunds {
		t.Fatalf("%d orders refunded, %d refunds asked", n, refunds)
	}
	for _, s := range sellers {
		want := map[string]int64{}
		rows, err := e.Runtime.DB().Query(`SELECT o.currency, sum(i.price_cents - i.price_cents * 1000 / 10000) FROM marketplace_order_items i
			JOIN marketplace_orders o ON o.id = i.order_id WHERE o.status = 'paid' AND i.seller_id = $1 GROUP BY o.currency`, s.id)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c string
			var v int64
			if err := rows.Scan(&c, &v); err != nil {
				t.Fatal(err)
			}
			want[c] = v
		}
		rows.Close()
		var got struct {
			Balances []struct {
				Currency     string `json:"currency"`
				BalanceCents int64  `json:"balance_cents"`
			} `json:"balances"`
		}
		e.Do(t, "GET", "/api/v1/marketplace/balance", nil, as(s.token)...).Status(t, 200).Data(t, &got)
		for _, b := range got.Balances {
			if b.BalanceCents != want[b.Currency] {
				t.Errorf("seller %s: %d %s, want %d from the paid orders", s.id, b.BalanceCents, b.Currency, want[b.Currency])
			}
			delete(want, b.Currency)
		}
		for c, v := range want {
			if v != 0 {
				t.Errorf("seller %s: no %s balance, want %d", s.id, c, v)
			}
		}
	}
	exclusive := e.count(t, `SELECT count(*) FROM (SELECT product_id FROM marketplace_licenses WHERE status = 'active' AND license_type = 'exclusive'
		GROUP BY product_id HAVING count(*) > 1) x`)
	if exclusive != 0 {
		t.Fatalf("%d exclusive licences held twice", exclusive)
	}
}
