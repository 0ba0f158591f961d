package marketplace

import (
	"context"
	"sort"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/httpx"
)

// The ledger's accounts. Debits are positive: the provider's account holds
// what buyers paid (an asset); a seller's account and the platform's fees
// are what that money is owed to (credits, negative).
const (
	accountFees = "platform:fees"
)

func providerAccount(name string) string { return "provider:" + name }
func sellerAccount(id uuid.UUID) string  { return "seller:" + id.String() }

// fee is the platform's share of a price, rounded down: a seller is never
// paid less than the rate says.
func (s *Service) fee(price int64) int64 { return price * int64(s.settings.PlatformFeeBPS) / 10000 }

// saleEntries is the journal of a paid order: the total into the
// provider's account, each seller's share and the fees out of it.
func (s *Service) saleEntries(o *order) []entry {
	credits := map[string]int64{}
	for _, it := range o.Items {
		f := s.fee(it.PriceCents)
		credits[sellerAccount(it.SellerID)] -= it.PriceCents - f
		credits[accountFees] -= f
	}
	out := []entry{{Account: providerAccount(o.Provider), Currency: o.Currency, AmountCents: o.TotalCents}}
	accounts := make([]string, 0, len(credits))
	for a := range credits {
		accounts = append(accounts, a)
	}
	sort.Strings(accounts)
	for _, a := range accounts {
		if credits[a] != 0 {
			out = append(out, entry{Account: a, Currency: o.Currency, AmountCents: credits[a]})
		}
	}
	return out
}

// reverseSale posts the opposite of an order's sale, entry by entry, so a
// refund takes back exactly what the sale gave whatever the fee rate has
// become since.
func (s *Service) reverseSale(ctx context.Context, tx *sqlx.Tx, order uuid.UUID) error {
	sale, err := s.store.journalOf(ctx, tx, order, "sale")
	if err != nil || len(sale) == 0 {
		return err
	}
	for i := range sale {
		sale[i].AmountCents = -sale[i].AmountCents
	}
	return s.store.postJournal(ctx, tx, order, "refund", sale)
}

// BalanceView is what a seller is owed, per currency.
type BalanceView struct {
	SellerID uuid.UUID        `json:"seller_id"`
	Balances []CurrencyAmount `json:"balances" doc:"one entry per currency the seller has sold in"`
}

// CurrencyAmount is an amount in one currency's minor units.
type CurrencyAmount struct {
	Currency     string `json:"currency"`
	BalanceCents int64  `json:"balance_cents" doc:"earnings from paid orders less refunds, after the platform's fee"`
}

// Balance returns what seller is owed; a seller sees their own, an admin
// anyone's.
func (s *Service) Balance(ctx context.Context, caller *authn.Principal, seller uuid.UUID) (BalanceView, error) {
	if seller != caller.UserID && !caller.IsAdmin() {
		return BalanceView{}, httpx.Forbidden("forbidden", "a seller sees their own balance only")
	}
	rows, err := s.store.balances(ctx, sellerAccount(seller))
	if err != nil {
		return BalanceView{}, err
	}
	out := BalanceView{SellerID: seller, Balances: make([]CurrencyAmount, len(rows))}
	for i, b := range rows {
		out.Balances[i] = CurrencyAmount{Currency: b.Currency, BalanceCents: -b.AmountCents}
	}
	return out, nil
}
