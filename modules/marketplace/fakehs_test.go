package marketplace_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

const (
	hsAPIKey  = "snd_fake_api_key"
	hsHashKey = "fake-payment-response-hash-key-0123456789"
)

// fakeHS is a Hyperswitch API in memory: payments with manual capture,
// payment links, refunds, Idempotency-Key, and signed webhooks sent to the
// marketplace on every change, as Hyperswitch sends them.
type fakeHS struct {
	*httptest.Server
	t       testing.TB
	mu      sync.Mutex
	n       int
	pays    map[string]map[string]any
	refunds map[string]map[string]any
	byKey   map[string][]byte
	calls   []hsCall
	// block, when set, holds every POST /payments until it is closed.
	block   chan struct{}
	arrived chan struct{}
	// hookURL receives the webhooks.
	hookURL string
	sent    sync.WaitGroup
}

// hsCall is one request the fake received.
type hsCall struct {
	Method, Path, Key string
	Body              map[string]any
}

func newFakeHS(t testing.TB) *fakeHS {
	f := &fakeHS{t: t, pays: map[string]map[string]any{}, refunds: map[string]map[string]any{}, byKey: map[string][]byte{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() { f.sent.Wait(); f.Close() })
	return f
}

func (f *fakeHS) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("api-key") != hsAPIKey {
		hsError(w, 401, "IR_01", "API key not provided or invalid")
		return
	}
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	key := r.Header.Get("Idempotency-Key")
	f.mu.Lock()
	f.calls = append(f.calls, hsCall{Method: r.Method, Path: r.URL.Path, Key: key, Body: body})
	block, arrived := f.block, f.arrived
	f.mu.Unlock()
	if r.Method == "POST" && r.URL.Path == "/payments" && block != nil {
		arrived <- struct{}{}
		<-block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if prev, ok := f.byKey[r.Method+r.URL.Path+key]; ok && key != "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(prev)
		return
	}
	status, out := f.route(r.Method, r.URL.Path, body)
	data, _ := json.Marshal(out)
	if status == 200 && key != "" {
		f.byKey[r.Method+r.URL.Path+key] = data
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// route answers one call; f.mu is held.
func (f *fakeHS) route(method, path string, body map[string]any) (int, any) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case method == "POST" && path == "/payments":
		f.n++
		id := fmt.Sprintf("pay_%d", f.n)
		p := map[string]any{"payment_id": id, "status": "requires_payment_method", "amount": body["amount"], "currency": body["currency"],
			"capture_method": body["capture_method"], "metadata": body["metadata"],
			"payment_link": map[string]any{"link": f.URL + "/payment_link/" + id, "payment_link_id": "plink_" + id}}
		f.pays[id] = p
		return 200, p
	case parts[0] == "payments" && len(parts) >= 2:
		p, ok := f.pays[parts[1]]
		if !ok {
			return 404, hsErr("HE_02", "Payment does not exist in our records")
		}
		switch {
		case method == "GET" && len(parts) == 2:
			return 200, p
		case method == "POST" && len(parts) == 3 && parts[2] == "capture":
			if p["status"] != "requires_capture" {
				return 400, hsErr("IR_14", "This Payment could not be captured because it has a status of "+p["status"].(string))
			}
			f.setStatus(p, "succeeded", "payment_succeeded")
			return 200, p
		case method == "POST" && len(parts) == 3 && parts[2] == "cancel":
			if s := p["status"]; s != "requires_capture" && s != "requires_payment_method" {
				return 400, hsErr("IR_16", "You cannot cancel this payment because it has status "+s.(string))
			}
			f.setStatus(p, "cancelled", "payment_cancelled")
			return 200, p
		}
	case method == "POST" && path == "/refunds":
		p, ok := f.pays[fmt.Sprint(body["payment_id"])]
		if !ok || p["status"] != "succeeded" {
			return 400, hsErr("IR_12", "The payment has not succeeded yet")
		}
		f.n++
		rf := map[string]any{"refund_id": fmt.Sprintf("ref_%d", f.n), "payment_id": p["payment_id"], "amount": body["amount"], "status": "pending"}
		f.refunds[rf["refund_id"].(string)] = rf
		return 200, rf
	case method == "GET" && parts[0] == "refunds" && len(parts) == 2:
		if rf, ok := f.refunds[parts[1]]; ok {
			return 200, rf
		}
		return 404, hsErr("HE_02", "Refund does not exist in our records")
	}
	return 404, hsErr("IR_02", "Unrecognized request URL")
}

func hsErr(code, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"type": "invalid_request", "code": code, "message": msg}}
}

func hsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(hsErr(code, msg))
}

// setStatus changes a payment and sends the webhook that says so; f.mu is
// held.
func (f *fakeHS) setStatus(p map[string]any, status, event string) {
	p["status"] = status
	f.send(event, "payment_details", p)
}

// send posts a signed webhook to the marketplace, in the background as a
// provider does.
func (f *fakeHS) send(event, kind string, object map[string]any) {
	f.n++
	body, _ := json.Marshal(map[string]any{"merchant_id": "merchant_1", "event_id": fmt.Sprintf("evt_%d", f.n), "event_type": event,
		"content": map[string]any{"type": kind, "object": object}, "timestamp": "2026-01-02T03:04:05.000Z"})
	if f.hookURL == "" {
		return
	}
	f.sent.Add(1)
	go func() {
		defer f.sent.Done()
		req, _ := http.NewRequest("POST", f.hookURL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-webhook-signature-512", hsSign(body))
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
	}()
}

func hsSign(body []byte) string {
	m := hmac.New(sha512.New, []byte(hsHashKey))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// authorize is the buyer paying on the payment link.
func (f *fakeHS) authorize(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setStatus(f.pays[id], "requires_capture", "payment_authorized")
}

// completeRefunds confirms every pending refund.
func (f *fakeHS) completeRefunds() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, rf := range f.refunds {
		if rf["status"] == "pending" {
			rf["status"] = "succeeded"
			f.send("refund_succeeded", "refund_details", rf)
		}
	}
}

func (f *fakeHS) callsTo(method, path string) []hsCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []hsCall
	for _, c := range f.calls {
		if c.Method == method && c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// hsEnv starts the marketplace with Hyperswitch as its provider, the fake
// sending its webhooks to it.
func hsEnv(t *testing.T) (*env, *fakeHS) {
	hs := newFakeHS(t)
	e := start(t, map[string]string{"VEZA_MARKETPLACE_PAYMENTS_PROVIDER": "hyperswitch",
		"VEZA_MARKETPLACE_PAYMENTS_HYPERSWITCH_BASE_URL": hs.URL, "VEZA_MARKETPLACE_PAYMENTS_HYPERSWITCH_API_KEY": hsAPIKey,
		"VEZA_MARKETPLACE_PAYMENTS_HYPERSWITCH_WEBHOOK_KEY": hsHashKey})
	hs.mu.Lock()
	hs.hookURL = e.URL + "/api/v1/marketplace/payments/webhook/hyperswitch"
	hs.mu.Unlock()
	return e, hs
}
