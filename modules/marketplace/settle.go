package marketplace

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/marketplace/payments"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/httpx"
)

// The order states (API.md): pending until the payment settles; paid,
// failed (declined) or cancelled (expired, or an exclusive licence lost to
// another buyer); refund_pending until the provider confirms; refunded.
const (
	statusPending       = "pending"
	statusPaid          = "paid"
	statusFailed        = "failed"
	statusCancelled     = "cancelled"
	statusRefundPending = "refund_pending"
	statusRefunded      = "refunded"
)

// action is what a transition leaves to do with the provider, after its
// transaction has committed.
type action int

const (
	doNothing action = iota
	doCapture        // the order is secured: take the money
	doCancel         // the order cannot be fulfilled: void the authorisation
	doRefund         // the money was taken for an order that cannot be fulfilled
)

// followUp is a transition's action, with what it needs.
type followUp struct {
	do     action
	order  *order
	refund *refund
}

// Webhook verifies and applies a provider's webhook. A bad signature is
// 401 and changes nothing; an event already handled, or one that arrives
// after a later state, changes nothing either.
func (s *Service) Webhook(ctx context.Context, name string, header http.Header, body []byte) error {
	p, ok := s.providers[name]
	if !ok {
		return httpx.NotFound("no payment provider " + name + " here")
	}
	ev, err := p.VerifyWebhook(header, body)
	if errors.Is(err, payments.ErrBadSignature) {
		return httpx.Unauthorized("bad_signature", "the webhook's signature does not verify")
	}
	if err != nil {
		return httpx.BadRequest("malformed_webhook", "the webhook's body could not be read")
	}
	if seen, err := s.store.seenEvent(ctx, name, ev.ID); err != nil || seen {
		return err
	}
	if err := s.apply(ctx, p, ev); err != nil {
		return err
	}
	return s.store.recordEvent(ctx, name, ev.ID)
}

// apply moves the order a verified event is about.
func (s *Service) apply(ctx context.Context, p payments.Provider, ev payments.Event) error {
	if ev.Kind == payments.OtherEvent {
		return nil
	}
	id, err := s.store.orderByPayment(ctx, p.Name(), ev.PaymentID)
	if isNotFound(err) {
		// Not one of ours (a payment made from the provider's dashboard):
		// acknowledged, or the provider would retry it for a day.
		s.log.Warn("a webhook about a payment no order has", zap.String("provider", p.Name()), zap.String("payment_id", ev.PaymentID))
		return nil
	}
	if err != nil {
		return err
	}
	if ev.Kind == payments.RefundEvent {
		return s.settleRefund(ctx, id, ev.RefundStatus)
	}
	return s.settlePayment(ctx, p, id, ev.Status)
}

// settlePayment moves order id to what its payment's status st implies,
// under the order's lock, then does what the transition leaves to do with
// the provider.
func (s *Service) settlePayment(ctx context.Context, p payments.Provider, id uuid.UUID, st payments.Status) error {
	var next followUp
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		o, err := s.store.order(ctx, tx, id, true)
		if err != nil {
			return err
		}
		next, err = s.transition(ctx, tx, o, st)
		return err
	})
	if err != nil {
		return err
	}
	return s.follow(ctx, p, next)
}

// transition applies payment status st to o. Each case acts only from the
// states it expects, so a replay or a late event finds nothing to do.
func (s *Service) transition(ctx context.Context, tx *sqlx.Tx, o *order, st payments.Status) (followUp, error) {
	switch st {
	case payments.Authorized:
		return s.onAuthorized(ctx, tx, o)
	case payments.Succeeded:
		return s.onSucceeded(ctx, tx, o)
	case payments.Failed, payments.Cancelled:
		return followUp{}, s.onFailed(ctx, tx, o, st)
	}
	return followUp{}, nil
}

// onAuthorized secures the order's exclusive licences, then asks for the
// capture; an order that lost one, or is dead already, has its
// authorisation voided: its buyer is never charged.
func (s *Service) onAuthorized(ctx context.Context, tx *sqlx.Tx, o *order) (followUp, error) {
	authorisable := o.PaymentStatus == string(payments.RequiresPayment) || o.PaymentStatus == string(payments.Authorized)
	switch {
	case !authorisable:
		return followUp{}, nil
	case o.Status == statusCancelled || o.Status == statusFailed:
		return followUp{do: doCancel, order: o}, s.store.setStatus(ctx, tx, o, o.Status, string(payments.Authorized))
	case o.Status != statusPending:
		return followUp{}, nil
	}
	won, err := s.claim(ctx, tx, o)
	if err != nil {
		return followUp{}, err
	}
	if !won {
		return followUp{do: doCancel, order: o}, s.store.setStatus(ctx, tx, o, statusCancelled, string(payments.Authorized))
	}
	return followUp{do: doCapture, order: o}, s.store.setStatus(ctx, tx, o, statusPending, string(payments.Authorized))
}

// onSucceeded makes the order paid: licences, ledger, events. Money taken
// for an order that cannot be fulfilled (an exclusive licence sold to
// another meanwhile, an order already expired) goes back.
func (s *Service) onSucceeded(ctx context.Context, tx *sqlx.Tx, o *order) (followUp, error) {
	switch o.Status {
	case statusPending:
		won, err := s.claim(ctx, tx, o)
		if err != nil {
			return followUp{}, err
		}
		if won {
			return followUp{}, s.markPaid(ctx, tx, o)
		}
		if err := s.store.setStatus(ctx, tx, o, statusCancelled, string(payments.Succeeded)); err != nil {
			return followUp{}, err
		}
		return s.refundUnfulfillable(ctx, tx, o)
	case statusCancelled, statusFailed:
		if err := s.store.setStatus(ctx, tx, o, o.Status, string(payments.Succeeded)); err != nil {
			return followUp{}, err
		}
		return s.refundUnfulfillable(ctx, tx, o)
	}
	return followUp{}, nil
}

// refundUnfulfillable records, once, the refund of a dead order's capture.
func (s *Service) refundUnfulfillable(ctx context.Context, tx *sqlx.Tx, o *order) (followUp, error) {
	if has, err := s.store.hasRefund(ctx, tx, o.ID, "unfulfillable"); err != nil || has {
		return followUp{}, err
	}
	r := &refund{ID: uuid.Must(uuid.NewV7()), OrderID: o.ID, AmountCents: o.TotalCents, Currency: o.Currency, Reason: "unfulfillable"}
	if err := s.store.insertRefund(ctx, tx, r); err != nil {
		return followUp{}, err
	}
	s.log.Warn("a payment was captured for an order that cannot be fulfilled; refunding it", zap.Stringer("order_id", o.ID))
	return followUp{do: doRefund, order: o, refund: r}, nil
}

// onFailed ends a pending order whose payment was declined or voided, and
// puts back on sale what it held. A paid order never goes back.
func (s *Service) onFailed(ctx context.Context, tx *sqlx.Tx, o *order, st payments.Status) error {
	switch o.Status {
	case statusPending:
		next := statusCancelled
		if st == payments.Failed {
			next = statusFailed
		}
		if err := s.store.setStatus(ctx, tx, o, next, string(st)); err != nil {
			return err
		}
		return s.store.releaseExclusive(ctx, tx, o.ID)
	case statusCancelled, statusFailed:
		if o.PaymentStatus != string(payments.Succeeded) && o.PaymentStatus != string(st) {
			return s.store.setStatus(ctx, tx, o, o.Status, string(st)) // what the provider says, for the record
		}
	}
	return nil
}

// claim gives the order each exclusive product it sells, or reports that
// another order holds one (the others it took are put back).
func (s *Service) claim(ctx context.Context, tx *sqlx.Tx, o *order) (bool, error) {
	for _, it := range o.Items {
		if it.LicenseType != "exclusive" {
			continue
		}
		won, err := s.store.claimExclusive(ctx, tx, it.ProductID, o.ID)
		if err != nil {
			return false, err
		}
		if !won {
			return false, s.store.releaseExclusive(ctx, tx, o.ID)
		}
	}
	return true, nil
}

// markPaid makes o paid: its licences, the sale's journal and the events.
func (s *Service) markPaid(ctx context.Context, tx *sqlx.Tx, o *order) error {
	if err := s.store.setStatus(ctx, tx, o, statusPaid, string(payments.Succeeded)); err != nil {
		return err
	}
	for _, it := range o.Items {
		l := &license{ID: uuid.Must(uuid.NewV7()), BuyerID: o.BuyerID, ProductID: it.ProductID, OrderID: o.ID,
			SellerID: it.SellerID, TrackID: it.TrackID, LicenseType: it.LicenseType}
		if err := s.store.insertLicense(ctx, tx, l); err != nil {
			return err
		}
		err := s.publish(ctx, tx, EventLicenseIssued, LicenseEvent{LicenseID: l.ID, ProductID: l.ProductID, OrderID: o.ID,
			TrackID: l.TrackID, BuyerID: l.BuyerID, SellerID: l.SellerID, LicenseType: l.LicenseType, At: l.IssuedAt.UTC()}, l.BuyerID, l.SellerID)
		if err != nil {
			return err
		}
	}
	if err := s.store.postJournal(ctx, tx, o.ID, "sale", s.saleEntries(o)); err != nil {
		return err
	}
	return s.publish(ctx, tx, EventOrderPaid, orderEvent(o, *o.PaidAt), audience(o)...)
}

// follow does, with the provider and outside any transaction, what a
// transition left to do. An error is returned to the webhook's sender (or
// the reconciliation), which tries again: every step is idempotent.
func (s *Service) follow(ctx context.Context, p payments.Provider, next followUp) error {
	o := next.order
	var err error
	switch next.do {
	case doNothing:
		return nil
	case doCapture:
		_, err = p.Capture(ctx, *o.PaymentID, o.TotalCents, "capture-"+o.ID.String())
	case doCancel:
		_, err = p.Cancel(ctx, *o.PaymentID, "cancel-"+o.ID.String())
	case doRefund:
		err = s.sendRefund(ctx, p, o, next.refund)
	}
	if errors.Is(err, payments.ErrRefused) && next.do != doRefund {
		// The payment moved on (captured, voided, expired): the provider's
		// next webhook says where, and that is what the order follows.
		s.log.Warn("the provider refused a follow-up", zap.Stringer("order_id", o.ID), zap.Error(err))
		return nil
	}
	if err != nil {
		return providerError(fmt.Errorf("order %s: %w", o.ID, err))
	}
	return nil
}
