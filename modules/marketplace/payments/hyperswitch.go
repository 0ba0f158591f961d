package payments

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// HyperswitchConfig configures the Hyperswitch adapter.
type HyperswitchConfig struct {
	// BaseURL is the API's address (https://sandbox.hyperswitch.io).
	BaseURL string
	// APIKey authenticates every call (the api-key header).
	APIKey string
	// WebhookKey is the business profile's payment_response_hash_key, which
	// signs webhooks (x-webhook-signature-512).
	WebhookKey string
	// Timeout bounds one call.
	Timeout time.Duration
}

// Hyperswitch is the Provider of Hyperswitch (hyperswitch.io), over its
// HTTP API: payments with manual capture and a payment link as the
// checkout page, refunds, and webhooks signed with HMAC-SHA512.
type Hyperswitch struct {
	cfg    HyperswitchConfig
	client *http.Client
}

// NewHyperswitch returns the adapter; client nil: one with cfg.Timeout.
func NewHyperswitch(cfg HyperswitchConfig, client *http.Client) *Hyperswitch {
	if client == nil {
		client = &http.Client{Timeout: cfg.Timeout}
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Hyperswitch{cfg: cfg, client: client}
}

// Name is "hyperswitch".
func (h *Hyperswitch) Name() string { return "hyperswitch" }

// hsPayment is the part of Hyperswitch's payment object the adapter reads.
type hsPayment struct {
	PaymentID   string `json:"payment_id"`
	Status      string `json:"status"`
	PaymentLink *struct {
		Link string `json:"link"`
	} `json:"payment_link"`
}

type hsRefund struct {
	RefundID  string `json:"refund_id"`
	PaymentID string `json:"payment_id"`
	Status    string `json:"status"`
}

// CreatePayment creates a payment to capture by hand, with a payment link
// (Hyperswitch's hosted checkout page) as the checkout URL.
func (h *Hyperswitch) CreatePayment(ctx context.Context, r PaymentRequest) (Payment, error) {
	body := map[string]any{
		"amount": r.AmountCents, "currency": r.Currency, "capture_method": "manual", "confirm": false,
		"description": r.Description, "metadata": map[string]string{"order_id": r.OrderID.String()},
		"payment_link": true,
	}
	if r.ReturnURL != "" {
		body["return_url"] = r.ReturnURL
	}
	var p hsPayment
	if err := h.call(ctx, http.MethodPost, "/payments", r.IdempotencyKey, body, &p); err != nil {
		return Payment{}, fmt.Errorf("hyperswitch: create payment for order %s: %w", r.OrderID, err)
	}
	return p.payment(), nil
}

// Payment reads a payment.
func (h *Hyperswitch) Payment(ctx context.Context, id string) (Payment, error) {
	var p hsPayment
	if err := h.call(ctx, http.MethodGet, "/payments/"+url.PathEscape(id), "", nil, &p); err != nil {
		return Payment{}, fmt.Errorf("hyperswitch: read payment %s: %w", id, err)
	}
	return p.payment(), nil
}

// Capture captures amountCents of an authorised payment.
func (h *Hyperswitch) Capture(ctx context.Context, id string, amountCents int64, key string) (Payment, error) {
	var p hsPayment
	err := h.call(ctx, http.MethodPost, "/payments/"+url.PathEscape(id)+"/capture", key, map[string]any{"amount_to_capture": amountCents}, &p)
	if err != nil {
		return Payment{}, fmt.Errorf("hyperswitch: capture payment %s: %w", id, err)
	}
	return p.payment(), nil
}

// Cancel voids a payment not captured.
func (h *Hyperswitch) Cancel(ctx context.Context, id string, key string) (Payment, error) {
	var p hsPayment
	err := h.call(ctx, http.MethodPost, "/payments/"+url.PathEscape(id)+"/cancel", key,
		map[string]any{"cancellation_reason": "the order cannot be fulfilled"}, &p)
	if err != nil {
		return Payment{}, fmt.Errorf("hyperswitch: cancel payment %s: %w", id, err)
	}
	return p.payment(), nil
}

// Refund refunds a captured payment.
func (h *Hyperswitch) Refund(ctx context.Context, r RefundRequest) (Refund, error) {
	var rf hsRefund
	body := map[string]any{"payment_id": r.PaymentID, "amount": r.AmountCents, "reason": r.Reason, "refund_type": "instant"}
	if err := h.call(ctx, http.MethodPost, "/refunds", r.IdempotencyKey, body, &rf); err != nil {
		return Refund{}, fmt.Errorf("hyperswitch: refund payment %s: %w", r.PaymentID, err)
	}
	return Refund{ID: rf.RefundID, Status: refundStatus(rf.Status)}, nil
}

// RefundStatus reads a refund.
func (h *Hyperswitch) RefundStatus(ctx context.Context, id string) (Refund, error) {
	var rf hsRefund
	if err := h.call(ctx, http.MethodGet, "/refunds/"+url.PathEscape(id), "", nil, &rf); err != nil {
		return Refund{}, fmt.Errorf("hyperswitch: read refund %s: %w", id, err)
	}
	return Refund{ID: rf.RefundID, Status: refundStatus(rf.Status)}, nil
}

// hsWebhook is Hyperswitch's outgoing webhook body.
type hsWebhook struct {
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	Content   struct {
		Type   string          `json:"type"`
		Object json.RawMessage `json:"object"`
	} `json:"content"`
}

// VerifyWebhook checks x-webhook-signature-512, the hex HMAC-SHA512 of the
// raw body under the payment response hash key, in constant time.
func (h *Hyperswitch) VerifyWebhook(header http.Header, body []byte) (Event, error) {
	got, err := hex.DecodeString(strings.TrimSpace(header.Get("X-Webhook-Signature-512")))
	if err != nil || len(got) != sha512.Size || h.cfg.WebhookKey == "" {
		return Event{}, ErrBadSignature
	}
	mac := hmac.New(sha512.New, []byte(h.cfg.WebhookKey))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return Event{}, ErrBadSignature
	}
	var w hsWebhook
	if err := json.Unmarshal(body, &w); err != nil || w.EventID == "" {
		return Event{}, fmt.Errorf("hyperswitch: a signed webhook that does not parse: %w", ErrRefused)
	}
	return w.event()
}

func (w hsWebhook) event() (Event, error) {
	ev := Event{ID: w.EventID, Kind: OtherEvent}
	switch w.Content.Type {
	case "payment_details":
		var p hsPayment
		if err := json.Unmarshal(w.Content.Object, &p); err != nil {
			return Event{}, fmt.Errorf("hyperswitch: webhook %s: payment object: %w", w.EventID, ErrRefused)
		}
		ev.Kind, ev.PaymentID, ev.Status = PaymentEvent, p.PaymentID, paymentStatus(p.Status)
	case "refund_details":
		var r hsRefund
		if err := json.Unmarshal(w.Content.Object, &r); err != nil {
			return Event{}, fmt.Errorf("hyperswitch: webhook %s: refund object: %w", w.EventID, ErrRefused)
		}
		ev.Kind, ev.PaymentID, ev.RefundID, ev.RefundStatus = RefundEvent, r.PaymentID, r.RefundID, refundStatus(r.Status)
	}
	return ev, nil
}

func (p hsPayment) payment() Payment {
	out := Payment{ID: p.PaymentID, Status: paymentStatus(p.Status)}
	if p.PaymentLink != nil && out.Status == RequiresPayment {
		out.CheckoutURL = p.PaymentLink.Link
	}
	return out
}

// paymentStatus maps Hyperswitch's payment states onto ours.
func paymentStatus(s string) Status {
	switch s {
	case "requires_capture", "partially_captured_and_capturable":
		return Authorized
	case "succeeded", "partially_captured":
		return Succeeded
	case "failed":
		return Failed
	case "cancelled":
		return Cancelled
	}
	return RequiresPayment // requires_payment_method, requires_confirmation, processing, ...
}

func refundStatus(s string) RefundStatus {
	switch s {
	case "succeeded":
		return RefundSucceeded
	case "failed", "transaction_failure":
		return RefundFailed
	}
	return RefundPending // pending, review
}

// maxAnswer bounds what is read of an answer.
const maxAnswer = 1 << 20

// call sends one request and decodes the answer into out. Transport
// failures, 5xx and 429 are ErrUnavailable (worth a retry); 404 is
// ErrNotFound; other refusals are ErrRefused, with Hyperswitch's message.
func (h *Hyperswitch) call(ctx context.Context, method, path, key string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode the request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.cfg.BaseURL+path, body)
	if err != nil {
		return fmt.Errorf("build the request: %w", err)
	}
	req.Header.Set("api-key", h.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, redactURL(err))
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%w: read the answer: %v", ErrUnavailable, err)
	}
	if err := answerError(res.StatusCode, data); err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: the answer is not the JSON expected: %v", ErrUnavailable, err)
	}
	return nil
}

// answerError turns a refusal into an error naming Hyperswitch's code.
func answerError(status int, data []byte) error {
	if status < 300 {
		return nil
	}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(data, &e)
	what := fmt.Sprintf("status %d %s %s", status, e.Error.Code, e.Error.Message)
	switch {
	case status == http.StatusNotFound:
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	case status >= 500 || status == http.StatusTooManyRequests || status == http.StatusUnauthorized || status == http.StatusForbidden:
		// A refused key is the operator's to fix; until then, nothing is
		// lost by retrying.
		return fmt.Errorf("%w: %s", ErrUnavailable, what)
	}
	return fmt.Errorf("%w: %s", ErrRefused, what)
}

// redactURL keeps a transport error's text without the request's URL
// query, which never holds secrets here but may in a proxy's error.
func redactURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
