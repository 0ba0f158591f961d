// Package page is the API's keyset pagination, for every list of every
// module: ?limit= (1 to 100, default 20) and an opaque ?cursor= holding the
// sort key of the last item of the previous page. Keyset pages stay correct
// while rows are inserted (no item is skipped or repeated, unlike OFFSET)
// and cost the same on page 1 and page 1,000.
//
// A handler reads the request, the store answers "n items after this key",
// Fetch cuts the page:
//
//	req, err := page.Read[page.TimeID](c)
//	items, next, err := page.Fetch(ctx, req, store.listAfter, func(e *Endpoint) page.TimeID {
//		return page.TimeID{At: e.CreatedAt, ID: e.ID}
//	})
//	return httpx.Page(c, items, next)
package page

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/veza/veza/platform/httpx"
)

// The limits of ?limit=.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// maxCursor bounds a decoded cursor: keys are a few fields.
const maxCursor = 1024

// Request is one page asked for: how many items, and the sort key K of the
// last item already seen (nil for the first page).
type Request[K any] struct {
	Limit int
	After *K
}

// Read reads ?limit= and ?cursor= (holding a K) from c. A bad limit or a
// cursor this API did not make is 400.
func Read[K any](c *fiber.Ctx) (Request[K], error) {
	limit, err := readLimit(c.Query("limit"))
	if err != nil {
		return Request[K]{}, err
	}
	r := Request[K]{Limit: limit}
	raw := c.Query("cursor")
	if raw == "" {
		return r, nil
	}
	var k K
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) > maxCursor || json.Unmarshal(b, &k) != nil {
		return Request[K]{}, httpx.BadRequest("bad_cursor", "the cursor is not one this API made; start from the first page")
	}
	r.After = &k
	return r, nil
}

func readLimit(raw string) (int, error) {
	if raw == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, httpx.BadRequest("bad_limit", "limit must be a whole number from 1 to 100")
	}
	return n, nil
}

// Fetcher returns at most n items strictly after the key (nil: from the
// first), in the list's order.
type Fetcher[T, K any] func(ctx context.Context, after *K, n int) ([]T, error)

// Fetch returns one page of at most r.Limit items and the cursor of the
// next page ("" when this one is the last). It asks fetch for one item
// more than the limit, so the last page is known without counting.
func Fetch[T, K any](ctx context.Context, r Request[K], fetch Fetcher[T, K], key func(*T) K) ([]T, string, error) {
	items, err := fetch(ctx, r.After, r.Limit+1)
	if err != nil {
		return nil, "", err
	}
	if len(items) <= r.Limit {
		return items, "", nil
	}
	items = items[:r.Limit]
	return items, encode(key(&items[r.Limit-1])), nil
}

func encode(key any) string {
	b, _ := json.Marshal(key)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TimeID is the most common sort key: newest first, ties broken by id.
type TimeID struct {
	At time.Time `json:"t"`
	ID uuid.UUID `json:"i"`
}
