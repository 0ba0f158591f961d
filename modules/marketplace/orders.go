package marketplace

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/marketplace/payments"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/page"
)

// OrderInput is the body of POST /marketplace/orders.
type OrderInput struct {
	ProductIDs []string `json:"product_ids" validate:"required" doc:"the products to buy, each once, all priced in one currency"`
}

// parseProductIDs reads the ids of an order: at least one, no repeats, at
// most MaxOrderItems.
func (s *Service) parseProductIDs(raw []string) ([]uuid.UUID, error) {
	var v httpx.Checker
	v.Check(len(raw) > 0, "product_ids", "must name at least one product")
	v.Check(len(raw) <= s.settings.MaxOrderItems, "product_ids", fmt.Sprintf("must name at most %d products", s.settings.MaxOrderItems))
	if err := v.Err(); err != nil {
		return nil, err
	}
	ids := make([]uuid.UUID, 0, len(raw))
	seen := map[uuid.UUID]bool{}
	for _, r := range raw {
		id, err := uuid.Parse(r)
		v.Check(err == nil, "product_ids", fmt.Sprintf("%q is not a product id", r))
		v.Check(err != nil || !seen[id], "product_ids", "names "+r+" twice")
		seen[id] = true
		ids = append(ids, id)
	}
	return ids, v.Err()
}

// PlaceOrder makes an order of the products, priced now, and asks the
// provider for its payment. The Idempotency-Key makes it safe to retry: the
// same key and products answer the order the first request made.
func (s *Service) PlaceOrder(ctx context.Context, caller *authn.Principal, key string, in OrderInput) (*order, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	ids, err := s.parseProductIDs(in.ProductIDs)
	if err != nil {
		return nil, err
	}
	c, err := s.store.claimKey(ctx, caller.UserID, key, requestHash(ids), s.settings.IdempotencyTTL)
	if err != nil {
		return nil, err
	}
	if c.Done {
		return s.store.order(ctx, s.db, *c.OrderID, false)
	}
	o, err := s.finishOrder(ctx, caller, c, ids)
	if err != nil {
		if rerr := s.store.releaseKey(ctx, c); rerr != nil {
			s.log.Warn("an idempotency key stays locked until it lapses", zap.Error(rerr))
		}
		return nil, err
	}
	return o, nil
}

// finishOrder makes the order of a fresh claim, or takes the one a dead
// request made, and gets its payment; the provider is called between two
// transactions, never inside one.
func (s *Service) finishOrder(ctx context.Context, caller *authn.Principal, c claim, ids []uuid.UUID) (*order, error) {
	var o *order
	var err error
	if c.OrderID == nil {
		o, err = s.createOrder(ctx, caller, c, ids)
	} else {
		o, err = s.store.order(ctx, s.db, *c.OrderID, false)
	}
	if err != nil {
		return nil, err
	}
	if o.PaymentID == nil {
		if err := s.pay(ctx, o); err != nil {
			return nil, err
		}
	}
	err = db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if o.PaymentID != nil {
			if err := s.store.setPayment(ctx, tx, o.ID, *o.PaymentID, o.PaymentStatus, o.CheckoutURL); err != nil {
				return err
			}
		}
		return s.store.completeKey(ctx, tx, c)
	})
	if err != nil {
		return nil, err
	}
	return s.store.order(ctx, s.db, o.ID, false)
}

// pay asks the order's provider for its payment and fills it into o.
func (s *Service) pay(ctx context.Context, o *order) error {
	prov, err := s.provider(o.Provider)
	if err != nil {
		return err
	}
	titles := make([]string, len(o.Items))
	for i, it := range o.Items {
		titles[i] = it.Title
	}
	p, err := prov.CreatePayment(ctx, payments.PaymentRequest{OrderID: o.ID, AmountCents: o.TotalCents, Currency: o.Currency,
		Description: strings.Join(titles, ", "), IdempotencyKey: "order-" + o.ID.String(), ReturnURL: s.settings.Payments.Hyperswitch.ReturnURL})
	if err != nil {
		return providerError(err)
	}
	o.PaymentID, o.PaymentStatus, o.CheckoutURL = &p.ID, string(p.Status), p.CheckoutURL
	return nil
}

// createOrder writes the order, priced from the products as they are now,
// with its order.created event and the key's link to it.
func (s *Service) createOrder(ctx context.Context, caller *authn.Principal, c claim, ids []uuid.UUID) (*order, error) {
	o := &order{ID: uuid.Must(uuid.NewV7()), BuyerID: caller.UserID, Provider: s.settings.Payments.Provider}
	if _, err := s.provider(o.Provider); err != nil {
		return nil, err
	}
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		products, err := s.store.productsForOrder(ctx, tx, ids)
		if err != nil {
			return err
		}
		if err := s.checkPurchasable(ctx, tx, caller, ids, products); err != nil {
			return err
		}
		for _, p := range products {
			o.Items = append(o.Items, item{OrderID: o.ID, ProductID: p.ID, SellerID: p.SellerID, TrackID: p.TrackID,
				Title: p.Title, LicenseType: p.LicenseType, PriceCents: p.PriceCents})
			o.TotalCents += p.PriceCents
			o.Currency = p.Currency
		}
		if err := s.store.insertOrder(ctx, tx, o); err != nil {
			return err
		}
		if err := s.store.attachOrder(ctx, tx, c, o.ID); err != nil {
			return err
		}
		return s.publish(ctx, tx, EventOrderCreated, orderEvent(o, o.CreatedAt), o.BuyerID)
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// checkPurchasable refuses an order that names unknown products, the
// buyer's own, products in several currencies (422), an exclusive licence
// already sold, or a licence the buyer holds (409).
func (s *Service) checkPurchasable(ctx context.Context, tx *sqlx.Tx, caller *authn.Principal, ids []uuid.UUID, products []product) error {
	found := map[uuid.UUID]bool{}
	var v httpx.Checker
	for _, p := range products {
		found[p.ID] = true
		v.Check(p.SellerID != caller.UserID, "product_ids", p.ID.String()+" is your own product")
		v.Check(p.Currency == products[0].Currency, "product_ids", "the products are priced in several currencies; order them separately")
	}
	for _, id := range ids {
		v.Check(found[id], "product_ids", id.String()+" is not a product on sale")
	}
	if err := v.Err(); err != nil {
		return err
	}
	for _, p := range products {
		if p.SoldOrderID != nil {
			return httpx.Conflict("product_sold", "the exclusive licence "+p.ID.String()+" is sold")
		}
	}
	held, err := s.store.licensed(ctx, tx, caller.UserID, ids)
	if err != nil {
		return err
	}
	if len(held) > 0 {
		return httpx.Conflict("already_licensed", "you already hold the licence "+held[0].String())
	}
	return nil
}

// Order returns an order to its buyer or an admin.
func (s *Service) Order(ctx context.Context, caller *authn.Principal, id uuid.UUID) (*order, error) {
	o, err := s.store.order(ctx, s.db, id, false)
	if isNotFound(err) || (err == nil && o.BuyerID != caller.UserID && !caller.IsAdmin()) {
		return nil, orderNotFound
	}
	return o, err
}

// Orders returns a page of the caller's orders, newest first.
func (s *Service) Orders(ctx context.Context, caller *authn.Principal, r page.Request[page.TimeID]) ([]order, string, error) {
	return page.Fetch(ctx, r, func(ctx context.Context, after *page.TimeID, n int) ([]order, error) {
		return s.store.listOrders(ctx, caller.UserID, after, n)
	}, func(o *order) page.TimeID { return page.TimeID{At: o.CreatedAt, ID: o.ID} })
}
