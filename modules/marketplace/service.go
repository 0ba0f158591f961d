package marketplace

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/marketplace/payments"
	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/config"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/httpx"
)

// Service holds the marketplace's rules: who sells what, orders and their
// keys, the payment state machine, licences, refunds and the ledger.
type Service struct {
	db        *sqlx.DB
	store     *store
	pub       *events.Publisher
	catalog   tracksapi.Catalog
	files     tracksapi.Files
	providers providers
	settings  *Settings
	env       config.Env
	baseURL   string
	// linkKey signs download URLs.
	linkKey []byte
	log     *zap.Logger
	now     func() time.Time
}

// providers are the configured payment providers, by name.
type providers map[string]payments.Provider

// newProviders builds the providers the settings configure: the test
// provider outside production, Hyperswitch when it has its keys.
func newProviders(tp *testProvider, s *Settings, cfg *config.Config) providers {
	out := providers{}
	if s.Payments.Test.enabled(cfg.Env) {
		out[tp.Name()] = tp
	}
	if h := s.Payments.Hyperswitch; h.configured() {
		hs := payments.NewHyperswitch(payments.HyperswitchConfig{BaseURL: h.BaseURL, APIKey: h.APIKey, WebhookKey: h.WebhookKey, Timeout: h.Timeout}, nil)
		out[hs.Name()] = hs
	}
	return out
}

func newService(pool *sqlx.DB, st *store, pub *events.Publisher, catalog tracksapi.Catalog, files tracksapi.Files,
	ps providers, s *Settings, cfg *config.Config, log *zap.Logger) (*Service, error) {
	// Download URLs are signed with a key of their own, derived from the
	// platform's secret: nothing more for operators to keep, and a URL
	// says nothing about the tokens signed with that secret.
	key, err := hkdf.Key(sha256.New, []byte(cfg.JWTSecret), nil, "veza marketplace download url", 32)
	if err != nil {
		return nil, fmt.Errorf("marketplace: derive the download key: %w", err)
	}
	return &Service{db: pool, store: st, pub: pub, catalog: catalog, files: files, providers: ps, settings: s,
		env: cfg.Env, baseURL: cfg.PublicURL, linkKey: key, log: log, now: time.Now}, nil
}

// provider returns the provider of an order, or 503 when the deployment
// no longer configures it.
func (s *Service) provider(name string) (payments.Provider, error) {
	if p, ok := s.providers[name]; ok {
		return p, nil
	}
	if name == "" {
		return nil, httpx.Unavailable("payment_unavailable", "this deployment takes no payments yet",
			errors.New("no payment provider; fix: set modules.marketplace.settings.payments.provider"))
	}
	return nil, httpx.Unavailable("payment_unavailable", "the payment provider "+name+" is not configured here",
		fmt.Errorf("provider %q is not configured", name))
}

// providerError answers a provider's failure: 503, the details logged.
func providerError(err error) error {
	return httpx.Unavailable("payment_unavailable", "the payment provider did not answer; try again", err)
}

// orderNotFound is also what a caller gets for someone else's order.
var orderNotFound = httpx.NotFound("order not found")

// audience is who an order's events concern: its buyer and its sellers.
func audience(o *order) []uuid.UUID {
	out := []uuid.UUID{o.BuyerID}
	seen := map[uuid.UUID]bool{o.BuyerID: true}
	for _, it := range o.Items {
		if !seen[it.SellerID] {
			seen[it.SellerID] = true
			out = append(out, it.SellerID)
		}
	}
	return out
}

func orderEvent(o *order, at time.Time) OrderEvent {
	rows := make([]OrderEventRow, len(o.Items))
	for i, it := range o.Items {
		rows[i] = OrderEventRow{ProductID: it.ProductID, SellerID: it.SellerID, TrackID: it.TrackID, LicenseType: it.LicenseType, PriceCents: it.PriceCents}
	}
	return OrderEvent{OrderID: o.ID, BuyerID: o.BuyerID, Status: o.Status, TotalCents: o.TotalCents, Currency: o.Currency, Items: rows, At: at.UTC()}
}

// isNotFound reports a store's missing row.
func isNotFound(err error) bool { return errors.Is(err, errNotFound) }

// publish writes an event in tx.
func (s *Service) publish(ctx context.Context, tx sqlx.ExtContext, eventType string, payload any, to ...uuid.UUID) error {
	_, err := s.pub.Publish(ctx, tx, eventType, payload, to...)
	return err
}
