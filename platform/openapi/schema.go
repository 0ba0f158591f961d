package openapi

import (
	"encoding"
	"encoding/json"
	"reflect"
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
// A field is required when its `validate` tag has the "required" rule, or
// when it is neither a pointer nor tagged omitempty or omitzero. A
// `doc:"..."` tag becomes the field's description.
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
	return typeSchema(t, map[reflect.Type]bool{})
}

// typeSchema returns the schema of t. seen holds the struct types being
// described, to stop recursive types.
func typeSchema(t reflect.Type, seen map[reflect.Type]bool) map[string]any {
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case rawMessageType:
		return map[string]any{}
	}
	if t.Kind() == reflect.Pointer {
		s := typeSchema(t.Elem(), seen)
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
		s := map[string]any{"type": "array", "items": typeSchema(t.Elem(), seen)}
		if t.Kind() == reflect.Array {
			s["minItems"] = t.Len()
			s["maxItems"] = t.Len()
		}
		return s
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": typeSchema(t.Elem(), seen)}
	case reflect.Struct:
		return structSchema(t, seen)
	}
	// Interfaces, and kinds encoding/json cannot encode: any value.
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
func structSchema(t reflect.Type, seen map[reflect.Type]bool) map[string]any {
	if seen[t] {
		return map[string]any{"type": "object", "description": "Recursive: same shape as " + t.String() + "."}
	}
	seen[t] = true
	defer delete(seen, t)

	var fields []field
	collectFields(t, 0, seen, &fields)

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
	return s
}

// collectFields appends the JSON fields of the struct type t, found at
// the given embedding depth, to out.
func collectFields(t reflect.Type, depth int, seen map[reflect.Type]bool, out *[]field) {
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
				if !seen[et] {
					seen[et] = true
					collectFields(et, depth+1, seen, out)
					delete(seen, et)
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
			schema = typeSchema(ft, seen)
		}
		if d := sf.Tag.Get("doc"); d != "" {
			schema["description"] = d
		}

		required := ft.Kind() != reflect.Pointer && !hasOption(opts, "omitempty") && !hasOption(opts, "omitzero")
		if hasOption(sf.Tag.Get("validate"), "required") {
			required = true
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
