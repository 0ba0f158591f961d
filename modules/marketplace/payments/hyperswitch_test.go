package payments_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/veza/veza/modules/marketplace/payments"
)

func adapter(t *testing.T, h http.HandlerFunc) *payments.Hyperswitch {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return payments.NewHyperswitch(payments.HyperswitchConfig{BaseURL: srv.URL + "/", APIKey: "key", WebhookKey: "hash-key", Timeout: 2 * time.Second}, nil)
}

// Hyperswitch's refusals map onto the errors callers branch on: a retry
// may fix 5xx, 429, a refused key and a dead connection; 404 is no such
// payment; other 4xx are final.
func TestHyperswitchErrors(t *testing.T) {
	for status, want := range map[int]error{500: payments.ErrUnavailable, 503: payments.ErrUnavailable, 429: payments.ErrUnavailable,
		401: payments.ErrUnavailable, 404: payments.ErrNotFound, 400: payments.ErrRefused, 422: payments.ErrRefused} {
		hs := adapter(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			_, _ = w.Write([]byte(`{"error":{"code":"X_1","message":"no"}}`))
		})
		if _, err := hs.Payment(context.Background(), "pay_1"); !errors.Is(err, want) {
			t.Errorf("%d: %v, want %v", status, err, want)
		}
	}
	hs := adapter(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<html>")) })
	if _, err := hs.Payment(context.Background(), "pay_1"); !errors.Is(err, payments.ErrUnavailable) {
		t.Errorf("an answer that is not JSON: %v", err)
	}
	dead := payments.NewHyperswitch(payments.HyperswitchConfig{BaseURL: "http://127.0.0.1:1", APIKey: "key", Timeout: time.Second}, nil)
	if _, err := dead.Payment(context.Background(), "pay_1"); !errors.Is(err, payments.ErrUnavailable) {
		t.Errorf("nobody listening: %v", err)
	}
}

// Calls carry the api-key and the Idempotency-Key, and statuses map onto
// the marketplace's.
func TestHyperswitchCalls(t *testing.T) {
	var got http.Header
	hs := adapter(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		_, _ = w.Write([]byte(`{"payment_id":"pay_9","status":"requires_capture"}`))
	})
	p, err := hs.Capture(context.Background(), "pay_9", 100, "capture-1")
	if err != nil || p.Status != payments.Authorized || got.Get("api-key") != "key" || got.Get("Idempotency-Key") != "capture-1" {
		t.Fatalf("capture: %+v %v, headers %v", p, err, got)
	}
}

func sign(body string) string {
	m := hmac.New(sha512.New, []byte("hash-key"))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

// A webhook verifies against its raw body with HMAC-SHA512 (hex), and
// reads as a payment, a refund or something to ignore.
func TestHyperswitchWebhooks(t *testing.T) {
	hs := adapter(t, func(http.ResponseWriter, *http.Request) {})
	pay := `{"event_id":"evt_1","event_type":"payment_succeeded","content":{"type":"payment_details","object":{"payment_id":"pay_1","status":"succeeded"}}}`
	ref := `{"event_id":"evt_2","event_type":"refund_failed","content":{"type":"refund_details","object":{"refund_id":"ref_1","payment_id":"pay_1","status":"failed"}}}`
	other := `{"event_id":"evt_3","event_type":"dispute_opened","content":{"type":"dispute_details","object":{}}}`
	for body, want := range map[string]payments.Event{
		pay:   {ID: "evt_1", Kind: payments.PaymentEvent, PaymentID: "pay_1", Status: payments.Succeeded},
		ref:   {ID: "evt_2", Kind: payments.RefundEvent, PaymentID: "pay_1", RefundID: "ref_1", RefundStatus: payments.RefundFailed},
		other: {ID: "evt_3", Kind: payments.OtherEvent},
	} {
		h := http.Header{}
		h.Set("X-Webhook-Signature-512", sign(body))
		ev, err := hs.VerifyWebhook(h, []byte(body))
		if err != nil || ev != want {
			t.Errorf("%s: %+v %v, want %+v", body, ev, err, want)
		}
	}
	for what, sig := range map[string]string{"none": "", "tampered": sign(pay + " "), "short": sign(pay)[:64], "not hex": "zz"} {
		h := http.Header{}
		h.Set("X-Webhook-Signature-512", sig)
		if _, err := hs.VerifyWebhook(h, []byte(pay)); !errors.Is(err, payments.ErrBadSignature) {
			t.Errorf("%s: %v", what, err)
		}
	}
}
