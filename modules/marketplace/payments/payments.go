// Package payments is what the marketplace asks of a payment provider, as
// one interface, Provider, and the Hyperswitch adapter. The marketplace's
// own test provider (a checkout page served by the module) implements the
// same interface in package marketplace.
//
// Every payment is authorised first and captured by the marketplace once it
// has secured what the order sells (an exclusive licence sells once): the
// buyer who loses a race for an exclusive licence has an authorisation
// voided, never a charge refunded. Providers tell what happened through
// signed webhooks; VerifyWebhook turns one into an Event.
package payments

import (
	"context"
	"errors"
	"net/http"

	"github.com/google/uuid"
)

// Status is a payment's state at the provider.
type Status string

// The payment states, whatever the provider calls them.
const (
	// RequiresPayment: created, waiting for the buyer.
	RequiresPayment Status = "requires_payment"
	// Authorized: the buyer paid; the money is held until captured.
	Authorized Status = "authorized"
	// Succeeded: captured; the money is ours.
	Succeeded Status = "succeeded"
	// Failed: declined, or the capture failed.
	Failed Status = "failed"
	// Cancelled: voided before capture; the buyer is not charged.
	Cancelled Status = "cancelled"
)

// RefundStatus is a refund's state at the provider.
type RefundStatus string

// The refund states.
const (
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// PaymentRequest asks for a payment of an order's total.
type PaymentRequest struct {
	OrderID     uuid.UUID
	AmountCents int64
	Currency    string
	Description string
	// IdempotencyKey makes a retried request (a timeout, a resumed order)
	// return the payment the first one made.
	IdempotencyKey string
	// ReturnURL is where the provider's checkout sends the buyer back.
	ReturnURL string
}

// Payment is a payment as the provider reports it.
type Payment struct {
	ID     string
	Status Status
	// CheckoutURL is the page where the buyer pays; empty once they have.
	CheckoutURL string
}

// RefundRequest asks to give a captured payment back.
type RefundRequest struct {
	PaymentID      string
	AmountCents    int64
	Currency       string
	Reason         string
	IdempotencyKey string
}

// Refund is a refund as the provider reports it.
type Refund struct {
	ID     string
	Status RefundStatus
}

// EventKind says what an Event is about.
type EventKind string

// The kinds of events.
const (
	PaymentEvent EventKind = "payment"
	RefundEvent  EventKind = "refund"
	// OtherEvent is anything the marketplace does not act on (disputes,
	// mandates): acknowledged and ignored.
	OtherEvent EventKind = "other"
)

// Event is one verified webhook. A provider may send it twice and in any
// order: the marketplace acts on states, never on the arrival of an event.
type Event struct {
	// ID is the provider's id of the event, unique per provider.
	ID        string
	Kind      EventKind
	PaymentID string
	Status    Status
	// RefundID and RefundStatus are set for refund events.
	RefundID     string
	RefundStatus RefundStatus
}

// Provider is a payment provider. Its methods do network I/O: call them
// outside database transactions. The write methods take an idempotency key,
// so that a retry after a timeout does not pay, capture or refund twice.
type Provider interface {
	// Name is the provider's name in URLs and rows ("test", "hyperswitch").
	Name() string
	// CreatePayment asks for a payment to authorise (manual capture).
	CreatePayment(ctx context.Context, r PaymentRequest) (Payment, error)
	// Payment reads a payment's current state (reconciliation).
	Payment(ctx context.Context, id string) (Payment, error)
	// Capture takes the authorised amount.
	Capture(ctx context.Context, id string, amountCents int64, idempotencyKey string) (Payment, error)
	// Cancel voids an authorisation or a payment not yet made.
	Cancel(ctx context.Context, id string, idempotencyKey string) (Payment, error)
	// Refund gives a captured payment back; it completes later, told by a
	// webhook.
	Refund(ctx context.Context, r RefundRequest) (Refund, error)
	// RefundStatus reads a refund's current state (reconciliation).
	RefundStatus(ctx context.Context, id string) (Refund, error)
	// VerifyWebhook checks a webhook's signature against its raw body and
	// reads it. A missing or wrong signature is ErrBadSignature.
	VerifyWebhook(header http.Header, body []byte) (Event, error)
}

// Errors of providers, for errors.Is.
var (
	// ErrBadSignature: the webhook is not the provider's (401).
	ErrBadSignature = errors.New("payments: bad webhook signature")
	// ErrUnavailable: the provider did not answer, or failed (503; retry).
	ErrUnavailable = errors.New("payments: provider unavailable")
	// ErrRefused: the provider refused the request for good (a payment
	// already refunded, an amount it will not take).
	ErrRefused = errors.New("payments: refused by the provider")
	// ErrNotFound: the provider has no such payment or refund.
	ErrNotFound = errors.New("payments: no such payment")
)
