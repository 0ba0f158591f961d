package openapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

type trackIn struct {
	Title    string            `json:"title" doc:"Shown to listeners."`
	Genre    string            `json:"genre,omitempty"`
	Artist   *string           `json:"artist" validate:"required,max=80"`
	Cover    *string           `json:"cover,omitempty"`
	Tags     []string          `json:"tags,omitempty"`
	Meta     map[string]int    `json:"meta,omitempty"`
	Released time.Time         `json:"released"`
	Data     []byte            `json:"data,omitempty"`
	Plays    int64             `json:"plays,string"`
	Skip     string            `json:"-"`
	Extra    json.RawMessage   `json:"extra,omitempty"`
	Owner    struct{ ID int }  `json:"owner"`
	Labels   map[string]string `json:"labels,omitempty"`
	//lint:ignore U1000 present to check that unexported fields are left out
	hidden int
	Embedded
}

type Embedded struct {
	Version int    `json:"version"`
	Title   string `json:"shadowed_title"`
}

type node struct {
	Name     string  `json:"name"`
	Children []*node `json:"children,omitempty"`
}

func sampleOps() []Operation {
	return []Operation{
		{Method: "GET", Path: "/api/v1/tracks/:id", Module: "tracks", Summary: "Get a track",
			Responses: map[int]Response{200: {Schema: trackIn{}}}},
		{Method: "POST", Path: "/api/v1/tracks", Module: "tracks", Security: Bearer, Roles: []string{"admin", "editor"},
			Request: &trackIn{}, Responses: map[int]Response{201: {Description: "Created", Schema: trackIn{}}}},
		{Method: "GET", Path: "/files/*", Module: "files",
			Responses: map[int]Response{200: {ContentType: "audio/mpeg"}}},
		{Method: "DELETE", Path: "/api/v1/tracks/:id", Module: "tracks", Security: Bearer,
			Responses: map[int]Response{204: {}}},
		{Method: "GET", Path: "/health", Module: "health", Query: []Param{{Name: "verbose", Schema: true}},
			Headers: []Param{{Name: "X-Trace", Required: true}}},
		{Method: "CONNECT", Path: "/tunnel", Module: "odd"},
	}
}

func get(t *testing.T, m map[string]any, keys ...string) any {
	t.Helper()
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("at %q: %T is not an object (path %v)", k, cur, keys)
		}
		cur, ok = mm[k]
		if !ok {
			t.Fatalf("missing %q (path %v)", k, keys)
		}
	}
	return cur
}

func getMap(t *testing.T, m map[string]any, keys ...string) map[string]any {
	t.Helper()
	v, ok := get(t, m, keys...).(map[string]any)
	if !ok {
		t.Fatalf("%v is not an object", keys)
	}
	return v
}

// roundTrip encodes and decodes doc, as a client sees it.
func roundTrip(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConvertPath(t *testing.T) {
	tests := []struct {
		in, want string
		params   []string
	}{
		{"/api/v1/tracks/:id", "/api/v1/tracks/{id}", []string{"id"}},
		{"/api/v1/tracks/:id?", "/api/v1/tracks/{id}", []string{"id"}},
		{"/files/*", "/files/{wildcard}", []string{"wildcard"}},
		{"/a/*/b/*", "/a/{wildcard}/b/{wildcard2}", []string{"wildcard", "wildcard2"}},
		{"/p/+", "/p/{plus}", []string{"plus"}},
		{"/flights/:from-:to", "/flights/{from}-{to}", []string{"from", "to"}},
		{"/users/:id<int>/x", "/users/{id}/x", []string{"id"}},
		{`/re/:code<regex(\d{3})>`, "/re/{code}", []string{"code"}},
		{`/v1/tracks\:search`, "/v1/tracks:search", nil},
		{"/", "/", nil},
	}
	for _, tt := range tests {
		got, params := convertPath(tt.in)
		if got != tt.want {
			t.Errorf("convertPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
		var names []string
		for _, p := range params {
			names = append(names, p.name)
		}
		if !slices.Equal(names, tt.params) {
			t.Errorf("convertPath(%q) params = %v, want %v", tt.in, names, tt.params)
		}
	}
}

func TestBuildPathsAndParameters(t *testing.T) {
	doc := roundTrip(t, Build(Info{Title: "T", Version: "1"}, sampleOps(), nil))
	if doc["openapi"] != "3.0.3" {
		t.Fatalf("openapi = %v", doc["openapi"])
	}
	paths := getMap(t, doc, "paths")
	for _, p := range []string{"/api/v1/tracks/{id}", "/api/v1/tracks", "/files/{wildcard}", "/health"} {
		if _, ok := paths[p]; !ok {
			t.Errorf("missing path %s; have %v", p, slices.Sorted(mapsKeys(paths)))
		}
	}
	if _, ok := paths["/tunnel"]; ok {
		t.Error("CONNECT operation documented; OpenAPI 3.0 has no such method")
	}

	params := get(t, doc, "paths", "/files/{wildcard}", "get", "parameters").([]any)
	p := params[0].(map[string]any)
	if p["name"] != "wildcard" || p["in"] != "path" || p["required"] != true {
		t.Errorf("wildcard param = %v", p)
	}
	if get(t, p, "schema", "type") != "string" {
		t.Errorf("wildcard schema = %v", p["schema"])
	}

	hp := get(t, doc, "paths", "/health", "get", "parameters").([]any)
	if len(hp) != 2 {
		t.Fatalf("health params = %v", hp)
	}
	q, hd := hp[0].(map[string]any), hp[1].(map[string]any)
	if q["in"] != "query" || q["name"] != "verbose" || get(t, q, "schema", "type") != "boolean" || q["required"] != nil {
		t.Errorf("query param = %v", q)
	}
	if hd["in"] != "header" || hd["required"] != true || get(t, hd, "schema", "type") != "string" {
		t.Errorf("header param = %v", hd)
	}
}

func mapsKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestBuildTags(t *testing.T) {
	doc := roundTrip(t, Build(Info{}, sampleOps(), nil))
	var names []string
	for _, tag := range doc["tags"].([]any) {
		names = append(names, tag.(map[string]any)["name"].(string))
	}
	if want := []string{"files", "health", "tracks"}; !slices.Equal(names, want) {
		t.Errorf("tags = %v, want %v", names, want)
	}
	opTags := get(t, doc, "paths", "/api/v1/tracks", "post", "tags").([]any)
	if len(opTags) != 1 || opTags[0] != "tracks" {
		t.Errorf("operation tags = %v", opTags)
	}
	info := getMap(t, doc, "info")
	if info["title"] == "" || info["version"] == "" {
		t.Errorf("info lacks defaults: %v", info)
	}
}

// Every operation says how it authenticates, as clients and linters need:
// [] when public, the bearer scheme when a token is needed, either when it
// is optional, the internal key's apiKey scheme for callbacks.
func TestBuildSecurity(t *testing.T) {
	ops := append(sampleOps(),
		Operation{Method: "GET", Path: "/api/v1/tracks/:id/status", Module: "tracks", Security: OptionalBearer},
		Operation{Method: "POST", Path: "/api/v1/internal/tracks/:id/ready", Module: "tracks", Security: APIKey})
	doc := roundTrip(t, Build(Info{}, ops, nil))
	if _, ok := doc["security"]; ok {
		t.Error("document-wide security set; each operation says its own")
	}
	post := getMap(t, doc, "paths", "/api/v1/tracks", "post")
	sec, _ := post["security"].([]any)
	if len(sec) != 1 {
		t.Fatalf("security = %v", post["security"])
	}
	if _, ok := sec[0].(map[string]any)["bearer"]; !ok {
		t.Errorf("security = %v, want bearer", sec)
	}
	resp := getMap(t, post, "responses")
	for _, code := range []string{"401", "403", "422"} {
		if _, ok := resp[code]; !ok {
			t.Errorf("Auth operation with body lacks %s", code)
		}
	}
	if !strings.Contains(post["description"].(string), "Roles: admin, editor") {
		t.Errorf("description = %q, want the roles", post["description"])
	}

	getOp := getMap(t, doc, "paths", "/api/v1/tracks/{id}", "get")
	if sec, ok := getOp["security"].([]any); !ok || len(sec) != 0 {
		t.Errorf("public operation: security = %v, want []", getOp["security"])
	}
	if sec, _ := getMap(t, doc, "paths", "/api/v1/tracks/{id}/status", "get")["security"].([]any); len(sec) != 2 || len(sec[0].(map[string]any)) != 0 {
		t.Errorf("optional bearer: security = %v, want [{}, {bearer: []}]", sec)
	}
	if sec, _ := getMap(t, doc, "paths", "/api/v1/internal/tracks/{id}/ready", "post")["security"].([]any); len(sec) != 1 || sec[0].(map[string]any)["internalKey"] == nil {
		t.Errorf("internal key: security = %v", sec)
	}
	resp = getMap(t, getOp, "responses")
	for _, code := range []string{"401", "403", "422"} {
		if _, ok := resp[code]; ok {
			t.Errorf("public operation without body documents %s", code)
		}
	}
	for _, code := range []string{"400", "404", "429"} {
		if get(t, resp, code, "content", "application/json", "schema", "$ref") != "#/components/schemas/Error" {
			t.Errorf("%s does not reference the Error schema", code)
		}
	}

	scheme := getMap(t, doc, "components", "securitySchemes", "bearer")
	if scheme["type"] != "http" || scheme["scheme"] != "bearer" || scheme["bearerFormat"] != "JWT" {
		t.Errorf("bearer = %v", scheme)
	}
	key := getMap(t, doc, "components", "securitySchemes", "internalKey")
	if key["type"] != "apiKey" || key["in"] != "header" || key["name"] != "X-Internal-API-Key" {
		t.Errorf("internalKey = %v", key)
	}
}

func TestBuildEnvelopes(t *testing.T) {
	doc := roundTrip(t, Build(Info{}, sampleOps(), nil))

	ok := getMap(t, doc, "paths", "/api/v1/tracks/{id}", "get", "responses", "200", "content", "application/json", "schema")
	if get(t, ok, "properties", "success", "enum").([]any)[0] != true {
		t.Errorf("200 is not wrapped in the success envelope: %v", ok)
	}
	if get(t, ok, "properties", "data", "properties", "title", "type") != "string" {
		t.Errorf("data is not the response schema: %v", ok)
	}

	created := getMap(t, doc, "paths", "/api/v1/tracks", "post", "responses", "201")
	if created["description"] != "Created" {
		t.Errorf("201 description = %v", created["description"])
	}
	if _, ok := getMap(t, created, "content", "application/json", "schema", "properties")["data"]; !ok {
		t.Error("201 is not wrapped")
	}

	audio := getMap(t, doc, "paths", "/files/{wildcard}", "get", "responses", "200", "content")
	if _, ok := audio["application/json"]; ok {
		t.Error("audio response documented as JSON")
	}
	if get(t, audio, "audio/mpeg", "schema", "format") != "binary" {
		t.Errorf("audio schema = %v", audio)
	}

	noContent := getMap(t, doc, "paths", "/api/v1/tracks/{id}", "delete", "responses", "204")
	if _, ok := noContent["content"]; ok {
		t.Error("204 has content")
	}

	def := getMap(t, doc, "paths", "/health", "get", "responses")
	if _, ok := def["200"]; !ok {
		t.Error("no default 200 response")
	}

	errSchema := getMap(t, doc, "components", "schemas", "Error")
	props := getMap(t, errSchema, "properties")
	for _, k := range []string{"success", "error", "request_id"} {
		if _, ok := props[k]; !ok {
			t.Errorf("Error schema lacks %s", k)
		}
	}
	details := getMap(t, errSchema, "properties", "error", "properties", "details", "items", "properties")
	if _, ok := details["field"]; !ok {
		t.Errorf("details items = %v", details)
	}
}

func TestOwnErrorResponseWins(t *testing.T) {
	own := map[string]any{"type": "object", "properties": map[string]any{"why": map[string]any{"type": "string"}}}
	doc := Build(Info{}, []Operation{{Method: "GET", Path: "/x", Module: "m",
		Responses: map[int]Response{404: {Description: "No such x", Schema: own}, 400: {Description: "Bad x"}}}}, nil)
	resp := get(t, doc, "paths", "/x", "get", "responses").(map[string]any)
	r404 := resp["404"].(map[string]any)
	if r404["description"] != "No such x" || get(t, r404, "content", "application/json", "schema", "properties", "why") == nil {
		t.Errorf("own 404 replaced: %v", r404)
	}
	if get(t, resp["400"].(map[string]any), "content", "application/json", "schema", "$ref") != errorSchemaRef {
		t.Errorf("own 400 without schema should use the error envelope: %v", resp["400"])
	}
}

func TestSchemaFromStruct(t *testing.T) {
	s := roundTrip(t, Schema(&trackIn{}))
	if s["type"] != "object" {
		t.Fatalf("type = %v", s["type"])
	}
	var required []string
	for _, r := range s["required"].([]any) {
		required = append(required, r.(string))
	}
	slices.Sort(required)
	want := []string{"artist", "owner", "plays", "released", "shadowed_title", "title", "version"}
	slices.Sort(want)
	if !slices.Equal(required, want) {
		t.Errorf("required = %v, want %v", required, want)
	}
	props := getMap(t, s, "properties")
	checks := map[string]map[string]any{
		"title":    {"type": "string", "description": "Shown to listeners."},
		"artist":   {"type": "string", "nullable": true},
		"cover":    {"type": "string", "nullable": true},
		"released": {"type": "string", "format": "date-time"},
		"data":     {"type": "string", "format": "byte"},
		"plays":    {"type": "string"},
		"tags":     {"type": "array"},
		"meta":     {"type": "object"},
		"owner":    {"type": "object"},
		"version":  {"type": "integer"},
	}
	for name, want := range checks {
		got, ok := props[name].(map[string]any)
		if !ok {
			t.Errorf("missing property %s", name)
			continue
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s.%s = %v, want %v", name, k, got[k], v)
			}
		}
	}
	if get(t, props, "tags", "items", "type") != "string" {
		t.Errorf("tags items = %v", props["tags"])
	}
	if get(t, props, "meta", "additionalProperties", "type") != "integer" {
		t.Errorf("meta = %v", props["meta"])
	}
	if get(t, props, "owner", "properties", "ID", "type") != "integer" {
		t.Errorf("owner = %v", props["owner"])
	}
	for _, absent := range []string{"Skip", "-", "hidden", "Embedded"} {
		if _, ok := props[absent]; ok {
			t.Errorf("property %s should not be documented", absent)
		}
	}
	if _, ok := props["shadowed_title"]; !ok {
		t.Error("embedded struct fields are not promoted")
	}
	if len(getMap(t, props, "extra")) != 0 {
		t.Errorf("json.RawMessage should allow any value: %v", props["extra"])
	}
}

func TestSchemaPassThroughAndRecursion(t *testing.T) {
	m := map[string]any{"type": "string", "format": "uuid"}
	if got := Schema(m); !reflect.DeepEqual(got, m) {
		t.Errorf("Schema(map) = %v", got)
	}
	if got := Schema(nil); len(got) != 0 {
		t.Errorf("Schema(nil) = %v", got)
	}
	if got := Schema([]int{}); got["type"] != "array" {
		t.Errorf("Schema([]int) = %v", got)
	}
	s := Schema(node{}) // must terminate
	children := get(t, s, "properties", "children", "items").(map[string]any)
	if children["type"] != "object" || children["nullable"] != true {
		t.Errorf("recursive items = %v", children)
	}
}

func TestBuildDeterministic(t *testing.T) {
	ops := sampleOps()
	comps := map[string]any{"schemas": map[string]any{"Track": trackIn{}}}
	a, err := json.Marshal(Build(Info{Title: "T"}, ops, comps))
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(ops)
	b, err := json.Marshal(Build(Info{Title: "T"}, ops, comps))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("same operations in another order give another document")
	}
	c, _ := json.Marshal(Build(Info{Title: "T"}, ops, comps))
	if !bytes.Equal(b, c) {
		t.Error("building twice gives different bytes")
	}
}

func TestOperationIDsUnique(t *testing.T) {
	ops := append(sampleOps(),
		Operation{Method: "GET", Path: "/api/v1/tracks/:id?", Module: "tracks"}, // same as :id: dropped
		Operation{Method: "GET", Path: "/api/v1/tracks/:id/", Module: "tracks"},
		Operation{Method: "GET", Path: "/api/v1/tracks-:id", Module: "tracks"},
	)
	doc := Build(Info{}, ops, nil)
	seen := map[string]string{}
	valid := regexp.MustCompile(`^[a-z0-9_]+$`)
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			id := op.(map[string]any)["operationId"].(string)
			if !valid.MatchString(id) {
				t.Errorf("operationId %q has odd characters", id)
			}
			if prev, dup := seen[id]; dup {
				t.Errorf("operationId %q used by %s and %s %s", id, prev, method, path)
			}
			seen[id] = method + " " + path
		}
	}
	if got := get(t, doc, "paths", "/api/v1/tracks-{id}", "get", "operationId"); got != "tracks_get_api_v1_tracks_by_id" {
		t.Errorf("operationId = %v; the first in path order keeps the plain id", got)
	}
	if got := get(t, doc, "paths", "/api/v1/tracks/{id}", "get", "operationId"); got != "tracks_get_api_v1_tracks_by_id_2" {
		t.Errorf("operationId = %v, want the _2 suffix", got)
	}
	plain := Build(Info{}, sampleOps(), nil)
	if got := get(t, plain, "paths", "/api/v1/tracks/{id}", "get", "operationId"); got != "tracks_get_api_v1_tracks_by_id" {
		t.Errorf("operationId = %v", got)
	}
	if got := get(t, doc, "paths", "/api/v1/tracks/{id}", "get", "summary"); got != "Get a track" {
		t.Errorf("duplicate route replaced the first one: summary = %v", got)
	}
	if len(seen) != 7 {
		t.Errorf("got %d operations, want 7: %v", len(seen), seen)
	}
}

func TestComponentsMerge(t *testing.T) {
	extra := map[string]any{
		"schemas": map[string]any{
			"Track": trackIn{},
			"Plain": map[string]any{"type": "string"},
		},
		"securitySchemes": map[string]map[string]any{
			"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
		},
		"responses": "odd shape",
		"examples":  map[string]any{"one": map[string]any{"value": 1}},
	}
	doc := roundTrip(t, Build(Info{}, nil, extra))
	schemas := getMap(t, doc, "components", "schemas")
	for _, name := range []string{"Error", "Track", "Plain"} {
		if _, ok := schemas[name]; !ok {
			t.Errorf("schemas lack %s", name)
		}
	}
	if get(t, schemas, "Track", "properties", "title", "type") != "string" {
		t.Error("Go value in schemas not converted")
	}
	sec := getMap(t, doc, "components", "securitySchemes")
	if _, ok := sec["bearer"]; !ok {
		t.Error("bearer lost in merge")
	}
	if _, ok := sec["apiKey"]; !ok {
		t.Error("apiKey not merged")
	}
	if get(t, doc, "components", "responses") != "odd shape" {
		t.Error("odd section not kept")
	}

	// Later wins, and the caller's maps stay untouched.
	mine := map[string]any{"schemas": map[string]any{"Error": map[string]any{"type": "object", "title": "Mine"}}}
	doc = Build(Info{}, nil, mine)
	if get(t, doc, "components", "schemas", "Error", "title") != "Mine" {
		t.Error("given Error schema does not replace the built-in one")
	}
	if len(mine["schemas"].(map[string]any)) != 1 {
		t.Error("Build modified the given components")
	}

	// Odd shapes do not panic.
	Build(Info{}, nil, map[string]any{"schemas": nil, "x": []int{1}, "securitySchemes": 3})
}

func newApp(t *testing.T, doc map[string]any) *fiber.App {
	t.Helper()
	app := fiber.New()
	jh, err := JSONHandler(doc)
	if err != nil {
		t.Fatal(err)
	}
	app.Get("/openapi.json", jh)
	dh := DocsHandler("/openapi.json")
	app.Get("/docs", dh)
	app.Get("/docs/*", dh)
	return app
}

func do(t *testing.T, app *fiber.App, method, target string) (*http.Response, []byte) {
	t.Helper()
	resp, err := app.Test(httptest.NewRequest(method, target, nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestJSONHandler(t *testing.T) {
	app := newApp(t, Build(Info{Title: "Veza"}, sampleOps(), nil))
	resp, body := do(t, app, http.MethodGet, "/openapi.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	if doc["openapi"] != "3.0.3" {
		t.Errorf("openapi = %v", doc["openapi"])
	}

	req := httptest.NewRequest(http.MethodGet, "/openapi.json", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp2, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation status = %d, want 304", resp2.StatusCode)
	}

	if _, err := JSONHandler(map[string]any{"bad": make(chan int)}); err == nil {
		t.Error("JSONHandler accepted a document it cannot encode")
	}
}
