package openapi

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"time"
)

var (
	timeType          = reflect.TypeFor[time.Time]()
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// Schema returns the JSON schema (in the OpenAPI 3.0 dialect) of the JSON
// encoding of v, so that modules can document their bodies with the Go
// types they already decode and encode.
//
// A map[string]any is taken to be a schema already and returned as is.
// Otherwise the schema follows encoding/json: struct fields are named by
// their `json` tag, embedded structs are flattened, and fields tagged
// "-" are left out. Pointers are nullable, time.Time is a date-time
// string, []byte a base64 string, maps are objects whose values are
// described by additionalProperties, slices and arrays are arrays, and
// nested structs are described inline. Types that implement
// json.Marshaler are described by an empty schema (any value) and those
// that implement only encoding.TextMarshaler as strings.
//
// Schema describes an answer: a field is required whenever encoding/json
// always writes it, that is unless it is tagged omitempty or omitzero (a
// pointer is written as null: nullable, and still required), so a strict
// client reads it without an undefined check. A struct without fields is
// an object with additionalProperties false. A `doc:"..."` tag becomes the
// field's description.
//
// A pointer at the top level is dereferenced without making the schema
// nullable: a body is documented by what it points to. A nil v yields the
// empty schema, which allows any value.
func Schema(v any) map[string]any {
	switch s := v.(type) {
	case nil:
		return map[string]any{}
	case map[string]any:
		return s
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return typeSchema(t, &walk{seen: map[reflect.Type]bool{}})
}

// requestSchema describes a request body: a field is required only when
// the handler requires it, which its `validate:"required"` tag says (and
// httpx.Bind enforces), or when extra names it at the top level.
func requestSchema(v any, extra []string) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s := typeSchema(t, &walk{seen: map[reflect.Type]bool{}, request: true})
	if len(extra) > 0 {
		req, _ := s["required"].([]any)
		for _, name := range extra {
			if !slices.Contains(req, any(name)) {
				req = append(req, name)
			}
		}
		s["required"] = req
	}
	return s
}

// walk is the state of one description: the struct types being described
// (to stop recursive types), and whether it describes a request.
type walk struct {
	seen    map[reflect.Type]bool
	request bool
}

// typeSchema returns the schema of t. w holds the struct types being
// described, to stop recursive types.
func typeSchema(t reflect.Type, w *walk) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case rawMessageType:
		return map[string]any{}
	}
	if t.Kind() == reflect.Pointer {
		s := typeSchema(t.Elem(), w)
		if len(s) > 0 {
			s["nullable"] = true
		}
		return s
	}
	if t.Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(jsonMarshalerType) {
		return map[string]any{}
	}
	if t.Implements(textMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType) {
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16:
		return map[string]any{"type": "integer", "format": "int32"}
	case reflect.Uint32:
		return map[string]any{"type": "integer", "format": "int64", "minimum": 0}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32:
		return map[string]any{"type": "number", "format": "float"}
	case reflect.Float64:
		return map[string]any{"type": "number", "format": "double"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 &&
			!t.Elem().Implements(jsonMarshalerType) && !t.Elem().Implements(textMarshalerType) {
			return map[string]any{"type": "string", "format": "byte"}
		}
		s := map[string]any{"type": "array", "items": typeSchema(t.Elem(), w)}
		if t.Kind() == reflect.Array {
			s["minItems"] = t.Len()
			s["maxItems"] = t.Len()
		}
		return s
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": typeSchema(t.Elem(), w)}
	case reflect.Struct:
		return structSchema(t, w)
	}
	// Interfaces, and kinds encoding/json cannot encode: any value. (Not
	// null: OpenAPI 3.0 allows null only beside a type, and an answer's
	// free-form values are documented not to be null.)
	return map[string]any{}
}

// field is a struct field as encoding/json sees it.
type field struct {
	name     string
	depth    int
	schema   map[string]any
	required bool
}

// structSchema returns the object schema of the struct type t.
func structSchema(t reflect.Type, w *walk) map[string]any {
	if w.seen[t] {
		return map[string]any{"type": "object", "description": "Recursive: same shape as " + t.String() + "."}
	}
	w.seen[t] = true
	defer delete(w.seen, t)

	var fields []field
	collectFields(t, 0, w, &fields)

	// Like encoding/json, a shallower field hides deeper ones of the same
	// name; among fields of equal depth, the first one wins here.
	byName := map[string]int{}
	var kept []field
	for _, f := range fields {
		if i, ok := byName[f.name]; ok {
			if f.depth < kept[i].depth {
				kept[i] = f
			}
			continue
		}
		byName[f.name] = len(kept)
		kept = append(kept, f)
	}

	props := make(map[string]any, len(kept))
	var required []any
	for _, f := range kept {
		props[f.name] = f.schema
		if f.required {
			required = append(required, f.name)
		}
	}
	s := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	if len(props) == 0 {
		s["additionalProperties"] = false // an empty answer: {}
	}
	return s
}

// collectFields appends the JSON fields of the struct type t, found at
// the given embedding depth, to out.
func collectFields(t reflect.Type, depth int, w *walk, out *[]field) {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct && et != timeType &&
				!et.Implements(jsonMarshalerType) && !reflect.PointerTo(et).Implements(jsonMarshalerType) &&
				!et.Implements(textMarshalerType) && !reflect.PointerTo(et).Implements(textMarshalerType) {
				if !w.seen[et] {
					w.seen[et] = true
					collectFields(et, depth+1, w, out)
					delete(w.seen, et)
				}
				continue
			}
			if !sf.IsExported() {
				continue
			}
		} else if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}

		var schema map[string]any
		if hasOption(opts, "string") && isStringable(ft) {
			schema = map[string]any{"type": "string"}
			if ft.Kind() == reflect.Pointer {
				schema["nullable"] = true
			}
		} else {
			schema = typeSchema(ft, w)
		}
		if d := sf.Tag.Get("doc"); d != "" {
			schema["description"] = d
		}

		required := !hasOption(opts, "omitempty") && !hasOption(opts, "omitzero")
		if w.request {
			required = hasOption(sf.Tag.Get("validate"), "required")
		}
		*out = append(*out, field{name: name, depth: depth, schema: schema, required: required})
	}
}

// isStringable reports whether the ",string" json option applies to t.
func isStringable(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	}
	return false
}

// hasOption reports whether the comma-separated list opts holds opt.
func hasOption(opts, opt string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if strings.TrimSpace(o) == opt {
			return true
		}
	}
	return false
}
