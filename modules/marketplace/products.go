package marketplace

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"go.uber.org/zap"

	"github.com/veza/veza/modules/tracks/tracksapi"
	"github.com/veza/veza/platform/authn"
	"github.com/veza/veza/platform/db"
	"github.com/veza/veza/platform/events"
	"github.com/veza/veza/platform/httpx"
	"github.com/veza/veza/platform/page"
)

// The licence types, from the least to the most a buyer may do.
var licenseTypes = []string{"basic", "premium", "exclusive"}

// maxTitle bounds a product's title, in characters.
const maxTitle = 200

// maxPrice bounds a price (a million in major units): a typo of a few
// zeros is refused rather than charged.
const maxPrice = 100_000_000

var productNotFound = httpx.NotFound("product not found")

// ProductInput is the body of POST /marketplace/products.
type ProductInput struct {
	TrackID     string `json:"track_id" validate:"required" doc:"one of your own tracks"`
	Title       string `json:"title" validate:"required"`
	LicenseType string `json:"license_type" validate:"required" doc:"basic, premium or exclusive (sold once)"`
	PriceCents  int64  `json:"price_cents" validate:"required" doc:"in the currency's minor units, above 0"`
	Currency    string `json:"currency" validate:"required" doc:"ISO 4217, one of the deployment's currencies"`
}

// ProductPatch is the body of PUT /marketplace/products/:id: the fields to
// change. A track and a licence type are what a product is; they do not
// change.
type ProductPatch struct {
	Title      *string `json:"title"`
	PriceCents *int64  `json:"price_cents" doc:"applies to orders placed from now on"`
	Currency   *string `json:"currency"`
}

// checkFields validates a product's editable fields, trimming the title
// and upper-casing the currency.
func (s *Service) checkFields(v *httpx.Checker, p *product) {
	p.Title = strings.TrimSpace(p.Title)
	p.Currency = strings.ToUpper(strings.TrimSpace(p.Currency))
	v.Check(p.Title != "", "title", "is required")
	v.Check(utf8.RuneCountInString(p.Title) <= maxTitle, "title", fmt.Sprintf("must be at most %d characters", maxTitle))
	v.Check(p.PriceCents > 0, "price_cents", "must be a whole number above 0 (minor units: 1999 is 19.99)")
	v.Check(p.PriceCents <= maxPrice, "price_cents", fmt.Sprintf("must be at most %d", maxPrice))
	v.Check(slices.Contains(s.settings.Currencies, p.Currency), "currency", "must be one of "+strings.Join(s.settings.Currencies, ", "))
}

// CreateProduct puts a licence to one of the caller's tracks on sale.
func (s *Service) CreateProduct(ctx context.Context, caller *authn.Principal, in ProductInput) (*product, error) {
	trackID, perr := uuid.Parse(in.TrackID)
	p := &product{ID: uuid.Must(uuid.NewV7()), SellerID: caller.UserID, TrackID: trackID, Title: in.Title,
		LicenseType: in.LicenseType, PriceCents: in.PriceCents, Currency: in.Currency}
	var v httpx.Checker
	v.Check(perr == nil, "track_id", "must be a track id")
	v.Check(slices.Contains(licenseTypes, p.LicenseType), "license_type", "must be basic, premium or exclusive")
	s.checkFields(&v, p)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.checkOwnTrack(ctx, caller, trackID); err != nil {
		return nil, err
	}
	err := db.WithTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := s.store.insertProduct(ctx, tx, p); err != nil {
			return err
		}
		return s.publish(ctx, tx, EventProductCreated, ProductEvent{ProductID: p.ID, SellerID: p.SellerID, TrackID: p.TrackID,
			Title: p.Title, LicenseType: p.LicenseType, PriceCents: p.PriceCents, Currency: p.Currency, At: p.CreatedAt.UTC()}, p.SellerID)
	})
	var pqe *pq.Error
	if errors.As(err, &pqe) && pqe.Code == "23505" {
		return nil, httpx.Conflict("product_exists", "this track already has a "+p.LicenseType+" licence on sale; change or delete that product")
	}
	return p, err
}

// checkOwnTrack refuses a track the caller does not own (403) or cannot
// see (422: as if it did not exist).
func (s *Service) checkOwnTrack(ctx context.Context, caller *authn.Principal, id uuid.UUID) error {
	found, err := s.catalog.Visible(ctx, caller, []uuid.UUID{id})
	if err != nil {
		return fmt.Errorf("look up track %s: %w", id, err)
	}
	t, ok := found[id]
	if !ok {
		return httpx.Invalid(httpx.FieldError{Field: "track_id", Message: "no such track"})
	}
	if t.OwnerID != caller.UserID {
		return httpx.Forbidden("not_your_track", "you may sell licences to your own tracks only")
	}
	return nil
}

// Product returns a product on sale or sold; deleted ones are not found.
func (s *Service) Product(ctx context.Context, id uuid.UUID) (*product, error) {
	p, err := s.store.product(ctx, s.db, id)
	if isNotFound(err) {
		return nil, productNotFound
	}
	return p, err
}

// editable loads a product its seller or an admin may change.
func (s *Service) editable(ctx context.Context, caller *authn.Principal, id uuid.UUID) (*product, error) {
	p, err := s.Product(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := authn.RequireOwnerOrAdmin(caller, p.SellerID); err != nil {
		return nil, err
	}
	return p, nil
}

// UpdateProduct changes a product's title, price or currency.
func (s *Service) UpdateProduct(ctx context.Context, caller *authn.Principal, id uuid.UUID, in ProductPatch) (*product, error) {
	p, err := s.editable(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	if in.Title != nil {
		p.Title = *in.Title
	}
	if in.PriceCents != nil {
		p.PriceCents = *in.PriceCents
	}
	if in.Currency != nil {
		p.Currency = *in.Currency
	}
	var v httpx.Checker
	s.checkFields(&v, p)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.store.updateProduct(ctx, s.db, p); isNotFound(err) {
		return nil, productNotFound
	} else if err != nil {
		return nil, err
	}
	return p, nil
}

// DeleteProduct takes a product off sale. Its licences and orders stay.
func (s *Service) DeleteProduct(ctx context.Context, caller *authn.Principal, id uuid.UUID) error {
	if _, err := s.editable(ctx, caller, id); err != nil {
		return err
	}
	return s.store.deleteProduct(ctx, id)
}

// ListProducts returns a page of products on sale.
func (s *Service) ListProducts(ctx context.Context, f productFilter, r page.Request[productCursor]) ([]product, string, error) {
	return page.Fetch(ctx, r, func(ctx context.Context, after *productCursor, n int) ([]product, error) {
		return s.store.listProducts(ctx, f, after, n)
	}, func(p *product) productCursor { return productCursor{Price: p.PriceCents, At: p.CreatedAt, ID: p.ID} })
}

// onTrackDeleted withdraws the products of a deleted track: there is
// nothing left to sell. Licences stay, as records of what was bought.
func (s *Service) onTrackDeleted(ctx context.Context, ev events.Event) error {
	var p tracksapi.TrackEvent
	if err := ev.Decode(&p); err != nil {
		return err
	}
	n, err := s.store.deleteTrackProducts(ctx, p.TrackID)
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.Info("withdrew the products of a deleted track", zap.Stringer("track_id", p.TrackID), zap.Int64("products", n))
	}
	return nil
}
