package marketplace

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/marketplace/payments"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/httpx"
)

// RequestRefund asks for the refund of a paid order, within the refund
// window of its payment. The order is refund_pending until the provider
// confirms; its licences stay valid until then.
func (s *Service) RequestRefund(ctx context.Context, caller *authn.Principal, id uuid.UUID) (*order, error) {
	var o *order
	var r *refund
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		o, err = s.store.order(ctx, tx, id, true)
		if isNotFound(err) || (err == nil && o.BuyerID != caller.UserID) {
			return orderNotFound
		}
		if err != nil {
			return err
		}
		if err := s.refundable(o); err != nil {
			return err
		}
		if err := s.store.setStatus(ctx, tx, o, statusRefundPending, o.PaymentStatus); err != nil {
			return err
		}
		r = &refund{ID: uuid.Must(uuid.NewV7()), OrderID: o.ID, AmountCents: o.TotalCents, Currency: o.Currency, Reason: "requested"}
		return s.store.insertRefund(ctx, tx, r)
	})
	if err != nil {
		return nil, err
	}
	p, err := s.provider(o.Provider)
	if err == nil {
		err = s.sendRefund(ctx, p, o, r)
	}
	if err != nil {
		// The refund is recorded: the reconciliation sends it again.
		s.log.Warn("a refund waits for the provider", zap.Stringer("order_id", o.ID), zap.Error(err))
	}
	return o, nil
}

// refundable refuses a refund of an order that is not paid, or paid too
// long ago.
func (s *Service) refundable(o *order) error {
	if o.Status != statusPaid {
		return httpx.Conflict("not_refundable", "only a paid order can be refunded; this one is "+o.Status)
	}
	if o.PaidAt != nil && s.now().After(o.PaidAt.Add(s.settings.RefundWindow)) {
		return httpx.Conflict("refund_window_closed", "refunds are taken within "+days(s.settings.RefundWindow)+" of payment")
	}
	return nil
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day"
		}
		return strconv.Itoa(n) + " days"
	}
	return d.String()
}

// sendRefund asks the provider for a recorded refund; the key is the
// refund's id, so a resend refunds once.
func (s *Service) sendRefund(ctx context.Context, p payments.Provider, o *order, r *refund) error {
	rf, err := p.Refund(ctx, payments.RefundRequest{PaymentID: *o.PaymentID, AmountCents: r.AmountCents, Currency: r.Currency,
		Reason: r.Reason, IdempotencyKey: "refund-" + r.ID.String()})
	if errors.Is(err, payments.ErrRefused) {
		s.log.Error("the provider refused a refund; settle it by hand", zap.Stringer("order_id", o.ID), zap.Stringer("refund_id", r.ID), zap.Error(err))
		return s.settleRefund(ctx, o.ID, payments.RefundFailed)
	}
	if err != nil {
		return err
	}
	return s.store.setProviderRefund(ctx, r.ID, rf.ID)
}

// settleRefund applies a refund's outcome to order id: a success revokes
// the licences, puts the exclusive licences back on sale and reverses the
// sale in the ledger; a failure makes the order paid again.
func (s *Service) settleRefund(ctx context.Context, id uuid.UUID, st payments.RefundStatus) error {
	if st == payments.RefundPending {
		return nil
	}
	return db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		o, err := s.store.order(ctx, tx, id, true)
		if err != nil {
			return err
		}
		r, err := s.store.pendingRefund(ctx, tx, o.ID)
		if isNotFound(err) {
			return nil // settled already: a replay
		}
		if err != nil {
			return err
		}
		if err := s.store.settleRefund(ctx, tx, r.ID, string(st)); err != nil {
			return err
		}
		if o.Status != statusRefundPending {
			return nil // an unfulfillable order's refund: nothing was sold
		}
		if st == payments.RefundFailed {
			return s.store.setStatus(ctx, tx, o, statusPaid, o.PaymentStatus)
		}
		return s.markRefunded(ctx, tx, o)
	})
}

func (s *Service) markRefunded(ctx context.Context, tx *sqlx.Tx, o *order) error {
	if err := s.store.setStatus(ctx, tx, o, statusRefunded, o.PaymentStatus); err != nil {
		return err
	}
	if err := s.store.revokeLicenses(ctx, tx, o.ID); err != nil {
		return err
	}
	if err := s.store.releaseExclusive(ctx, tx, o.ID); err != nil {
		return err
	}
	if err := s.reverseSale(ctx, tx, o.ID); err != nil {
		return err
	}
	return s.publish(ctx, tx, EventOrderRefunded, orderEvent(o, *o.RefundedAt), audience(o)...)
}
