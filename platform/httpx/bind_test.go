package httpx

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// The body decoder's answers, through a real Fiber app and its error
// handler.
func TestBind(t *testing.T) {
	app := fiber.New(fiber.Config{ErrorHandler: ErrorHandler(nil)})
	app.Use(RequestIDMiddleware())
	app.Post("/", func(c *fiber.Ctx) error {
		var in struct {
			Name string `json:"name"`
			Age  int    `json:"age"`
		}
		if err := Bind(c, &in); err != nil {
			return err
		}
		return OK(c, in)
	})
	cases := []struct {
		body, ct string
		status   int
		code     string
	}{
		{`{"name":"a","age":3}`, "application/json", 200, ""},
		{``, "", 200, ""},
		{`{"name":"a"}`, "application/merge-patch+json", 200, ""},
		{`{"name":`, "application/json", 400, "malformed_json"},
		{`{"name":"a"} {"name":"b"}`, "application/json", 400, "malformed_json"},
		{`[1]`, "application/json", 400, "malformed_json"},
		{`{"age":"old"}`, "application/json", 422, "validation_failed"},
		{`{"nick":"x"}`, "application/json", 422, "validation_failed"},
		{`{"name":"a\u0000b"}`, "application/json", 422, "validation_failed"},
		{`name=a`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
	}
	for _, c := range cases {
		req := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		if c.ct != "" {
			req.Header.Set("Content-Type", c.ct)
		}
		res, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		buf := string(raw)
		if res.StatusCode != c.status || (c.code != "" && !strings.Contains(buf, `"code":"`+c.code+`"`)) {
			t.Errorf("%q (%s): %d %s, want %d %s", c.body, c.ct, res.StatusCode, buf, c.status, c.code)
		}
		if c.code != "" && !strings.Contains(buf, `"request_id":"`) {
			t.Errorf("%q: no request id in %s", c.body, buf)
		}
	}
}
