// Package openapi builds the OpenAPI 3.0.3 document that describes the
// routes of the enabled modules, and serves it together with an embedded,
// self-contained API reference page.
//
// Modules describe their routes as [Operation] values. [Build] turns them
// into a document in which every operation carries the platform's response
// envelopes: successful JSON responses are wrapped in
// {"success": true, "data": ...} and client errors reference the shared
// Error schema. [JSONHandler] serves that document and [DocsHandler] serves
// a page that lets a reader browse it and try requests against the running
// server. The page fetches nothing but the document and its own assets.
package openapi

import (
	"maps"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Version is the OpenAPI Specification version of the documents Build
// produces.
const Version = "3.0.3"

// Operation describes one route for the document. Modules fill one in for
// each route they register, so that the document always lists exactly the
// routes the running server answers.
type Operation struct {
	// Method is the HTTP method, such as "GET". Methods that OpenAPI 3.0
	// cannot describe (CONNECT, or Fiber's catch-all "USE") are left out.
	Method string
	// Path is the full path as registered in Fiber, such as
	// "/api/v1/tracks/:id" or "/files/*". Build converts it to the OpenAPI
	// template syntax and documents its parameters.
	Path string
	// Module is the name of the module that serves the route. It becomes
	// the operation's tag, which groups operations in the reference page.
	Module string
	// Summary is a short, one-line description of the operation.
	Summary string
	// Description explains the operation in more detail.
	Description string
	// ID is the operationId, such as "tracks.list"; when empty one is made
	// from the module, the method and the path.
	ID string
	// Security says how callers authenticate; the zero value is Public.
	// Bearer operations document the 401 and 403 responses.
	Security Security
	// Roles optionally lists the roles allowed to call the operation. They
	// are appended to the description and listed in the x-roles extension.
	Roles []string
	// Request is the request body: a JSON schema as a map[string]any, or a
	// Go value whose schema is derived by Schema. Nil means no body.
	Request any
	// RequestContentType is the media type of the request body. It
	// defaults to "application/json" when Request is not nil.
	RequestContentType string
	// Responses documents the responses by status code. When it is empty
	// a plain 200 response is documented.
	Responses map[int]Response
	// RequestRequired names request body fields the handler requires
	// beyond those its type marks with `validate:"required"`.
	RequestRequired []string
	// PathParams documents path parameters by name. Others are strings,
	// with format uuid when named "id" or ending in "_id".
	PathParams map[string]Param
	// Query lists the query parameters.
	Query []Param
	// Headers lists the request header parameters.
	Headers []Param
	// Deprecated marks the operation as deprecated.
	Deprecated bool
}

// Response describes one response of an Operation.
type Response struct {
	// Description tells when the response is sent. It defaults to the
	// status text of the response's code.
	Description string
	// Schema is the schema of the body: a map[string]any or a Go value
	// understood by Schema. For a successful JSON response it describes
	// the "data" member of the success envelope, not the whole body.
	Schema any
	// ContentType is the media type of the body, "application/json" when
	// empty. Bodies of other types, such as "audio/mpeg", are documented
	// as they are, without the success envelope; several such types are
	// separated by commas ("audio/*,application/octet-stream").
	ContentType string
}

// Security is how an operation authenticates its callers.
type Security int

// The kinds of Security. Public operations say so (security: []) rather
// than inheriting a default, as clients and linters need.
const (
	// Public operations take no credentials.
	Public Security = iota
	// Bearer operations need "Authorization: Bearer <access JWT>".
	Bearer
	// OptionalBearer operations answer anyone, and more to a caller that
	// sends a token (a private track to its owner).
	OptionalBearer
	// APIKey operations need the X-Internal-API-Key header (callbacks
	// from Veza's own services).
	APIKey
)

// Scheme names in components.securitySchemes.
const (
	BearerScheme = "bearer"
	APIKeyScheme = "internalKey"
	// APIKeyHeader carries the internal API key.
	APIKeyHeader = "X-Internal-API-Key"
)

// securityRequirement is the operation's security list.
func (s Security) requirement() []any {
	switch s {
	case Bearer:
		return []any{map[string]any{BearerScheme: []any{}}}
	case OptionalBearer:
		return []any{map[string]any{}, map[string]any{BearerScheme: []any{}}}
	case APIKey:
		return []any{map[string]any{APIKeyScheme: []any{}}}
	}
	return []any{}
}

// Param describes a query or header parameter of an Operation.
type Param struct {
	Name        string
	Description string
	Required    bool
	// Schema is the parameter's schema: a map[string]any or a Go value
	// understood by Schema. It defaults to a string.
	Schema any
}

// Info holds the document-wide metadata of an API.
type Info struct {
	// Title is the name of the API; it defaults to "Veza API".
	Title string
	// Version is the version of the API (not of OpenAPI); it defaults
	// to "0.0.0".
	Version string
	// Description is a longer, free-form description of the API.
	Description string
	// ServerURL, when not empty, is listed as the document's only server.
	ServerURL string
	// Tags describe the modules, whose names tag their operations.
	Tags []Tag
}

// Tag describes one tag (a module) of the document.
type Tag struct {
	Name        string
	Description string
}

// errorSchemaRef is the JSON reference of the shared error envelope schema.
const errorSchemaRef = "#/components/schemas/Error"

// oasMethods lists the methods an OpenAPI 3.0 path item can hold.
var oasMethods = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true,
	"options": true, "head": true, "patch": true, "trace": true,
}

// Build returns the OpenAPI 3.0.3 document for ops as a JSON-ready map.
//
// Operations are ordered by path and then by method, so the same input
// always yields the same document and the same operationIds. When two
// operations share a method and a path, the first one given is kept, as
// Fiber serves the handler registered first.
//
// The document's components hold the bearerAuth security scheme and the
// Error schema, merged with components: within each section, such as
// "schemas", entries of components replace the built-in entries of the
// same name. Schema entries may be Go values; they go through Schema.
// Build does not modify its arguments.
func Build(info Info, ops []Operation, components map[string]any) map[string]any {
	if info.Title == "" {
		info.Title = "Veza API"
	}
	if info.Version == "" {
		info.Version = "0.0.0"
	}
	infoObj := map[string]any{"title": info.Title, "version": info.Version}
	if info.Description != "" {
		infoObj["description"] = info.Description
	}

	type entry struct {
		op     Operation
		path   string
		method string
		params []pathParam
		idx    int
	}
	entries := make([]entry, 0, len(ops))
	for i, op := range ops {
		method := strings.ToLower(strings.TrimSpace(op.Method))
		if !oasMethods[method] {
			continue
		}
		path, params := convertPath(op.Path)
		entries = append(entries, entry{op: op, path: path, method: method, params: params, idx: i})
	}
	sort.SliceStable(entries, func(i, j int) bool {
		if entries[i].path != entries[j].path {
			return entries[i].path < entries[j].path
		}
		return entries[i].method < entries[j].method
	})

	paths := map[string]any{}
	tagSet := map[string]bool{}
	usedIDs := map[string]bool{}
	for _, e := range entries {
		item, _ := paths[e.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[e.path] = item
		}
		if _, dup := item[e.method]; dup {
			continue
		}
		id := e.op.ID
		if id == "" {
			id = operationID(e.op.Module, e.method, e.path)
		}
		if usedIDs[id] {
			base := id
			for n := 2; usedIDs[id]; n++ {
				id = base + "_" + strconv.Itoa(n)
			}
		}
		usedIDs[id] = true
		if e.op.Module != "" {
			tagSet[e.op.Module] = true
		}
		item[e.method] = buildOperation(e.op, id, e.params)
	}

	described := map[string]string{}
	for _, t := range info.Tags {
		described[t.Name] = t.Description
	}
	tags := make([]any, 0, len(tagSet))
	for _, name := range slices.Sorted(maps.Keys(tagSet)) {
		tag := map[string]any{"name": name}
		if d := described[name]; d != "" {
			tag["description"] = d
		}
		tags = append(tags, tag)
	}

	doc := map[string]any{
		"openapi":    Version,
		"info":       infoObj,
		"paths":      paths,
		"tags":       tags,
		"components": mergeComponents(defaultComponents(), components),
	}
	if info.ServerURL != "" {
		doc["servers"] = []any{map[string]any{"url": info.ServerURL}}
	}
	return doc
}

// buildOperation returns the OpenAPI operation object for op.
func buildOperation(op Operation, id string, pathParams []pathParam) map[string]any {
	o := map[string]any{"operationId": id}
	if op.Module != "" {
		o["tags"] = []any{op.Module}
	}
	if op.Summary != "" {
		o["summary"] = op.Summary
	}
	desc := op.Description
	if len(op.Roles) > 0 {
		if desc != "" {
			desc += "\n\n"
		}
		desc += "Roles: " + strings.Join(op.Roles, ", ")
		roles := make([]any, len(op.Roles))
		for i, r := range op.Roles {
			roles[i] = r
		}
		o["x-roles"] = roles
	}
	if desc != "" {
		o["description"] = desc
	}
	if op.Deprecated {
		o["deprecated"] = true
	}
	o["security"] = op.Security.requirement()

	var params []any
	for _, p := range pathParams {
		params = append(params, p.object(op.PathParams[p.name]))
	}
	for _, p := range op.Query {
		params = append(params, paramObject("query", p))
	}
	for _, p := range op.Headers {
		params = append(params, paramObject("header", p))
	}
	if len(params) > 0 {
		o["parameters"] = params
	}

	if op.Request != nil {
		ct := op.RequestContentType
		if ct == "" {
			ct = "application/json"
		}
		o["requestBody"] = map[string]any{
			"required": true,
			"content":  map[string]any{ct: map[string]any{"schema": requestSchema(op.Request, op.RequestRequired)}},
		}
	}

	responses := map[string]any{}
	if len(op.Responses) == 0 {
		responses["200"] = responseObject(http.StatusOK, Response{})
	}
	for code, r := range op.Responses {
		responses[strconv.Itoa(code)] = responseObject(code, r)
	}
	errorCodes := []int{http.StatusBadRequest, http.StatusNotFound, http.StatusTooManyRequests}
	if op.Security == Bearer || op.Security == APIKey {
		errorCodes = append(errorCodes, http.StatusUnauthorized, http.StatusForbidden)
	}
	if op.Request != nil {
		errorCodes = append(errorCodes, http.StatusUnprocessableEntity)
	}
	for _, code := range errorCodes {
		if _, ok := op.Responses[code]; !ok {
			responses[strconv.Itoa(code)] = errorResponse(code, "")
		}
	}
	o["responses"] = responses
	return o
}

// paramObject returns the OpenAPI parameter object for p located in in.
func paramObject(in string, p Param) map[string]any {
	obj := map[string]any{"name": p.Name, "in": in, "schema": stringOr(p.Schema)}
	if p.Description != "" {
		obj["description"] = p.Description
	}
	if p.Required {
		obj["required"] = true
	}
	return obj
}

// stringOr returns the schema of v, or a string schema when v is nil.
func stringOr(v any) map[string]any {
	if v == nil {
		return map[string]any{"type": "string"}
	}
	return Schema(v)
}

// responseObject returns the OpenAPI response object for r sent with code.
func responseObject(code int, r Response) map[string]any {
	desc := r.Description
	if desc == "" {
		desc = statusText(code)
	}
	if code >= 400 && isJSON(r.ContentType) && r.Schema == nil {
		return errorResponse(code, desc)
	}
	obj := map[string]any{"description": desc}
	if code == http.StatusNoContent || code == http.StatusNotModified {
		return obj
	}
	switch {
	case !isJSON(r.ContentType):
		schema := map[string]any{"type": "string", "format": "binary"}
		if r.Schema != nil {
			schema = Schema(r.Schema)
		}
		content := map[string]any{}
		for ct := range strings.SplitSeq(r.ContentType, ",") {
			content[strings.TrimSpace(ct)] = map[string]any{"schema": schema}
		}
		obj["content"] = content
	case code >= 200 && code < 300:
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		obj["content"] = map[string]any{ct: map[string]any{"schema": successEnvelope(r.Schema)}}
	case r.Schema != nil:
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		obj["content"] = map[string]any{ct: map[string]any{"schema": Schema(r.Schema)}}
	}
	return obj
}

// successEnvelope returns the schema of the success envelope around data.
func successEnvelope(data any) map[string]any {
	props := map[string]any{
		"success": map[string]any{"type": "boolean", "enum": []any{true}},
	}
	required := []any{"success"}
	if data != nil {
		props["data"] = Schema(data)
		required = append(required, "data")
	} else {
		props["data"] = map[string]any{}
	}
	return map[string]any{"type": "object", "required": required, "properties": props}
}

// errorResponse returns a response object whose body is the error envelope.
func errorResponse(code int, desc string) map[string]any {
	if desc == "" {
		desc = statusText(code)
	}
	return map[string]any{
		"description": desc,
		"content": map[string]any{"application/json": map[string]any{
			"schema": map[string]any{"$ref": errorSchemaRef},
		}},
	}
}

// statusText returns the standard text for code, or a generic one.
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return t
	}
	return "Status " + strconv.Itoa(code)
}

// isJSON reports whether the media type ct carries JSON. The empty media
// type is taken to be JSON, the platform's default.
func isJSON(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// defaultComponents returns the components every document has.
func defaultComponents() map[string]any {
	str := map[string]any{"type": "string"}
	return map[string]any{
		"securitySchemes": map[string]any{
			BearerScheme: map[string]any{
				"type":         "http",
				"scheme":       "bearer",
				"bearerFormat": "JWT",
				"description":  "The access token from POST /api/v1/auth/login, as \"Authorization: Bearer <JWT>\".",
			},
			APIKeyScheme: map[string]any{
				"type":        "apiKey",
				"in":          "header",
				"name":        APIKeyHeader,
				"description": "The internal API key shared with Veza's own services (STREAM_SERVER_INTERNAL_API_KEY).",
			},
		},
		"schemas": map[string]any{
			"Error": map[string]any{
				"type":        "object",
				"description": "The envelope of every error response.",
				"required":    []any{"success", "error"},
				"properties": map[string]any{
					"success": map[string]any{"type": "boolean", "enum": []any{false}},
					"error": map[string]any{
						"type":     "object",
						"required": []any{"code", "message"},
						"properties": map[string]any{
							"code":    map[string]any{"type": "string", "description": "Stable, machine-readable error code."},
							"message": map[string]any{"type": "string", "description": "Human-readable explanation."},
							"details": map[string]any{
								"type":        "array",
								"description": "Per-field problems, for validation errors.",
								"items": map[string]any{
									"type":     "object",
									"required": []any{"field", "message"},
									"properties": map[string]any{
										"field":   str,
										"message": str,
									},
								},
							},
						},
					},
					"request_id": map[string]any{"type": "string", "description": "The X-Request-ID of the request, for support."},
				},
			},
		},
	}
}

// mergeComponents returns base with extra merged in. Sections that are
// maps in both are merged entry by entry, extra winning; otherwise the
// value of extra replaces the one of base. Neither argument is modified.
func mergeComponents(base, extra map[string]any) map[string]any {
	out := make(map[string]any, len(base)+len(extra))
	maps.Copy(out, base)
	for section, v := range extra {
		src, ok := asMap(v)
		if !ok {
			out[section] = v
			continue
		}
		merged := map[string]any{}
		if dst, ok := asMap(out[section]); ok {
			maps.Copy(merged, dst)
		}
		for name, val := range src {
			if section == "schemas" {
				val = Schema(val)
			}
			merged[name] = val
		}
		out[section] = merged
	}
	return out
}
