package page

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/veza/veza/platform/httpx"
)

// Walking a list page by page yields every item once, whatever the page
// size, and the last page says so with an empty cursor.
func TestFetchWalksEveryItemOnce(t *testing.T) {
	items := make([]int, 47)
	for i := range items {
		items[i] = i
	}
	fetch := func(_ context.Context, after *int, n int) ([]int, error) {
		start := 0
		if after != nil {
			start = *after + 1
		}
		end := min(start+n, len(items))
		return items[start:end], nil
	}
	for _, limit := range []int{1, 5, 46, 47, 48, 100} {
		var seen []int
		req := Request[int]{Limit: limit}
		for pages := 0; ; pages++ {
			got, next, err := Fetch(context.Background(), req, fetch, func(i *int) int { return *i })
			if err != nil || len(got) > limit || pages > 100 {
				t.Fatalf("limit %d: %v, %d items", limit, err, len(got))
			}
			seen = append(seen, got...)
			if next == "" {
				break
			}
			req = readCursor(t, next, limit)
		}
		if len(seen) != len(items) {
			t.Fatalf("limit %d: saw %d items, want %d", limit, len(seen), len(items))
		}
		for i, v := range seen {
			if v != i {
				t.Fatalf("limit %d: item %d is %d", limit, i, v)
			}
		}
	}
}

// readCursor parses a cursor as a client would send it back.
func readCursor(t *testing.T, cursor string, limit int) Request[int] {
	t.Helper()
	app := fiber.New()
	var got Request[int]
	app.Get("/", func(c *fiber.Ctx) error {
		var err error
		got, err = Read[int](c)
		return err
	})
	res, err := app.Test(httptest.NewRequest("GET", "/?limit="+strconv.Itoa(limit)+"&cursor="+cursor, nil))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("cursor %q: %v %v", cursor, err, res.StatusCode)
	}
	return got
}

func TestReadRefusesBadInput(t *testing.T) {
	app := fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler(nil)})
	app.Get("/", func(c *fiber.Ctx) error {
		_, err := Read[TimeID](c)
		return err
	})
	for query, code := range map[string]int{
		"": 200, "limit=1": 200, "limit=100": 200,
		"limit=0": 400, "limit=101": 400, "limit=-1": 400, "limit=ten": 400, "limit=99999999999999999999": 400,
		"cursor=!!": 400, "cursor=e30": 200, "cursor=bm90IGpzb24": 400,
	} {
		res, err := app.Test(httptest.NewRequest("GET", "/?"+query, nil))
		if err != nil || res.StatusCode != code {
			t.Errorf("?%s: %v %d, want %d", query, err, res.StatusCode, code)
		}
	}
}
