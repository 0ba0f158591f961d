package marketplace

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/veza/veza/platform/page"
)

// errNotFound is a store's "no such row".
var errNotFound = errors.New("not found")

// store is the module's SQL, one method per statement.
type store struct{ db *sqlx.DB }

func newStore(pool *sqlx.DB) *store { return &store{db: pool} }

// product is a row of marketplace_products.
type product struct {
	ID          uuid.UUID  `db:"id"`
	SellerID    uuid.UUID  `db:"seller_id"`
	TrackID     uuid.UUID  `db:"track_id"`
	Title       string     `db:"title"`
	LicenseType string     `db:"license_type"`
	PriceCents  int64      `db:"price_cents"`
	Currency    string     `db:"currency"`
	SoldOrderID *uuid.UUID `db:"sold_order_id"`
	DeletedAt   *time.Time `db:"deleted_at"`
	CreatedAt   time.Time  `db:"created_at"`
	UpdatedAt   time.Time  `db:"updated_at"`
}

const productColumns = `id, seller_id, track_id, title, license_type, price_cents, currency, sold_order_id, deleted_at, created_at, updated_at`

func one[T any](ctx context.Context, q sqlx.QueryerContext, what string, query string, args ...any) (*T, error) {
	var v T
	err := sqlx.GetContext(ctx, q, &v, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", what, err)
	}
	return &v, nil
}

func (s *store) insertProduct(ctx context.Context, q sqlx.ExtContext, p *product) error {
	err := sqlx.GetContext(ctx, q, p, `INSERT INTO marketplace_products (id, seller_id, track_id, title, license_type, price_cents, currency)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+productColumns,
		p.ID, p.SellerID, p.TrackID, p.Title, p.LicenseType, p.PriceCents, p.Currency)
	if err != nil {
		return fmt.Errorf("insert product: %w", err)
	}
	return nil
}

// product loads a live (not deleted) product.
func (s *store) product(ctx context.Context, q sqlx.QueryerContext, id uuid.UUID) (*product, error) {
	return one[product](ctx, q, "product", `SELECT `+productColumns+` FROM marketplace_products WHERE id = $1 AND deleted_at IS NULL`, id)
}

func (s *store) updateProduct(ctx context.Context, q sqlx.ExtContext, p *product) error {
	err := sqlx.GetContext(ctx, q, p, `UPDATE marketplace_products SET title = $2, price_cents = $3, currency = $4, updated_at = now()
		WHERE id = $1 AND deleted_at IS NULL RETURNING `+productColumns, p.ID, p.Title, p.PriceCents, p.Currency)
	if errors.Is(err, sql.ErrNoRows) {
		return errNotFound
	}
	if err != nil {
		return fmt.Errorf("update product %s: %w", p.ID, err)
	}
	return nil
}

func (s *store) deleteProduct(ctx context.Context, id uuid.UUID) error {
	_, err := s.db.ExecContext(ctx, `UPDATE marketplace_products SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL`, id)
	if err != nil {
		return fmt.Errorf("delete product %s: %w", id, err)
	}
	return nil
}

// deleteTrackProducts withdraws the products of a deleted track.
func (s *store) deleteTrackProducts(ctx context.Context, track uuid.UUID) (int64, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE marketplace_products SET deleted_at = now(), updated_at = now() WHERE track_id = $1 AND deleted_at IS NULL`, track)
	if err != nil {
		return 0, fmt.Errorf("withdraw the products of track %s: %w", track, err)
	}
	return res.RowsAffected()
}

// productFilter narrows GET /products.
type productFilter struct {
	Query       string
	LicenseType string
	SellerID    *uuid.UUID
	Sort        string // new, price_asc, price_desc
}

// productCursor is the sort key of the last product of a page.
type productCursor struct {
	Price int64     `json:"p,omitempty"`
	At    time.Time `json:"t"`
	ID    uuid.UUID `json:"i"`
}

// listProducts returns products on sale, in the filter's order, strictly
// after the cursor. The query is built from fixed fragments; every value
// is a parameter.
func (s *store) listProducts(ctx context.Context, f productFilter, after *productCursor, limit int) ([]product, error) {
	where := []string{"deleted_at IS NULL", "sold_order_id IS NULL"}
	args := []any{}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Query != "" {
		where = append(where, "title ILIKE "+arg("%"+likeEscape(f.Query)+"%"))
	}
	if f.LicenseType != "" {
		where = append(where, "license_type = "+arg(f.LicenseType))
	}
	if f.SellerID != nil {
		where = append(where, "seller_id = "+arg(*f.SellerID))
	}
	order := "created_at DESC, id DESC"
	switch f.Sort {
	case "price_asc":
		order = "price_cents ASC, id ASC"
		if after != nil {
			where = append(where, fmt.Sprintf("(price_cents, id) > (%s, %s)", arg(after.Price), arg(after.ID)))
		}
	case "price_desc":
		order = "price_cents DESC, id DESC"
		if after != nil {
			where = append(where, fmt.Sprintf("(price_cents, id) < (%s, %s)", arg(after.Price), arg(after.ID)))
		}
	default:
		if after != nil {
			where = append(where, fmt.Sprintf("(created_at, id) < (%s, %s)", arg(after.At), arg(after.ID)))
		}
	}
	query := `SELECT ` + productColumns + ` FROM marketplace_products WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + order + ` LIMIT ` + arg(limit)
	var out []product
	if err := s.db.SelectContext(ctx, &out, query, args...); err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	return out, nil
}

// likeEscape makes s match itself in a LIKE pattern.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// productsForOrder loads the live products of ids, locked against a
// concurrent change of price or deletion while the order is written.
func (s *store) productsForOrder(ctx context.Context, tx *sqlx.Tx, ids []uuid.UUID) ([]product, error) {
	var out []product
	err := tx.SelectContext(ctx, &out, `SELECT `+productColumns+` FROM marketplace_products
		WHERE id = ANY($1) AND deleted_at IS NULL ORDER BY id FOR SHARE`, pq.Array(ids))
	if err != nil {
		return nil, fmt.Errorf("load the products of an order: %w", err)
	}
	return out, nil
}

// licensed returns those of products that buyer holds an active licence to.
func (s *store) licensed(ctx context.Context, q sqlx.QueryerContext, buyer uuid.UUID, products []uuid.UUID) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := sqlx.SelectContext(ctx, q, &out, `SELECT product_id FROM marketplace_licenses
		WHERE buyer_id = $1 AND product_id = ANY($2) AND status = 'active'`, buyer, pq.Array(products))
	if err != nil {
		return nil, fmt.Errorf("read licences of %s: %w", buyer, err)
	}
	return out, nil
}

// claimExclusive gives an exclusive product to order unless another order
// holds it: a conditional update, atomic under the row's lock, so two
// orders racing for one licence cannot both win.
func (s *store) claimExclusive(ctx context.Context, tx *sqlx.Tx, product, order uuid.UUID) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE marketplace_products SET sold_order_id = $2, updated_at = now()
		WHERE id = $1 AND (sold_order_id IS NULL OR sold_order_id = $2)`, product, order)
	if err != nil {
		return false, fmt.Errorf("claim product %s for order %s: %w", product, order, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// releaseExclusive puts back on sale what order held.
func (s *store) releaseExclusive(ctx context.Context, tx *sqlx.Tx, order uuid.UUID) error {
	_, err := tx.ExecContext(ctx, `UPDATE marketplace_products SET sold_order_id = NULL, updated_at = now() WHERE sold_order_id = $1`, order)
	if err != nil {
		return fmt.Errorf("release the products of order %s: %w", order, err)
	}
	return nil
}

// order is a row of marketplace_orders, with its items.
type order struct {
	ID            uuid.UUID  `db:"id"`
	BuyerID       uuid.UUID  `db:"buyer_id"`
	Status        string     `db:"status"`
	TotalCents    int64      `db:"total_cents"`
	Currency      string     `db:"currency"`
	Provider      string     `db:"provider"`
	PaymentID     *string    `db:"payment_id"`
	PaymentStatus string     `db:"payment_status"`
	CheckoutURL   string     `db:"checkout_url"`
	CreatedAt     time.Time  `db:"created_at"`
	UpdatedAt     time.Time  `db:"updated_at"`
	PaidAt        *time.Time `db:"paid_at"`
	RefundedAt    *time.Time `db:"refunded_at"`
	Items         []item     `db:"-"`
}

// item is a row of marketplace_order_items.
type item struct {
	OrderID     uuid.UUID `db:"order_id"`
	ProductID   uuid.UUID `db:"product_id"`
	SellerID    uuid.UUID `db:"seller_id"`
	TrackID     uuid.UUID `db:"track_id"`
	Title       string    `db:"title"`
	LicenseType string    `db:"license_type"`
	PriceCents  int64     `db:"price_cents"`
}

const orderColumns = `id, buyer_id, status, total_cents, currency, provider, payment_id, payment_status, checkout_url,
	created_at, updated_at, paid_at, refunded_at`

func (s *store) insertOrder(ctx context.Context, tx *sqlx.Tx, o *order) error {
	err := tx.GetContext(ctx, o, `INSERT INTO marketplace_orders (id, buyer_id, total_cents, currency, provider)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+orderColumns, o.ID, o.BuyerID, o.TotalCents, o.Currency, o.Provider)
	if err != nil {
		return fmt.Errorf("insert order: %w", err)
	}
	for _, it := range o.Items {
		_, err := tx.ExecContext(ctx, `INSERT INTO marketplace_order_items (order_id, product_id, seller_id, track_id, title, license_type, price_cents)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, o.ID, it.ProductID, it.SellerID, it.TrackID, it.Title, it.LicenseType, it.PriceCents)
		if err != nil {
			return fmt.Errorf("insert an item of order %s: %w", o.ID, err)
		}
	}
	return nil
}

// order loads an order with its items; lock takes the row's lock, which
// every change of an order's status holds.
func (s *store) order(ctx context.Context, q sqlx.QueryerContext, id uuid.UUID, lock bool) (*order, error) {
	query := `SELECT ` + orderColumns + ` FROM marketplace_orders WHERE id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	o, err := one[order](ctx, q, "order", query, id)
	if err != nil {
		return nil, err
	}
	if err := s.items(ctx, q, []*order{o}); err != nil {
		return nil, err
	}
	return o, nil
}

// orderByPayment finds the order a provider's payment pays.
func (s *store) orderByPayment(ctx context.Context, provider, payment string) (uuid.UUID, error) {
	var id uuid.UUID
	err := s.db.GetContext(ctx, &id, `SELECT id FROM marketplace_orders WHERE provider = $1 AND payment_id = $2`, provider, payment)
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, errNotFound
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("find the order of payment %s: %w", payment, err)
	}
	return id, nil
}

// items fills in the items of orders.
func (s *store) items(ctx context.Context, q sqlx.QueryerContext, orders []*order) error {
	if len(orders) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(orders))
	byID := make(map[uuid.UUID]*order, len(orders))
	for i, o := range orders {
		ids[i], byID[o.ID] = o.ID, o
		o.Items = o.Items[:0]
	}
	var rows []item
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT order_id, product_id, seller_id, track_id, title, license_type, price_cents
		FROM marketplace_order_items WHERE order_id = ANY($1) ORDER BY order_id, title, product_id`, pq.Array(ids))
	if err != nil {
		return fmt.Errorf("load order items: %w", err)
	}
	for _, r := range rows {
		byID[r.OrderID].Items = append(byID[r.OrderID].Items, r)
	}
	return nil
}

// listOrders returns buyer's orders, newest first, after the cursor.
func (s *store) listOrders(ctx context.Context, buyer uuid.UUID, after *page.TimeID, limit int) ([]order, error) {
	var out []order
	var err error
	if after == nil {
		err = s.db.SelectContext(ctx, &out, `SELECT `+orderColumns+` FROM marketplace_orders WHERE buyer_id = $1
			ORDER BY created_at DESC, id DESC LIMIT $2`, buyer, limit)
	} else {
		err = s.db.SelectContext(ctx, &out, `SELECT `+orderColumns+` FROM marketplace_orders WHERE buyer_id = $1
			AND (created_at, id) < ($2, $3) ORDER BY created_at DESC, id DESC LIMIT $4`, buyer, after.At, after.ID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list orders of %s: %w", buyer, err)
	}
	ptrs := make([]*order, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return out, s.items(ctx, s.db, ptrs)
}

// setPayment records the provider's payment of an order.
func (s *store) setPayment(ctx context.Context, tx *sqlx.Tx, id uuid.UUID, paymentID, status, checkoutURL string) error {
	_, err := tx.ExecContext(ctx, `UPDATE marketplace_orders SET payment_id = $2, payment_status = $3, checkout_url = $4, updated_at = now()
		WHERE id = $1`, id, paymentID, status, checkoutURL)
	if err != nil {
		return fmt.Errorf("record the payment of order %s: %w", id, err)
	}
	return nil
}

// setStatus moves an order (whose row the caller has locked) to status
// and paymentStatus, stamping paid_at or refunded_at.
func (s *store) setStatus(ctx context.Context, tx *sqlx.Tx, o *order, status, paymentStatus string) error {
	err := tx.GetContext(ctx, o, `UPDATE marketplace_orders SET status = $2, payment_status = $3, updated_at = now(),
		paid_at = CASE WHEN $2 = 'paid' AND paid_at IS NULL THEN now() ELSE paid_at END,
		refunded_at = CASE WHEN $2 = 'refunded' THEN now() ELSE refunded_at END
		WHERE id = $1 RETURNING `+orderColumns, o.ID, status, paymentStatus)
	if err != nil {
		return fmt.Errorf("move order %s to %s: %w", o.ID, status, err)
	}
	return nil
}

// openOrders lists orders waiting on the provider for longer than age:
// payments never settled, refunds never confirmed.
func (s *store) openOrders(ctx context.Context, age time.Duration, limit int) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := s.db.SelectContext(ctx, &out, `SELECT id FROM marketplace_orders WHERE status IN ('pending', 'refund_pending')
		AND updated_at < now() - make_interval(secs => $1) ORDER BY updated_at LIMIT $2`, age.Seconds(), limit)
	if err != nil {
		return nil, fmt.Errorf("list open orders: %w", err)
	}
	return out, nil
}

// license is a row of marketplace_licenses.
type license struct {
	ID          uuid.UUID  `db:"id"`
	BuyerID     uuid.UUID  `db:"buyer_id"`
	ProductID   uuid.UUID  `db:"product_id"`
	OrderID     uuid.UUID  `db:"order_id"`
	SellerID    uuid.UUID  `db:"seller_id"`
	TrackID     uuid.UUID  `db:"track_id"`
	LicenseType string     `db:"license_type"`
	Status      string     `db:"status"`
	IssuedAt    time.Time  `db:"issued_at"`
	RevokedAt   *time.Time `db:"revoked_at"`
}

const licenseColumns = `id, buyer_id, product_id, order_id, seller_id, track_id, license_type, status, issued_at, revoked_at`

func (s *store) insertLicense(ctx context.Context, tx *sqlx.Tx, l *license) error {
	err := tx.GetContext(ctx, l, `INSERT INTO marketplace_licenses (id, buyer_id, product_id, order_id, seller_id, track_id, license_type)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+licenseColumns,
		l.ID, l.BuyerID, l.ProductID, l.OrderID, l.SellerID, l.TrackID, l.LicenseType)
	if err != nil {
		return fmt.Errorf("issue a licence of order %s: %w", l.OrderID, err)
	}
	return nil
}

func (s *store) revokeLicenses(ctx context.Context, tx *sqlx.Tx, order uuid.UUID) error {
	_, err := tx.ExecContext(ctx, `UPDATE marketplace_licenses SET status = 'revoked', revoked_at = now() WHERE order_id = $1 AND status = 'active'`, order)
	if err != nil {
		return fmt.Errorf("revoke the licences of order %s: %w", order, err)
	}
	return nil
}

// activeLicense returns buyer's active licence to product.
func (s *store) activeLicense(ctx context.Context, buyer, product uuid.UUID) (*license, error) {
	return one[license](ctx, s.db, "licence", `SELECT `+licenseColumns+` FROM marketplace_licenses
		WHERE buyer_id = $1 AND product_id = $2 AND status = 'active' ORDER BY issued_at DESC LIMIT 1`, buyer, product)
}

func (s *store) license(ctx context.Context, id uuid.UUID) (*license, error) {
	return one[license](ctx, s.db, "licence", `SELECT `+licenseColumns+` FROM marketplace_licenses WHERE id = $1`, id)
}

func (s *store) listLicenses(ctx context.Context, buyer uuid.UUID, after *page.TimeID, limit int) ([]license, error) {
	var out []license
	var err error
	if after == nil {
		err = s.db.SelectContext(ctx, &out, `SELECT `+licenseColumns+` FROM marketplace_licenses WHERE buyer_id = $1
			ORDER BY issued_at DESC, id DESC LIMIT $2`, buyer, limit)
	} else {
		err = s.db.SelectContext(ctx, &out, `SELECT `+licenseColumns+` FROM marketplace_licenses WHERE buyer_id = $1
			AND (issued_at, id) < ($2, $3) ORDER BY issued_at DESC, id DESC LIMIT $4`, buyer, after.At, after.ID, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("list licences of %s: %w", buyer, err)
	}
	return out, nil
}

// refund is a row of marketplace_refunds.
type refund struct {
	ID               uuid.UUID `db:"id"`
	OrderID          uuid.UUID `db:"order_id"`
	AmountCents      int64     `db:"amount_cents"`
	Currency         string    `db:"currency"`
	Status           string    `db:"status"`
	Reason           string    `db:"reason"`
	ProviderRefundID *string   `db:"provider_refund_id"`
	CreatedAt        time.Time `db:"created_at"`
}

const refundColumns = `id, order_id, amount_cents, currency, status, reason, provider_refund_id, created_at`

func (s *store) insertRefund(ctx context.Context, tx *sqlx.Tx, r *refund) error {
	err := tx.GetContext(ctx, r, `INSERT INTO marketplace_refunds (id, order_id, amount_cents, currency, reason)
		VALUES ($1, $2, $3, $4, $5) RETURNING `+refundColumns, r.ID, r.OrderID, r.AmountCents, r.Currency, r.Reason)
	if err != nil {
		return fmt.Errorf("insert a refund of order %s: %w", r.OrderID, err)
	}
	return nil
}

// pendingRefund returns the refund of order waiting for the provider.
func (s *store) pendingRefund(ctx context.Context, q sqlx.QueryerContext, order uuid.UUID) (*refund, error) {
	return one[refund](ctx, q, "refund", `SELECT `+refundColumns+` FROM marketplace_refunds WHERE order_id = $1 AND status = 'pending'`, order)
}

func (s *store) hasRefund(ctx context.Context, tx *sqlx.Tx, order uuid.UUID, reason string) (bool, error) {
	var n int
	err := tx.GetContext(ctx, &n, `SELECT count(*) FROM marketplace_refunds WHERE order_id = $1 AND reason = $2 AND status <> 'failed'`, order, reason)
	if err != nil {
		return false, fmt.Errorf("look for refunds of order %s: %w", order, err)
	}
	return n > 0, nil
}

func (s *store) setProviderRefund(ctx context.Context, id uuid.UUID, providerID string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE marketplace_refunds SET provider_refund_id = $2, updated_at = now()
		WHERE id = $1 AND provider_refund_id IS NULL`, id, providerID)
	if err != nil {
		return fmt.Errorf("record the provider's refund %s: %w", id, err)
	}
	return nil
}

func (s *store) settleRefund(ctx context.Context, tx *sqlx.Tx, id uuid.UUID, status string) error {
	_, err := tx.ExecContext(ctx, `UPDATE marketplace_refunds SET status = $2, updated_at = now() WHERE id = $1`, id, status)
	if err != nil {
		return fmt.Errorf("settle refund %s: %w", id, err)
	}
	return nil
}

// unsentRefunds lists the pending refunds of orders that could not be
// fulfilled, older than age, sent to the provider or not: the
// reconciliation sends or settles them.
func (s *store) unsentRefunds(ctx context.Context, age time.Duration, limit int) ([]refund, error) {
	var out []refund
	err := s.db.SelectContext(ctx, &out, `SELECT `+refundColumns+` FROM marketplace_refunds WHERE status = 'pending'
		AND reason = 'unfulfillable' AND updated_at < now() - make_interval(secs => $1) ORDER BY updated_at LIMIT $2`, age.Seconds(), limit)
	if err != nil {
		return nil, fmt.Errorf("list unsent refunds: %w", err)
	}
	return out, nil
}

// entry is a row of marketplace_ledger_entries.
type entry struct {
	Account     string `db:"account"`
	Currency    string `db:"currency"`
	AmountCents int64  `db:"amount_cents"`
}

// postJournal writes one journal; the database refuses to commit it
// unless its entries sum to zero.
func (s *store) postJournal(ctx context.Context, tx *sqlx.Tx, order uuid.UUID, kind string, entries []entry) error {
	journal := uuid.Must(uuid.NewV7())
	for _, e := range entries {
		_, err := tx.ExecContext(ctx, `INSERT INTO marketplace_ledger_entries (journal_id, order_id, kind, account, currency, amount_cents)
			VALUES ($1, $2, $3, $4, $5, $6)`, journal, order, kind, e.Account, e.Currency, e.AmountCents)
		if err != nil {
			return fmt.Errorf("post the %s of order %s: %w", kind, order, err)
		}
	}
	return nil
}

// journalOf returns the entries of an order's journal of kind.
func (s *store) journalOf(ctx context.Context, tx *sqlx.Tx, order uuid.UUID, kind string) ([]entry, error) {
	var out []entry
	err := tx.SelectContext(ctx, &out, `SELECT account, currency, amount_cents FROM marketplace_ledger_entries
		WHERE order_id = $1 AND kind = $2 ORDER BY id`, order, kind)
	if err != nil {
		return nil, fmt.Errorf("read the %s of order %s: %w", kind, order, err)
	}
	return out, nil
}

// balance is one currency of an account.
type balance struct {
	Currency    string `db:"currency"`
	AmountCents int64  `db:"amount_cents"`
}

func (s *store) balances(ctx context.Context, account string) ([]balance, error) {
	var out []balance
	err := s.db.SelectContext(ctx, &out, `SELECT currency, sum(amount_cents)::bigint AS amount_cents FROM marketplace_ledger_entries
		WHERE account = $1 GROUP BY currency ORDER BY currency`, account)
	if err != nil {
		return nil, fmt.Errorf("read the balance of %s: %w", account, err)
	}
	return out, nil
}

// seenEvent reports whether a provider's webhook was handled already.
func (s *store) seenEvent(ctx context.Context, provider, id string) (bool, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM marketplace_webhook_events WHERE provider = $1 AND event_id = $2`, provider, id)
	if err != nil {
		return false, fmt.Errorf("look up webhook %s: %w", id, err)
	}
	return n > 0, nil
}

func (s *store) recordEvent(ctx context.Context, provider, id string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO marketplace_webhook_events (provider, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, provider, id)
	if err != nil {
		return fmt.Errorf("record webhook %s: %w", id, err)
	}
	return nil
}

// tidy deletes idempotency keys past ttl and webhook records past keep.
func (s *store) tidy(ctx context.Context, ttl, keep time.Duration) (int64, error) {
	a, err := s.db.ExecContext(ctx, `DELETE FROM marketplace_idempotency_keys WHERE created_at < now() - make_interval(secs => $1)`, ttl.Seconds())
	if err != nil {
		return 0, fmt.Errorf("delete old idempotency keys: %w", err)
	}
	b, err := s.db.ExecContext(ctx, `DELETE FROM marketplace_webhook_events WHERE received_at < now() - make_interval(secs => $1)`, keep.Seconds())
	if err != nil {
		return 0, fmt.Errorf("delete old webhook records: %w", err)
	}
	n, _ := a.RowsAffected()
	m, _ := b.RowsAffected()
	return n + m, nil
}
