package marketplace

import (
	"time"

	"github.com/google/uuid"
)

// ProductView is a product as the API shows it.
type ProductView struct {
	ID          uuid.UUID `json:"id"`
	SellerID    uuid.UUID `json:"seller_id"`
	TrackID     uuid.UUID `json:"track_id"`
	Title       string    `json:"title"`
	LicenseType string    `json:"license_type" doc:"basic, premium or exclusive"`
	PriceCents  int64     `json:"price_cents" doc:"in the currency's minor units"`
	Currency    string    `json:"currency" doc:"ISO 4217"`
	Status      string    `json:"status" doc:"active (for sale) or sold (an exclusive licence someone bought)"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func productView(p *product) ProductView {
	status := "active"
	if p.SoldOrderID != nil {
		status = "sold"
	}
	return ProductView{ID: p.ID, SellerID: p.SellerID, TrackID: p.TrackID, Title: p.Title, LicenseType: p.LicenseType,
		PriceCents: p.PriceCents, Currency: p.Currency, Status: status, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
}

func productViews(ps []product) []ProductView {
	out := make([]ProductView, len(ps))
	for i := range ps {
		out[i] = productView(&ps[i])
	}
	return out
}

// OrderView is an order as its buyer sees it.
type OrderView struct {
	ID         uuid.UUID       `json:"id"`
	BuyerID    uuid.UUID       `json:"buyer_id"`
	Status     string          `json:"status" doc:"pending, paid, failed (declined), cancelled, refund_pending or refunded"`
	Items      []OrderItemView `json:"items"`
	TotalCents int64           `json:"total_cents" doc:"the sum of the items' prices, in minor units"`
	Currency   string          `json:"currency"`
	Payment    PaymentView     `json:"payment"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	PaidAt     *time.Time      `json:"paid_at"`
	RefundedAt *time.Time      `json:"refunded_at"`
}

// OrderItemView is one product of an order, at the price it was ordered at.
type OrderItemView struct {
	ProductID   uuid.UUID `json:"product_id"`
	TrackID     uuid.UUID `json:"track_id"`
	SellerID    uuid.UUID `json:"seller_id"`
	Title       string    `json:"title"`
	LicenseType string    `json:"license_type"`
	PriceCents  int64     `json:"price_cents"`
}

// PaymentView is an order's payment at its provider.
type PaymentView struct {
	Provider    string `json:"provider" doc:"test or hyperswitch"`
	Status      string `json:"status" doc:"requires_payment, authorized, succeeded, failed or cancelled"`
	CheckoutURL string `json:"checkout_url" doc:"the page where the buyer pays; empty when the provider gave none"`
}

func orderView(o *order) OrderView {
	items := make([]OrderItemView, len(o.Items))
	for i, it := range o.Items {
		items[i] = OrderItemView{ProductID: it.ProductID, TrackID: it.TrackID, SellerID: it.SellerID, Title: it.Title,
			LicenseType: it.LicenseType, PriceCents: it.PriceCents}
	}
	return OrderView{ID: o.ID, BuyerID: o.BuyerID, Status: o.Status, Items: items, TotalCents: o.TotalCents, Currency: o.Currency,
		Payment:   PaymentView{Provider: o.Provider, Status: o.PaymentStatus, CheckoutURL: o.CheckoutURL},
		CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(), PaidAt: utc(o.PaidAt), RefundedAt: utc(o.RefundedAt)}
}

func orderViews(os []order) []OrderView {
	out := make([]OrderView, len(os))
	for i := range os {
		out[i] = orderView(&os[i])
	}
	return out
}

// LicenseView is a licence as its holder sees it.
type LicenseView struct {
	ID          uuid.UUID  `json:"id"`
	ProductID   uuid.UUID  `json:"product_id"`
	OrderID     uuid.UUID  `json:"order_id"`
	TrackID     uuid.UUID  `json:"track_id"`
	LicenseType string     `json:"license_type"`
	Status      string     `json:"status" doc:"active, or revoked by a refund"`
	IssuedAt    time.Time  `json:"issued_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
}

func licenseViews(ls []license) []LicenseView {
	out := make([]LicenseView, len(ls))
	for i, l := range ls {
		out[i] = LicenseView{ID: l.ID, ProductID: l.ProductID, OrderID: l.OrderID, TrackID: l.TrackID, LicenseType: l.LicenseType,
			Status: l.Status, IssuedAt: l.IssuedAt.UTC(), RevokedAt: utc(l.RevokedAt)}
	}
	return out
}

// WebhookAnswer is what a provider's webhook gets.
type WebhookAnswer struct {
	Received bool `json:"received"`
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
