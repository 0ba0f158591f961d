package openapi

import (
	"reflect"
	"strconv"
	"strings"
)

// pathParam is a parameter found in a Fiber route path.
type pathParam struct {
	name       string
	optional   bool   // ":name?" or "*": the route also matches without it
	greedy     bool   // "*" or "+": the value may contain slashes
	constraint string // Fiber constraint, such as "int" or "regex(^\d+$)"
}

// object returns the OpenAPI parameter object for p.
//
// OpenAPI requires path parameters to be required, so an optional Fiber
// parameter (":id?" or "*") is documented as required and its description
// says that the route also answers without it. Emitting a second path
// without the segment would be more exact, but would double the entries
// the reader has to look through for little gain.
// object returns the parameter object; doc, when it has a schema or a
// description, documents the parameter as the route declared it.
func (p pathParam) object(doc Param) map[string]any {
	schema := map[string]any{"type": "string"}
	if p.name == "id" || strings.HasSuffix(p.name, "_id") {
		schema["format"] = "uuid"
	}
	if doc.Schema != nil {
		schema = Schema(doc.Schema)
	}
	var notes []string
	for c := range strings.SplitSeq(p.constraint, ";") {
		name, arg, _ := strings.Cut(c, "(")
		arg = strings.TrimSuffix(arg, ")")
		switch strings.TrimSpace(name) {
		case "int":
			schema["type"] = "integer"
		case "bool":
			schema["type"] = "boolean"
		case "float":
			schema["type"] = "number"
		case "guid":
			schema["format"] = "uuid"
		case "alpha":
			schema["pattern"] = "^[a-zA-Z]+$"
		case "regex":
			schema["pattern"] = arg
		case "":
		default:
			notes = append(notes, "Constraint: "+c+".")
		}
	}
	if p.greedy {
		notes = append(notes, "May contain slashes.")
	}
	if p.optional {
		notes = append(notes, "Optional: the route also answers without this segment.")
	}
	obj := map[string]any{"name": p.name, "in": "path", "required": true, "schema": schema}
	if doc.Description != "" {
		notes = append([]string{doc.Description}, notes...)
	}
	if len(notes) > 0 {
		obj["description"] = strings.Join(notes, " ")
	}
	return obj
}

// convertPath converts a Fiber route path to an OpenAPI path template and
// returns the parameters it holds, in order. ":id", ":id?" and ":id<int>"
// become "{id}"; the wildcards "*" and "+" become "{wildcard}" and "{plus}",
// numbered from the second on ("{wildcard2}") as Fiber numbers them.
// Escaped characters ("\:") are kept literally.
func convertPath(path string) (string, []pathParam) {
	var b strings.Builder
	var params []pathParam
	wildcards, pluses := 0, 0
	for i := 0; i < len(path); i++ {
		c := path[i]
		switch c {
		case '\\':
			if i+1 < len(path) {
				i++
				b.WriteByte(path[i])
			}
		case '*', '+':
			p := pathParam{greedy: true, optional: c == '*'}
			if c == '*' {
				wildcards++
				p.name = numbered("wildcard", wildcards)
			} else {
				pluses++
				p.name = numbered("plus", pluses)
			}
			params = append(params, p)
			b.WriteString("{" + p.name + "}")
		case ':':
			j := i + 1
			for j < len(path) && !strings.ContainsRune("?:\\/-.<", rune(path[j])) {
				j++
			}
			p := pathParam{name: path[i+1 : j]}
			if j < len(path) && path[j] == '<' {
				end := constraintEnd(path, j)
				p.constraint = path[j+1 : end]
				j = end + 1
			}
			if j < len(path) && path[j] == '?' {
				p.optional = true
				j++
			}
			if p.name == "" {
				// A lone ':' is no parameter for us; keep it literally.
				b.WriteByte(c)
				continue
			}
			params = append(params, p)
			b.WriteString("{" + p.name + "}")
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), params
}

// numbered returns name for the first occurrence and name followed by n
// for the next ones.
func numbered(name string, n int) string {
	if n == 1 {
		return name
	}
	return name + strconv.Itoa(n)
}

// constraintEnd returns the index of the '>' that closes the constraint
// opened at path[start], skipping parenthesised data such as regular
// expressions, or the index of the last byte when it is not closed.
func constraintEnd(path string, start int) int {
	depth := 0
	for k := start + 1; k < len(path); k++ {
		switch path[k] {
		case '\\':
			k++
		case '(':
			depth++
		case ')':
			if depth > 0 {
				depth--
			}
		case '>':
			if depth == 0 {
				return k
			}
		}
	}
	return len(path) - 1
}

// operationID returns the operationId for a route: the module, the method
// and the words of the OpenAPI path, in snake case, such as
// "tracks_get_api_v1_tracks_by_id" for GET /api/v1/tracks/{id}.
func operationID(module, method, path string) string {
	parts := []string{ident(module), method}
	if parts[0] == "" {
		parts[0] = "op"
	}
	for seg := range strings.SplitSeq(path, "/") {
		for len(seg) > 0 {
			open := strings.IndexByte(seg, '{')
			if open < 0 {
				parts = append(parts, ident(seg))
				break
			}
			parts = append(parts, ident(seg[:open]))
			name, rest, _ := strings.Cut(seg[open+1:], "}")
			parts = append(parts, "by_"+ident(name))
			seg = rest
		}
	}
	var words []string
	for _, p := range parts {
		if p != "" {
			words = append(words, p)
		}
	}
	return strings.Join(words, "_")
}

// ident lowercases s and replaces each run of characters other than
// ASCII letters and digits by a single underscore.
func ident(s string) string {
	var b strings.Builder
	pending := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if pending && b.Len() > 0 {
				b.WriteByte('_')
			}
			pending = false
			b.WriteRune(r)
		} else {
			pending = true
		}
	}
	return b.String()
}

// asMap returns v as a map[string]any when it is a map with string keys.
// Maps of other value types are copied; v itself is never modified.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case nil:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	out := make(map[string]any, rv.Len())
	iter := rv.MapRange()
	for iter.Next() {
		out[iter.Key().String()] = iter.Value().Interface()
	}
	return out, true
}
