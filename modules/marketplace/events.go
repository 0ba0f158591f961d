package marketplace

import (
	"time"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
)

// The public events of the marketplace. Their audience is who they concern:
// the seller for a product, the buyer for an order created, the buyer and
// every seller of the order for the others, so that webhooks deliver each
// to those users' endpoints.
const (
	EventProductCreated = "product.created"
	EventOrderCreated   = "order.created"
	EventOrderPaid      = "order.paid"
	EventOrderRefunded  = "order.refunded"
	EventLicenseIssued  = "license.issued"
)

// ProductEvent is the payload of product.created.
type ProductEvent struct {
	ProductID   uuid.UUID `json:"product_id"`
	SellerID    uuid.UUID `json:"seller_id"`
	TrackID     uuid.UUID `json:"track_id"`
	Title       string    `json:"title"`
	LicenseType string    `json:"license_type"`
	PriceCents  int64     `json:"price_cents"`
	Currency    string    `json:"currency"`
	At          time.Time `json:"at"`
}

// OrderEvent is the payload of order.created, order.paid and
// order.refunded.
type OrderEvent struct {
	OrderID    uuid.UUID       `json:"order_id"`
	BuyerID    uuid.UUID       `json:"buyer_id"`
	Status     string          `json:"status"`
	TotalCents int64           `json:"total_cents"`
	Currency   string          `json:"currency"`
	Items      []OrderEventRow `json:"items"`
	At         time.Time       `json:"at"`
}

// OrderEventRow is one item of an OrderEvent.
type OrderEventRow struct {
	ProductID   uuid.UUID `json:"product_id"`
	SellerID    uuid.UUID `json:"seller_id"`
	TrackID     uuid.UUID `json:"track_id"`
	LicenseType string    `json:"license_type"`
	PriceCents  int64     `json:"price_cents"`
}

// LicenseEvent is the payload of license.issued.
type LicenseEvent struct {
	LicenseID   uuid.UUID `json:"license_id"`
	ProductID   uuid.UUID `json:"product_id"`
	OrderID     uuid.UUID `json:"order_id"`
	TrackID     uuid.UUID `json:"track_id"`
	BuyerID     uuid.UUID `json:"buyer_id"`
	SellerID    uuid.UUID `json:"seller_id"`
	LicenseType string    `json:"license_type"`
	At          time.Time `json:"at"`
}

func eventTypes() []app.EventType {
	product := uuid.MustParse("0192f0c1-7a3b-7cde-8f00-00000000a001")
	order := uuid.MustParse("0192f0c1-7a3b-7cde-8f00-00000000b001")
	seller := uuid.MustParse("0192f0c1-0000-7000-8000-00000000000a")
	buyer := uuid.MustParse("0192f0c1-0000-7000-8000-00000000000b")
	track := uuid.MustParse("0192f0c1-7a3b-7cde-8f00-1234567890ab")
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	row := OrderEventRow{ProductID: product, SellerID: seller, TrackID: track, LicenseType: "premium", PriceCents: 2900}
	ord := OrderEvent{OrderID: order, BuyerID: buyer, Status: "pending", TotalCents: 2900, Currency: "EUR", Items: []OrderEventRow{row}, At: at}
	paid, refunded := ord, ord
	paid.Status, refunded.Status = "paid", "refunded"
	return []app.EventType{
		{Type: EventProductCreated, Description: "a seller put a licence to one of their tracks on sale (audience: the seller)",
			Example: ProductEvent{ProductID: product, SellerID: seller, TrackID: track, Title: "Night Drive (premium)", LicenseType: "premium",
				PriceCents: 2900, Currency: "EUR", At: at}},
		{Type: EventOrderCreated, Description: "a buyer placed an order, waiting for its payment (audience: the buyer)", Example: ord},
		{Type: EventOrderPaid, Description: "an order's payment was captured; its licences are issued (audience: the buyer and the sellers)", Example: paid},
		{Type: EventOrderRefunded, Description: "an order was refunded; its licences are revoked (audience: the buyer and the sellers)", Example: refunded},
		{Type: EventLicenseIssued, Description: "a licence was issued to a buyer (audience: the buyer and the seller)",
			Example: LicenseEvent{LicenseID: uuid.MustParse("0192f0c1-7a3b-7cde-8f00-00000000c001"), ProductID: product, OrderID: order,
				TrackID: track, BuyerID: buyer, SellerID: seller, LicenseType: "premium", At: at}},
	}
}
