package marketplace

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/config"
)

// Settings of the marketplace module (modules.marketplace.settings; each
// field also VEZA_MARKETPLACE_<PATH>, the path's dots as underscores).
type Settings struct {
	// SellerRoles may put products on sale.
	SellerRoles []string `yaml:"seller_roles"`
	// Currencies are the ISO 4217 codes prices may be in.
	Currencies []string `yaml:"currencies"`
	// MaxOrderItems bounds the products of one order.
	MaxOrderItems int `yaml:"max_order_items"`
	// PlatformFeeBPS is the platform's share of each sale, in basis points
	// (1000: 10%); the seller earns the rest.
	PlatformFeeBPS int `yaml:"platform_fee_bps"`
	// RefundWindow is how long after payment a buyer may ask for a refund.
	RefundWindow time.Duration `yaml:"refund_window"`
	// PendingExpiry is how long an order may wait for its payment before
	// the reconciliation asks the provider and settles or cancels it.
	PendingExpiry time.Duration `yaml:"pending_expiry"`
	// ReconcileEvery is how often the reconciliation runs.
	ReconcileEvery time.Duration `yaml:"reconcile_every"`
	// DownloadTTL is how long a signed download URL works.
	DownloadTTL time.Duration `yaml:"download_ttl"`
	// IdempotencyTTL is how long an Idempotency-Key of POST /orders is kept.
	IdempotencyTTL time.Duration `yaml:"idempotency_ttl"`
	// Payments chooses and configures the payment providers.
	Payments Payments `yaml:"payments"`
}

// Payments configures the payment providers. Provider takes new orders;
// an order keeps the provider it was made with, and that provider's
// webhooks are accepted while it is configured.
type Payments struct {
	// Provider is test or hyperswitch; unset, test in development and test
	// and none elsewhere (orders answer 503 until one is chosen).
	Provider    string      `yaml:"provider"`
	Test        TestPay     `yaml:"test"`
	Hyperswitch Hyperswitch `yaml:"hyperswitch"`
}

// TestPay configures the test provider: a checkout page served by Veza
// itself, refused in production.
type TestPay struct {
	// WebhookSecret signs the provider's webhooks and checkout tokens
	// (payments.test.webhook_secret); at least 32 characters.
	WebhookSecret string `yaml:"webhook_secret"`
	// WebhookURL is where it POSTs its webhooks; empty: APP_PUBLIC_URL +
	// /api/v1/marketplace/payments/webhook/test.
	WebhookURL string `yaml:"webhook_url"`
	// RefundDelay is how long it takes to confirm a refund.
	RefundDelay time.Duration `yaml:"refund_delay"`
}

// Hyperswitch configures the Hyperswitch provider.
type Hyperswitch struct {
	// BaseURL is the API (https://sandbox.hyperswitch.io, https://api.hyperswitch.io).
	BaseURL string `yaml:"base_url"`
	// APIKey is the secret API key.
	APIKey string `yaml:"api_key"`
	// WebhookKey is the business profile's payment_response_hash_key.
	WebhookKey string `yaml:"webhook_key"`
	// ReturnURL is where the payment page sends the buyer back.
	ReturnURL string `yaml:"return_url"`
	// Timeout bounds one API call.
	Timeout time.Duration `yaml:"timeout"`
}

// devTestSecret signs the test provider's webhooks in development and test
// when no secret is set; staging must set its own.
const devTestSecret = "veza-development-test-provider-secret-do-not-use"

func defaultSettings() any {
	return &Settings{
		SellerRoles:    []string{authn.RoleCreator, authn.RoleArtist, authn.RoleProducer, authn.RoleLabel, authn.RoleAdmin},
		Currencies:     []string{"EUR", "USD", "GBP"},
		MaxOrderItems:  20,
		PlatformFeeBPS: 1000,
		RefundWindow:   14 * 24 * time.Hour,
		PendingExpiry:  30 * time.Minute,
		ReconcileEvery: 5 * time.Minute,
		DownloadTTL:    15 * time.Minute,
		IdempotencyTTL: 24 * time.Hour,
		Payments: Payments{
			Test:        TestPay{RefundDelay: 2 * time.Second},
			Hyperswitch: Hyperswitch{BaseURL: "https://sandbox.hyperswitch.io", Timeout: 15 * time.Second},
		},
	}
}

const fix = "; fix: set modules.marketplace.settings."

// Validate refuses settings that cannot work, names each fix, and fills in
// the test provider's secret in development and test.
func (s *Settings) Validate(env config.Env) error {
	for _, check := range []func() error{s.validateRoles, s.validateCurrencies, s.validateNumbers} {
		if err := check(); err != nil {
			return err
		}
	}
	return s.Payments.validate(env)
}

func (s *Settings) validateRoles() error {
	for _, r := range s.SellerRoles {
		if !slices.Contains(authn.Roles, r) {
			return fmt.Errorf("seller_roles: %q is not a role (%s)%sseller_roles or VEZA_MARKETPLACE_SELLER_ROLES", r, strings.Join(authn.Roles, ", "), fix)
		}
	}
	return nil
}

func (s *Settings) validateCurrencies() error {
	if len(s.Currencies) == 0 {
		return errors.New("currencies is empty" + fix + "currencies (e.g. [EUR, USD]) or VEZA_MARKETPLACE_CURRENCIES=EUR,USD")
	}
	for i, c := range s.Currencies {
		c = strings.ToUpper(strings.TrimSpace(c))
		if len(c) != 3 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			return fmt.Errorf("currencies: %q is not an ISO 4217 code like EUR%scurrencies", s.Currencies[i], fix)
		}
		s.Currencies[i] = c
	}
	return nil
}

func (s *Settings) validateNumbers() error {
	switch {
	case s.MaxOrderItems < 1 || s.MaxOrderItems > 100:
		return errors.New("max_order_items must be 1 to 100" + fix + "max_order_items")
	case s.PlatformFeeBPS < 0 || s.PlatformFeeBPS >= 10000:
		return errors.New("platform_fee_bps must be 0 to 9999 (basis points: 1000 is 10%)" + fix + "platform_fee_bps")
	case s.RefundWindow < 0:
		return errors.New("refund_window must not be negative" + fix + "refund_window (\"336h\")")
	case s.PendingExpiry < time.Minute:
		return errors.New("pending_expiry must be at least 1m" + fix + "pending_expiry (\"30m\")")
	case s.ReconcileEvery < time.Second:
		return errors.New("reconcile_every must be at least 1s" + fix + "reconcile_every (\"5m\")")
	case s.DownloadTTL < time.Second || s.DownloadTTL > 24*time.Hour:
		return errors.New("download_ttl must be 1s to 24h" + fix + "download_ttl (\"15m\")")
	case s.IdempotencyTTL < time.Hour:
		return errors.New("idempotency_ttl must be at least 1h" + fix + "idempotency_ttl (\"24h\")")
	}
	return nil
}

func (p *Payments) validate(env config.Env) error {
	p.Provider = strings.ToLower(strings.TrimSpace(p.Provider))
	switch p.Provider {
	case "":
		// Unset: the test checkout where nothing is real; elsewhere no
		// provider until the operator chooses one, and orders answer 503.
		if env.IsLocal() {
			p.Provider = "test"
		}
	case "test":
		if env == config.Production {
			return errors.New("payments.provider is test, which takes no money and is refused in production" + fix + "payments.provider: hyperswitch")
		}
		if !env.IsLocal() && p.Test.WebhookSecret == "" {
			return fmt.Errorf("payments.provider is test but payments.test.webhook_secret is empty in %s%spayments.test.webhook_secret or VEZA_MARKETPLACE_PAYMENTS_TEST_WEBHOOK_SECRET (openssl rand -base64 32)", env, fix)
		}
	case "hyperswitch":
		if !p.Hyperswitch.configured() {
			return errors.New("payments.provider is hyperswitch but payments.hyperswitch.api_key or webhook_key is empty" + fix +
				"payments.hyperswitch.api_key and webhook_key (VEZA_MARKETPLACE_PAYMENTS_HYPERSWITCH_API_KEY, VEZA_MARKETPLACE_PAYMENTS_HYPERSWITCH_WEBHOOK_KEY)")
		}
	default:
		return fmt.Errorf("payments.provider=%q must be test or hyperswitch%spayments.provider", p.Provider, fix)
	}
	if err := p.Test.validate(env); err != nil {
		return err
	}
	return p.Hyperswitch.validate()
}

func (t *TestPay) validate(env config.Env) error {
	if t.WebhookSecret == "" && env.IsLocal() {
		t.WebhookSecret = devTestSecret
	}
	if t.WebhookSecret != "" && len(t.WebhookSecret) < 32 && env != config.Production {
		return errors.New("payments.test.webhook_secret must be at least 32 characters" + fix +
			"payments.test.webhook_secret or VEZA_MARKETPLACE_PAYMENTS_TEST_WEBHOOK_SECRET (openssl rand -base64 32)")
	}
	if t.WebhookURL != "" {
		if u, err := url.Parse(t.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("payments.test.webhook_url=%q must be an absolute http(s) URL%spayments.test.webhook_url", t.WebhookURL, fix)
		}
	}
	if t.RefundDelay < 0 || t.RefundDelay > time.Hour {
		return errors.New("payments.test.refund_delay must be 0 to 1h" + fix + "payments.test.refund_delay")
	}
	return nil
}

// enabled reports whether the test provider may run in env: outside
// production, with a secret.
func (t *TestPay) enabled(env config.Env) bool {
	return env != config.Production && len(t.WebhookSecret) >= 32
}

func (h *Hyperswitch) configured() bool { return h.APIKey != "" && h.WebhookKey != "" }

func (h *Hyperswitch) validate() error {
	if !h.configured() {
		return nil
	}
	if u, err := url.Parse(h.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("payments.hyperswitch.base_url=%q must be an absolute http(s) URL%spayments.hyperswitch.base_url", h.BaseURL, fix)
	}
	if h.Timeout < time.Second || h.Timeout > time.Minute {
		return errors.New("payments.hyperswitch.timeout must be 1s to 1m" + fix + "payments.hyperswitch.timeout")
	}
	return nil
}
