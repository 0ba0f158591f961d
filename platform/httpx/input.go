package httpx

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// CleanInput refuses, with 400 bad_encoding, a request whose path, query
// parameters (names and values, after percent-decoding) or header values
// hold a NUL byte or are not valid UTF-8. PostgreSQL text cannot store NUL
// and refuses invalid UTF-8, so such input would otherwise reach a query
// and fail there as a 500; checking it once here covers every route,
// present and future, instead of each handler. JSON bodies are checked by
// Bind, multipart fields by the handlers that read them.
//
// Almost every request is plain ASCII without escapes; that is checked on
// the raw bytes in one pass, and only other requests are decoded and
// checked part by part.
func CleanInput() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !plainASCII(c.Request().Header.RequestURI(), '%') {
			if err := checkURI(c); err != nil {
				return err
			}
		}
		if raw := c.Request().Header.RawHeaders(); len(raw) == 0 || !plainASCII(raw, 0) {
			if err := checkHeaders(c); err != nil {
				return err
			}
		}
		return c.Next()
	}
}

// plainASCII reports whether b holds only ASCII bytes other than NUL and
// also (unless 0) other than escape.
func plainASCII(b []byte, escape byte) bool {
	for _, c := range b {
		if c == 0 || c >= 0x80 || (escape != 0 && c == escape) {
			return false
		}
	}
	return true
}

func checkURI(c *fiber.Ctx) error {
	if !clean(c.Context().Path()) {
		return badEncoding("path", "the path")
	}
	var bad *Error
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		if bad == nil && (!clean(k) || !clean(v)) {
			bad = badEncoding(printable(k), "the query parameter "+printable(k))
		}
	})
	if bad != nil {
		return bad
	}
	return nil
}

func checkHeaders(c *fiber.Ctx) error {
	var bad *Error
	c.Request().Header.VisitAll(func(k, v []byte) {
		if bad == nil && !clean(v) {
			bad = badEncoding(string(k), "the header "+string(k))
		}
	})
	if bad != nil {
		return bad
	}
	return nil
}

func clean(b []byte) bool {
	for _, c := range b {
		if c == 0 {
			return false
		}
	}
	return utf8.Valid(b)
}

func badEncoding(field, what string) *Error {
	e := NewError(http.StatusBadRequest, "bad_encoding", what+" holds a NUL byte or invalid UTF-8")
	e.Details = []FieldError{{Field: field, Message: "must be valid UTF-8 without NUL bytes"}}
	return e
}

// printable shows a parameter name in an answer without echoing the bytes
// that made it bad.
func printable(b []byte) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || r == 0 {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(string(b), "?"))
}
