package marketplace

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/marketplace/payments"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/jobs"
)

// testProvider is a payment provider for development and tests, played by
// the module itself: it keeps its books in tables of its own, serves a
// checkout page with Approve and Decline, and tells the marketplace what
// happened the way a real provider does, with signed webhooks POSTed to
// /marketplace/payments/webhook/test (a job, retried until answered 2xx).
// It takes no money and is refused in production.
type testProvider struct {
	db          *sqlx.DB
	jobs        *jobs.Enqueuer
	secret      []byte
	checkout    string
	webhookURL  string
	refundDelay time.Duration
	client      *http.Client
	now         func() time.Time
}

// TestWebhookJob delivers one of the test provider's webhooks.
const TestWebhookJob = Name + ":test_webhook"

const testWebhookVersion = 1

// testSignatureHeader carries "t=<unix time>,v1=<hex HMAC-SHA256 of t.body>".
const testSignatureHeader = "Veza-Test-Signature"

// testTolerance bounds the age of a signed webhook: an old capture cannot
// be replayed into the receiver later.
const testTolerance = 5 * time.Minute

// testEvent is the body of a test provider's webhook.
type testEvent struct {
	ID           string `json:"id"`
	Type         string `json:"type" doc:"payment or refund"`
	PaymentID    string `json:"payment_id"`
	Status       string `json:"status,omitempty"`
	RefundID     string `json:"refund_id,omitempty"`
	RefundStatus string `json:"refund_status,omitempty"`
}

func newTestProvider(pool *sqlx.DB, q *jobs.Enqueuer, s *Settings, cfg *config.Config) *testProvider {
	url := s.Payments.Test.WebhookURL
	if url == "" {
		url = cfg.PublicURL + app.APIPrefix + "/marketplace/payments/webhook/test"
	}
	return &testProvider{db: pool, jobs: q, secret: []byte(s.Payments.Test.WebhookSecret),
		checkout: cfg.PublicURL + app.APIPrefix + checkoutPath, webhookURL: url, refundDelay: s.Payments.Test.RefundDelay,
		client: &http.Client{Timeout: 10 * time.Second}, now: time.Now}
}

func (t *testProvider) Name() string { return "test" }

// checkoutPath is where the test provider's checkout pages are.
const checkoutPath = "/marketplace/payments/test/checkout/"

// token is a payment's checkout token: its id and a MAC of it, so the
// page needs no stored secret and a guessed token opens nothing.
func (t *testProvider) token(payment string) string {
	return payment + "." + base64.RawURLEncoding.EncodeToString(t.mac("checkout:"+payment))
}

// paymentOf checks a checkout token and returns its payment id.
func (t *testProvider) paymentOf(token string) (string, bool) {
	id, sig, ok := strings.Cut(token, ".")
	got, err := base64.RawURLEncoding.DecodeString(sig)
	return id, ok && err == nil && hmac.Equal(got, t.mac("checkout:"+id))
}

func (t *testProvider) mac(s string) []byte {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// testPayment is a row of marketplace_test_payments.
type testPayment struct {
	ID          string `db:"id"`
	AmountCents int64  `db:"amount_cents"`
	Currency    string `db:"currency"`
	Description string `db:"description"`
	Status      string `db:"status"`
}

func (t *testProvider) CreatePayment(ctx context.Context, r payments.PaymentRequest) (payments.Payment, error) {
	_, err := t.db.ExecContext(ctx, `INSERT INTO marketplace_test_payments (id, idempotency_key, amount_cents, currency, description)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING`,
		"tp_"+uuid.NewString(), r.IdempotencyKey, r.AmountCents, r.Currency, r.Description)
	if err != nil {
		return payments.Payment{}, fmt.Errorf("test provider: create payment: %w: %v", payments.ErrUnavailable, err)
	}
	var p testPayment
	err = t.db.GetContext(ctx, &p, `SELECT id, amount_cents, currency, description, status FROM marketplace_test_payments
		WHERE idempotency_key = $1`, r.IdempotencyKey)
	if err != nil {
		return payments.Payment{}, fmt.Errorf("test provider: read payment: %w: %v", payments.ErrUnavailable, err)
	}
	return t.view(p), nil
}

func (t *testProvider) view(p testPayment) payments.Payment {
	out := payments.Payment{ID: p.ID, Status: payments.Status(p.Status)}
	if out.Status == payments.RequiresPayment {
		out.CheckoutURL = t.checkout + t.token(p.ID)
	}
	return out
}

func (t *testProvider) payment(ctx context.Context, q sqlx.QueryerContext, id string) (testPayment, error) {
	var p testPayment
	err := sqlx.GetContext(ctx, q, &p, `SELECT id, amount_cents, currency, description, status FROM marketplace_test_payments WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("test provider: payment %s: %w", id, payments.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("test provider: payment %s: %w: %v", id, payments.ErrUnavailable, err)
	}
	return p, nil
}

func (t *testProvider) Payment(ctx context.Context, id string) (payments.Payment, error) {
	p, err := t.payment(ctx, t.db, id)
	if err != nil {
		return payments.Payment{}, err
	}
	return t.view(p), nil
}

// move changes a payment from one of from to to, and queues the webhook
// that says so in the same transaction. It reports whether it moved.
func (t *testProvider) move(ctx context.Context, id, to string, from ...string) (bool, error) {
	moved := false
	err := db.WithTx(ctx, t.db, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE marketplace_test_payments SET status = $2, updated_at = now()
			WHERE id = $1 AND status = ANY($3)`, id, to, pq.Array(from))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		moved = true
		ev := testEvent{ID: "evt_" + uuid.NewString(), Type: "payment", PaymentID: id, Status: to}
		return t.jobs.EnqueueTx(ctx, tx, TestWebhookJob, testWebhookVersion, ev, jobs.MaxRetry(12))
	})
	if err != nil {
		return false, fmt.Errorf("test provider: payment %s to %s: %w: %v", id, to, payments.ErrUnavailable, err)
	}
	return moved, nil
}

// settleAs moves a payment, or, when it was not in a state to move from,
// accepts a repeat (the payment already in state to) and refuses the rest.
func (t *testProvider) settleAs(ctx context.Context, id, to string, from ...string) (payments.Payment, error) {
	if _, err := t.move(ctx, id, to, from...); err != nil {
		return payments.Payment{}, err
	}
	p, err := t.payment(ctx, t.db, id)
	if err != nil {
		return payments.Payment{}, err
	}
	if p.Status != to {
		return payments.Payment{}, fmt.Errorf("test provider: payment %s is %s, not %s: %w", id, p.Status, strings.Join(from, " or "), payments.ErrRefused)
	}
	return t.view(p), nil
}

func (t *testProvider) Capture(ctx context.Context, id string, _ int64, _ string) (payments.Payment, error) {
	return t.settleAs(ctx, id, "succeeded", "authorized")
}

func (t *testProvider) Cancel(ctx context.Context, id string, _ string) (payments.Payment, error) {
	return t.settleAs(ctx, id, "cancelled", "requires_payment", "authorized")
}

// Refund records a refund and confirms it by itself after refundDelay,
// through its webhook.
func (t *testProvider) Refund(ctx context.Context, r payments.RefundRequest) (payments.Refund, error) {
	var out payments.Refund
	err := db.WithTx(ctx, t.db, func(tx *sqlx.Tx) error {
		p, err := t.payment(ctx, tx, r.PaymentID)
		if err != nil {
			return err
		}
		if p.Status != "succeeded" {
			return fmt.Errorf("test provider: payment %s is %s, not captured: %w", p.ID, p.Status, payments.ErrRefused)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO marketplace_test_refunds (id, payment_id, idempotency_key, amount_cents)
			VALUES ($1, $2, $3, $4) ON CONFLICT (idempotency_key) DO NOTHING`, "tr_"+uuid.NewString(), p.ID, r.IdempotencyKey, r.AmountCents)
		if err != nil {
			return err
		}
		if err := tx.GetContext(ctx, &out, `SELECT id AS "id", status AS "status" FROM marketplace_test_refunds WHERE idempotency_key = $1`, r.IdempotencyKey); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // a retry: its webhook is queued already
		}
		ev := testEvent{ID: "evt_" + uuid.NewString(), Type: "refund", PaymentID: p.ID, RefundID: out.ID, RefundStatus: "succeeded"}
		return t.jobs.EnqueueTx(ctx, tx, TestWebhookJob, testWebhookVersion, ev, jobs.MaxRetry(12), jobs.ProcessIn(t.refundDelay))
	})
	if errors.Is(err, payments.ErrRefused) || errors.Is(err, payments.ErrNotFound) {
		return payments.Refund{}, err
	}
	if err != nil {
		return payments.Refund{}, fmt.Errorf("test provider: refund %s: %w: %v", r.PaymentID, payments.ErrUnavailable, err)
	}
	return out, nil
}

func (t *testProvider) RefundStatus(ctx context.Context, id string) (payments.Refund, error) {
	var out payments.Refund
	err := t.db.GetContext(ctx, &out, `SELECT id AS "id", status AS "status" FROM marketplace_test_refunds WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return out, fmt.Errorf("test provider: refund %s: %w", id, payments.ErrNotFound)
	}
	if err != nil {
		return out, fmt.Errorf("test provider: refund %s: %w: %v", id, payments.ErrUnavailable, err)
	}
	return out, nil
}

// VerifyWebhook checks the signature header against the raw body, in
// constant time, and its age.
func (t *testProvider) VerifyWebhook(header http.Header, body []byte) (payments.Event, error) {
	ts, sig, ok := parseTestSignature(header.Get(testSignatureHeader))
	if !ok || len(t.secret) == 0 {
		return payments.Event{}, payments.ErrBadSignature
	}
	at := time.Unix(ts, 0)
	if d := t.now().Sub(at); d > testTolerance || d < -testTolerance {
		return payments.Event{}, payments.ErrBadSignature
	}
	if !hmac.Equal(sig, t.sign(ts, body)) {
		return payments.Event{}, payments.ErrBadSignature
	}
	var ev testEvent
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.PaymentID == "" {
		return payments.Event{}, fmt.Errorf("test provider: a signed webhook that does not parse: %w", payments.ErrRefused)
	}
	out := payments.Event{ID: ev.ID, Kind: payments.EventKind(ev.Type), PaymentID: ev.PaymentID, Status: payments.Status(ev.Status),
		RefundID: ev.RefundID, RefundStatus: payments.RefundStatus(ev.RefundStatus)}
	if out.Kind != payments.PaymentEvent && out.Kind != payments.RefundEvent {
		out.Kind = payments.OtherEvent
	}
	return out, nil
}

// sign is the HMAC-SHA256 of "<ts>.<body>".
func (t *testProvider) sign(ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// signature is the Veza-Test-Signature header value signing body at ts.
func (t *testProvider) signature(ts int64, body []byte) string {
	return "t=" + strconv.FormatInt(ts, 10) + ",v1=" + hex.EncodeToString(t.sign(ts, body))
}

func parseTestSignature(v string) (int64, []byte, bool) {
	var ts int64
	var sig []byte
	for _, part := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			n, err := strconv.ParseInt(val, 10, 64)
			if err != nil {
				return 0, nil, false
			}
			ts = n
		case "v1":
			b, err := hex.DecodeString(val)
			if err != nil {
				return 0, nil, false
			}
			sig = b
		}
	}
	return ts, sig, ts != 0 && len(sig) == sha256.Size
}

// deliver runs TestWebhookJob: a refund's webhook first completes the
// refund in the provider's books, then every event is signed and POSTed.
// Anything but a 2xx is retried.
func (t *testProvider) deliver(ctx context.Context, task *asynq.Task) error {
	var ev testEvent
	if _, err := jobs.Decode(task, &ev); err != nil {
		return fmt.Errorf("%s: %w: %w", TestWebhookJob, err, asynq.SkipRetry)
	}
	if ev.Type == "refund" {
		_, err := t.db.ExecContext(ctx, `UPDATE marketplace_test_refunds SET status = $2 WHERE id = $1 AND status = 'pending'`, ev.RefundID, ev.RefundStatus)
		if err != nil {
			return fmt.Errorf("%s: complete refund %s: %w", TestWebhookJob, ev.RefundID, err)
		}
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", TestWebhookJob, err, asynq.SkipRetry)
	}
	return t.post(ctx, body)
}

func (t *testProvider) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.webhookURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w: %w", TestWebhookJob, err, asynq.SkipRetry)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(testSignatureHeader, t.signature(t.now().Unix(), body))
	res, err := t.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: POST %s: %w", TestWebhookJob, t.webhookURL, err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s: POST %s answered %d", TestWebhookJob, t.webhookURL, res.StatusCode)
	}
	return nil
}
