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
func CleanInput() fiber.Handler {
	return func(c *fiber.Ctx) error {
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
		c.Request().Header.VisitAll(func(k, v []byte) {
			if bad == nil && !clean(v) {
				bad = badEncoding(string(k), "the header "+string(k))
			}
		})
		if bad != nil {
			return bad
		}
		return c.Next()
	}
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
