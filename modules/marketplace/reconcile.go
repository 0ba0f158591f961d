package marketplace

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/marketplace/payments"
)

// ReconcileJob settles the orders that have waited on their provider for
// longer than pending_expiry: it asks the provider where each payment or
// refund stands, and applies that as a webhook would; a payment the buyer
// never made is voided and its order cancelled. It is scheduled every
// reconcile_every; schedulers in several workers enqueue it once per slot.
const ReconcileJob = Name + ":reconcile"

// TidyJob deletes idempotency keys past idempotency_ttl and records of
// handled webhooks past webhookMemory.
const TidyJob = Name + ":tidy"

// webhookMemory is how long a handled webhook's id is kept: providers
// retry for a day at most.
const webhookMemory = 7 * 24 * time.Hour

// reconcileBatch bounds the orders of one run; the next run takes the rest.
const reconcileBatch = 200

func (s *Service) reconcile(ctx context.Context, _ *asynq.Task) error {
	ids, err := s.store.openOrders(ctx, s.settings.PendingExpiry, reconcileBatch)
	if err != nil {
		return err
	}
	failed := 0
	for _, id := range ids {
		if err := s.reconcileOrder(ctx, id); err != nil {
			failed++
			s.log.Warn("could not reconcile an order; the next run tries again", zap.Stringer("order_id", id), zap.Error(err))
		}
	}
	refunds, err := s.store.unsentRefunds(ctx, s.settings.PendingExpiry, reconcileBatch)
	if err != nil {
		return err
	}
	for _, r := range refunds {
		if err := s.resendRefund(ctx, r.OrderID); err != nil {
			failed++
			s.log.Warn("could not send a refund; the next run tries again", zap.Stringer("order_id", r.OrderID), zap.Error(err))
		}
	}
	if failed > 0 {
		s.log.Info("reconciliation left orders for the next run", zap.Int("orders", failed))
	}
	return nil
}

// reconcileOrder settles one open order from what its provider says.
func (s *Service) reconcileOrder(ctx context.Context, id uuid.UUID) error {
	o, err := s.store.order(ctx, s.db, id, false)
	if err != nil {
		return err
	}
	p, err := s.provider(o.Provider)
	if err != nil {
		return err
	}
	switch {
	case o.Status == statusRefundPending:
		return s.reconcileRefund(ctx, p, o)
	case o.Status != statusPending:
		return nil
	case o.PaymentID == nil:
		// The provider never took the payment: nothing can be paid.
		return s.settlePayment(ctx, p, o.ID, payments.Cancelled)
	}
	pay, err := p.Payment(ctx, *o.PaymentID)
	if err != nil {
		return err
	}
	if pay.Status == payments.RequiresPayment {
		// Expired: void it first, so that the buyer cannot pay it later.
		if pay, err = p.Cancel(ctx, *o.PaymentID, "expire-"+o.ID.String()); errors.Is(err, payments.ErrRefused) {
			pay, err = p.Payment(ctx, *o.PaymentID) // paid meanwhile: settle that instead
		}
		if err != nil {
			return err
		}
	}
	return s.settlePayment(ctx, p, o.ID, pay.Status)
}

// reconcileRefund sends a refund the provider never got, or reads the
// state of one it has.
func (s *Service) reconcileRefund(ctx context.Context, p payments.Provider, o *order) error {
	r, err := s.store.pendingRefund(ctx, s.db, o.ID)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.ProviderRefundID == nil {
		return s.sendRefund(ctx, p, o, r)
	}
	rf, err := p.RefundStatus(ctx, *r.ProviderRefundID)
	if err != nil {
		return err
	}
	return s.settleRefund(ctx, o.ID, rf.Status)
}

// resendRefund sends the pending refund of an order that cannot be
// fulfilled again.
func (s *Service) resendRefund(ctx context.Context, id uuid.UUID) error {
	o, err := s.store.order(ctx, s.db, id, false)
	if err != nil {
		return err
	}
	p, err := s.provider(o.Provider)
	if err != nil {
		return err
	}
	if err := s.reconcileRefund(ctx, p, o); err != nil {
		return fmt.Errorf("refund of order %s: %w", id, err)
	}
	return nil
}

func (s *Service) tidy(ctx context.Context, _ *asynq.Task) error {
	n, err := s.store.tidy(ctx, s.settings.IdempotencyTTL, webhookMemory)
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Info("deleted expired idempotency keys and webhook records", zap.Int64("rows", n))
	}
	return nil
}
