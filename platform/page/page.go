// Package page reads and writes the API's keyset pagination: ?limit= (1 to
// 100, default 20) and an opaque ?cursor= that holds the sort key of the
// last item of the previous page.
package page

import (
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

// Limit reads ?limit=; a bad value is 400.
func Limit(c *fiber.Ctx) (int, error) {
	raw := c.Query("limit")
	if raw == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, httpx.BadRequest("bad_limit", "limit must be a whole number from 1 to 100")
	}
	return n, nil
}

// Encode makes a cursor from a sort key.
func Encode(key any) string {
	b, _ := json.Marshal(key)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode reads ?cursor= into key; it reports false when there is none. A
// cursor that does not decode is 400.
func Decode(c *fiber.Ctx, key any) (bool, error) {
	raw := c.Query("cursor")
	if raw == "" {
		return false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(b) > 1024 || json.Unmarshal(b, key) != nil {
		return false, httpx.BadRequest("bad_cursor", "the cursor is not one this API made; start from the first page")
	}
	return true, nil
}

// TimeID is the most common sort key: newest first, ties broken by id.
type TimeID struct {
	At time.Time `json:"t"`
	ID uuid.UUID `json:"i"`
}

// Params reads ?limit= and a TimeID ?cursor=.
func Params(c *fiber.Ctx) (limit int, after *TimeID, err error) {
	if limit, err = Limit(c); err != nil {
		return 0, nil, err
	}
	var k TimeID
	ok, err := Decode(c, &k)
	if err != nil || !ok {
		return limit, nil, err
	}
	return limit, &k, nil
}

// Next returns the cursor after a page of n items whose last has key k, or
// "" when the page was not full (no further page).
func Next(n, limit int, k TimeID) string {
	if n < limit {
		return ""
	}
	return Encode(k)
}
