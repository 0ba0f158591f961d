package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gofiber/fiber/v2"
)

// Bind decodes the JSON body into dst strictly: the content type must be JSON
// (415), the body must parse (400 malformed_json) and hold one object whose
// fields dst knows (422 naming the unknown field), and every field of dst
// tagged `validate:"required"` must be present and not null (422 naming
// each). That tag is also what the OpenAPI document marks required, so the
// document and the handler cannot disagree. An empty body decodes as {}.
func Bind(c *fiber.Ctx, dst any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	} else if ct := c.Get(fiber.HeaderContentType); !isJSON(ct) {
		return NewError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"send the body as application/json")
	}
	// PostgreSQL text cannot hold NUL: refuse it here, once for every
	// module, rather than fail in the database.
	if bytes.Contains(body, []byte(`\u0000`)) {
		return Invalid(FieldError{Field: "body", Message: "text must not contain NUL characters (\\u0000)"})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return BadRequest("malformed_json", "the body must hold exactly one JSON value")
	}
	return checkRequired(body, dst)
}

// checkRequired answers 422 for each `validate:"required"` field of dst
// that body lacks or sets to null.
func checkRequired(body []byte, dst any) error {
	names := requiredFields(reflect.TypeOf(dst))
	if len(names) == 0 {
		return nil
	}
	var present map[string]json.RawMessage
	if err := json.Unmarshal(body, &present); err != nil {
		return BadRequest("malformed_json", "the body must be a JSON object")
	}
	var v Checker
	for _, name := range names {
		raw, ok := present[name]
		v.Check(ok && string(bytes.TrimSpace(raw)) != "null", name, "is required")
	}
	return v.Err()
}

// required caches the required JSON fields of each body type.
var required sync.Map // reflect.Type -> []string

func requiredFields(t reflect.Type) []string {
	if cached, ok := required.Load(t); ok {
		return cached.([]string)
	}
	var names []string
	st := t
	for st != nil && st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st != nil && st.Kind() == reflect.Struct {
		for i := 0; i < st.NumField(); i++ {
			f := st.Field(i)
			if !f.IsExported() || !slices.Contains(strings.Split(f.Tag.Get("validate"), ","), "required") {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			names = append(names, name)
		}
	}
	required.Store(t, names)
	return names
}

func isJSON(ct string) bool {
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(ct, ";", 2)[0]))
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return BadRequest("malformed_json", fmt.Sprintf("the body is not valid JSON (at byte %d)", syn.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return BadRequest("malformed_json", "the body must be a JSON object")
		}
		return Invalid(FieldError{Field: field, Message: "must be " + jsonKind(typ.Type.Kind().String())})
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return BadRequest("malformed_json", "the body ends too early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return Invalid(FieldError{Field: name, Message: "unknown field"})
	}
	return BadRequest("malformed_json", "the body could not be read as JSON")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "a number"
}

// Checker collects field errors; Err returns 422 when there are any.
//
//	var v httpx.Checker
//	v.Check(len(in.Title) > 0, "title", "is required")
//	if err := v.Err(); err != nil { return err }
type Checker struct{ details []FieldError }

// Check records message for field unless ok.
func (v *Checker) Check(ok bool, field, message string) {
	if !ok {
		v.details = append(v.details, FieldError{Field: field, Message: message})
	}
}

// Add records a field error.
func (v *Checker) Add(field, message string) { v.Check(false, field, message) }

// Err is nil when every check passed.
func (v *Checker) Err() error {
	if len(v.details) == 0 {
		return nil
	}
	return Invalid(v.details...)
}
