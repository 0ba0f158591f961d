package marketplace_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/marketplace"
	"github.com/veza/veza/modules/tracks"
	"github.com/veza/veza/modules/tracks/audio/audiotest"
)

const (
	password = "correct horse battery staple"
	// secret signs the test provider's webhooks in these tests.
	secret = "marketplace-tests-test-provider-secret-0123456789"
)

// env is a running Veza with auth, tracks and marketplace, reached by the
// test provider through front, a stand-in for its public address.
type env struct {
	*apptest.Server
	front *front
}

// front stands in for APP_PUBLIC_URL: it forwards every request to the test
// server (known only once started), records the webhooks it forwards, and
// can refuse them, as a network between a provider and Veza might.
type front struct {
	*httptest.Server
	target atomic.Pointer[url.URL]
	drop   atomic.Bool
	mu     sync.Mutex
	hooks  []hook
}

// hook is a webhook as the provider sent it.
type hook struct {
	Header http.Header
	Body   []byte
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/v1/marketplace/payments/webhook/") {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.hooks = append(f.hooks, hook{Header: r.Header.Clone(), Body: body})
		f.mu.Unlock()
		if f.drop.Load() {
			http.Error(w, "dropped by the test", http.StatusBadGateway)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	proxy := httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(f.target.Load()) }}
	proxy.ServeHTTP(w, r)
}

// webhooks returns the webhooks sent so far.
func (f *front) webhooks() []hook {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hook(nil), f.hooks...)
}

func start(t testing.TB, vars map[string]string) *env {
	t.Helper()
	return startLogged(t, vars, nil)
}

func startLogged(t testing.TB, vars map[string]string, log *zap.Logger) *env {
	t.Helper()
	f := &front{}
	f.Server = httptest.NewServer(f)
	t.Cleanup(f.Close)
	all := map[string]string{"VEZA_AUTH_REQUIRE_VERIFIED_EMAIL": "false", "MAIL_DRIVER": "log", "UPLOAD_DIR": t.TempDir(),
		"RATE_LIMIT_LIMIT": "1000000", "APP_PUBLIC_URL": f.URL, "VEZA_MARKETPLACE_PAYMENTS_TEST_WEBHOOK_SECRET": secret,
		"VEZA_MARKETPLACE_PAYMENTS_TEST_REFUND_DELAY": "300ms"}
	for k, v := range vars {
		all[k] = v
	}
	srv := apptest.Start(t, apptest.Options{Modules: []app.Module{auth.Module(), tracks.Module(), marketplace.Module()}, Env: all, Logger: log})
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	f.target.Store(u)
	return &env{Server: srv, front: f}
}

// user registers name with role and returns its id and an access token.
func (e *env) user(t testing.TB, name, role string) (uuid.UUID, string) {
	t.Helper()
	var reg struct {
		User struct {
			ID uuid.UUID `json:"id"`
		} `json:"user"`
	}
	e.Do(t, "POST", "/api/v1/auth/register", map[string]string{"username": name, "email": name + "@example.com", "password": password}).Status(t, 201).Data(t, &reg)
	if role != "user" {
		e.exec(t, `UPDATE users SET role = $2 WHERE id = $1`, reg.User.ID, role)
	}
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	e.Do(t, "POST", "/api/v1/auth/login", map[string]string{"email": name + "@example.com", "password": password}).Status(t, 200).Data(t, &tk)
	return reg.User.ID, tk.AccessToken
}

func as(token string) []string { return []string{"Authorization", "Bearer " + token} }

func (e *env) exec(t testing.TB, q string, args ...any) {
	t.Helper()
	if _, err := e.Runtime.DB().Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (e *env) count(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.Runtime.DB().Get(&n, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// track writes a ready track of owner straight into tracks' table (its
// file does not exist): enough to sell licences to it.
func (e *env) track(t testing.TB, owner uuid.UUID) uuid.UUID {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	e.exec(t, `INSERT INTO tracks (id, owner_id, title, status, format, content_type, size_bytes, storage_key)
		VALUES ($1, $2, $3, 'ready', 'wav', 'audio/wav', 1, $4)`, id, owner, "track "+id.String()[:8], "xx/"+id.String()+".wav")
	return id
}

// upload uploads a real WAV as token's and waits until it is ready.
func (e *env) upload(t testing.TB, token, title string) (uuid.UUID, []byte) {
	t.Helper()
	var wav bytes.Buffer
	if err := audiotest.WriteWAV(&wav, 8000, 1, 16, 0.3, 440); err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("title", title)
	fw, _ := w.CreateFormFile("file", "a.wav")
	_, _ = fw.Write(wav.Bytes())
	_ = w.Close()
	var tr struct {
		ID     uuid.UUID `json:"id"`
		Status string    `json:"status"`
	}
	e.Do(t, "POST", "/api/v1/tracks", body.Bytes(), append(as(token), "Content-Type", w.FormDataContentType())...).Status(t, 201).Data(t, &tr)
	apptest.Eventually(t, 30*time.Second, "track processed", func() bool {
		e.Do(t, "GET", "/api/v1/tracks/"+tr.ID.String(), nil, as(token)...).Status(t, 200).Data(t, &tr)
		return tr.Status != "processing"
	})
	if tr.Status != "ready" {
		t.Fatalf("track %s: %s", tr.ID, tr.Status)
	}
	return tr.ID, wav.Bytes()
}

type product struct {
	ID          uuid.UUID `json:"id"`
	SellerID    uuid.UUID `json:"seller_id"`
	TrackID     uuid.UUID `json:"track_id"`
	Title       string    `json:"title"`
	LicenseType string    `json:"license_type"`
	PriceCents  int64     `json:"price_cents"`
	Currency    string    `json:"currency"`
	Status      string    `json:"status"`
}

func (e *env) product(t testing.TB, token string, track uuid.UUID, licenseType string, price int64) product {
	t.Helper()
	var p product
	e.Do(t, "POST", "/api/v1/marketplace/products", map[string]any{"track_id": track, "title": "Licence " + licenseType,
		"license_type": licenseType, "price_cents": price, "currency": "EUR"}, as(token)...).Status(t, 201).Data(t, &p)
	return p
}

type order struct {
	ID      uuid.UUID `json:"id"`
	BuyerID uuid.UUID `json:"buyer_id"`
	Status  string    `json:"status"`
	Items   []struct {
		ProductID   uuid.UUID `json:"product_id"`
		LicenseType string    `json:"license_type"`
		PriceCents  int64     `json:"price_cents"`
	} `json:"items"`
	TotalCents int64  `json:"total_cents"`
	Currency   string `json:"currency"`
	Payment    struct {
		Provider    string `json:"provider"`
		Status      string `json:"status"`
		CheckoutURL string `json:"checkout_url"`
	} `json:"payment"`
}

// orderReq posts an order with an Idempotency-Key ("" sends none).
func (e *env) orderReq(t testing.TB, token, key string, products ...uuid.UUID) *apptest.Response {
	t.Helper()
	h := as(token)
	if key != "" {
		h = append(h, "Idempotency-Key", key)
	}
	return e.Do(t, "POST", "/api/v1/marketplace/orders", map[string]any{"product_ids": products}, h...)
}

// buy places an order and returns it, pending.
func (e *env) buy(t testing.TB, token string, products ...uuid.UUID) order {
	t.Helper()
	var o order
	e.orderReq(t, token, uuid.NewString(), products...).Status(t, 201).Data(t, &o)
	return o
}

// local turns a URL at the public address into a path on the test server,
// so that its answers are checked against the OpenAPI document.
func (e *env) local(t testing.TB, u string) string {
	t.Helper()
	path, ok := strings.CutPrefix(u, e.front.URL)
	if !ok {
		t.Fatalf("%q is not at the public address %s", u, e.front.URL)
	}
	return path
}

// checkout answers the checkout page's form as a browser does: no bearer
// token, a form body.
func (e *env) checkout(t testing.TB, o order, action string) *apptest.Response {
	t.Helper()
	return e.Do(t, "POST", e.local(t, o.Payment.CheckoutURL), []byte("action="+action), "Content-Type", "application/x-www-form-urlencoded")
}

// get reads order id as token.
func (e *env) get(t testing.TB, token string, id uuid.UUID) order {
	t.Helper()
	var o order
	e.Do(t, "GET", "/api/v1/marketplace/orders/"+id.String(), nil, as(token)...).Status(t, 200).Data(t, &o)
	return o
}

// wait polls order id until its status is want.
func (e *env) wait(t testing.TB, token string, id uuid.UUID, want string) order {
	t.Helper()
	var o order
	apptest.Eventually(t, 20*time.Second, "order "+want, func() bool {
		o = e.get(t, token, id)
		return o.Status == want
	})
	return o
}

// pay buys products and pays through the checkout page, waiting for paid.
func (e *env) pay(t testing.TB, token string, products ...uuid.UUID) order {
	t.Helper()
	o := e.buy(t, token, products...)
	e.checkout(t, o, "approve").Status(t, 200)
	return e.wait(t, token, o.ID, "paid")
}

// forge signs body as the test provider, at time at.
func forge(body []byte, at time.Time) string { return forgeWith(secret, body, at) }

// forgeWith signs body with key as the test provider signs.
func forgeWith(key string, body []byte, at time.Time) string {
	ts := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// webhook posts a test provider's webhook with the signature header sig.
func (e *env) webhook(t testing.TB, body []byte, sig string) *apptest.Response {
	t.Helper()
	h := []string{"Content-Type", "application/json"}
	if sig != "" {
		h = append(h, "Veza-Test-Signature", sig)
	}
	return e.Do(t, "POST", "/api/v1/marketplace/payments/webhook/test", body, h...)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// noRedirect GETs url without following redirects.
func noRedirect(t testing.TB, u string) (*http.Response, []byte) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// eventually waits until query counts want rows.
func (e *env) eventually(t testing.TB, want int, query string, args ...any) {
	t.Helper()
	apptest.Eventually(t, 20*time.Second, query, func() bool {
		var n int
		return e.Runtime.DB().Get(&n, query, args...) == nil && n == want
	})
}
