package marketplace_test

import (
	"net/url"
	"testing"

	"github.com/google/uuid"
)

// Products: only on one's own tracks, validated, one live product per
// track and licence type, changed and deleted by their seller or an admin,
// listed with filters and sorts in keyset pages, and withdrawn when their
// track is deleted.
func TestProducts(t *testing.T) {
	e := start(t, nil)
	sellerID, seller := e.user(t, "seller", "creator")
	otherID, other := e.user(t, "other", "artist")
	_, listener := e.user(t, "listener", "user")
	adminID, admin := e.user(t, "admin", "admin")
	track := e.track(t, sellerID)
	body := func(kind string, price any, currency string) map[string]any {
		return map[string]any{"track_id": track, "title": "  Night  ", "license_type": kind, "price_cents": price, "currency": currency}
	}

	e.Do(t, "POST", "/api/v1/marketplace/products", body("basic", 100, "EUR"), as(listener)...).ErrorCode(t, 403, "forbidden")
	e.Do(t, "POST", "/api/v1/marketplace/products", body("basic", 100, "EUR"), as(other)...).ErrorCode(t, 403, "not_your_track")
	e.Do(t, "POST", "/api/v1/marketplace/products", body("basic", 100, "EUR"), as(admin)...).ErrorCode(t, 403, "not_your_track")
	for field, b := range map[string]map[string]any{
		"price_cents":  body("basic", 0, "EUR"),
		"currency":     body("basic", 100, "JPY"),
		"license_type": body("lifetime", 100, "EUR"),
	} {
		env := e.Do(t, "POST", "/api/v1/marketplace/products", b, as(seller)...).ErrorCode(t, 422, "validation_failed")
		if len(env.Error.Details) != 1 || env.Error.Details[0].Field != field {
			t.Errorf("%s: details %+v", field, env.Error.Details)
		}
	}
	e.Do(t, "POST", "/api/v1/marketplace/products", body("basic", 12.5, "EUR"), as(seller)...).ErrorCode(t, 422, "validation_failed")
	missing := body("basic", 100, "EUR")
	missing["track_id"] = uuid.New()
	e.Do(t, "POST", "/api/v1/marketplace/products", missing, as(seller)...).ErrorCode(t, 422, "validation_failed")

	var basic, exclusive product
	e.Do(t, "POST", "/api/v1/marketplace/products", body("basic", 900, "eur"), as(seller)...).Status(t, 201).Data(t, &basic)
	if basic.Title != "Night" || basic.Currency != "EUR" {
		t.Fatalf("product = %+v", basic)
	}
	e.Do(t, "POST", "/api/v1/marketplace/products", body("basic", 500, "EUR"), as(seller)...).ErrorCode(t, 409, "product_exists")
	e.Do(t, "POST", "/api/v1/marketplace/products", body("exclusive", 90000, "EUR"), as(seller)...).Status(t, 201).Data(t, &exclusive)
	cheap := e.product(t, other, e.track(t, otherID), "premium", 300)

	e.Do(t, "PUT", "/api/v1/marketplace/products/"+basic.ID.String(), map[string]any{"price_cents": 1200}, as(other)...).ErrorCode(t, 403, "forbidden")
	var changed product
	e.Do(t, "PUT", "/api/v1/marketplace/products/"+basic.ID.String(), map[string]any{"price_cents": 1200}, as(seller)...).Status(t, 200).Data(t, &changed)
	e.Do(t, "PUT", "/api/v1/marketplace/products/"+basic.ID.String(), map[string]any{"license_type": "exclusive"}, as(seller)...).ErrorCode(t, 422, "validation_failed")
	e.Do(t, "PUT", "/api/v1/marketplace/products/"+basic.ID.String(), map[string]any{"title": "Night (basic)"}, as(admin)...).Status(t, 200).Data(t, &changed)
	if changed.PriceCents != 1200 || changed.Title != "Night (basic)" || changed.SellerID != sellerID || changed.SellerID == adminID {
		t.Fatalf("after the changes: %+v", changed)
	}

	list := func(query string) ([]uuid.UUID, string) {
		var page struct {
			Items      []product `json:"items"`
			NextCursor *string   `json:"next_cursor"`
		}
		e.Do(t, "GET", "/api/v1/marketplace/products?"+query, nil).Status(t, 200).Data(t, &page)
		ids := make([]uuid.UUID, len(page.Items))
		for i, p := range page.Items {
			ids[i] = p.ID
		}
		next := ""
		if page.NextCursor != nil {
			next = *page.NextCursor
		}
		return ids, next
	}
	equal := func(what string, got []uuid.UUID, want ...uuid.UUID) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %v, want %v", what, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: %v, want %v", what, got, want)
			}
		}
	}
	got, _ := list("sort=price_asc")
	equal("by price", got, cheap.ID, basic.ID, exclusive.ID)
	got, _ = list("sort=price_desc")
	equal("by price, descending", got, exclusive.ID, basic.ID, cheap.ID)
	got, next := list("sort=price_asc&limit=2")
	equal("first page", got, cheap.ID, basic.ID)
	got, last := list("sort=price_asc&limit=2&cursor=" + url.QueryEscape(next))
	equal("second page", got, exclusive.ID)
	if last != "" {
		t.Fatal("the last page has a cursor")
	}
	got, _ = list("license_type=exclusive")
	equal("exclusive", got, exclusive.ID)
	got, _ = list("seller_id=" + otherID.String())
	equal("other's", got, cheap.ID)
	got, _ = list("q=" + url.QueryEscape("(BASIC"))
	equal("search", got, basic.ID)
	got, _ = list("q=%25")
	equal("a literal %", got)
	e.Do(t, "GET", "/api/v1/marketplace/products?sort=cheapest", nil).ErrorCode(t, 400, "bad_parameter")

	e.Do(t, "DELETE", "/api/v1/marketplace/products/"+cheap.ID.String(), nil, as(seller)...).ErrorCode(t, 403, "forbidden")
	e.Do(t, "DELETE", "/api/v1/marketplace/products/"+cheap.ID.String(), nil, as(other)...).Status(t, 204)
	e.Do(t, "GET", "/api/v1/marketplace/products/"+cheap.ID.String(), nil).ErrorCode(t, 404, "not_found")

	// Deleting the track withdraws its products.
	e.Do(t, "DELETE", "/api/v1/tracks/"+track.String(), nil, as(seller)...).Status(t, 204)
	e.eventually(t, 0, `SELECT count(*) FROM marketplace_products WHERE track_id = $1 AND deleted_at IS NULL`, track)
	got, _ = list("")
	equal("after the track's deletion", got)
}
