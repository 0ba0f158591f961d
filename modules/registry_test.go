package modules_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/veza/veza/app/apptest"
	"github.com/veza/veza/modules"
	"github.com/veza/veza/modules/tracks/audio/audiotest"
)

// The route registry against the document it produces: every operation
// answers something typed (a 2xx with a schema, or a body of a named media
// type), and every request field a handler refuses when it is missing is
// marked required in the request schema.
func TestRegistryDocumentsEveryAnswer(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Modules: modules.Builtin(), NoContractCheck: true, Env: map[string]string{
		"RATE_LIMIT_LIMIT": "10000000", "APP_PUBLIC_URL": "https://veza.test", "UPLOAD_DIR": t.TempDir(),
	}})
	doc := srv.Runtime.OpenAPIDocument()
	for path, item := range doc["paths"].(map[string]any) {
		for method, raw := range item.(map[string]any) {
			op := raw.(map[string]any)
			if problem := untyped(op); problem != "" {
				t.Errorf("%s %s: %s", strings.ToUpper(method), path, problem)
			}
			if id, _ := op["operationId"].(string); !strings.Contains(id, ".") || strings.Contains(id, "_get_") {
				t.Errorf("%s %s: operationId %q is not <module>.<handler>", strings.ToUpper(method), path, id)
			}
		}
	}
}

// untyped says what is missing from op's successful answers, or "".
func untyped(op map[string]any) string {
	responses := op["responses"].(map[string]any)
	success := 0
	for code, raw := range responses {
		if code[0] != '2' && code[0] != '3' {
			continue
		}
		success++
		if code == "204" || code[0] == '3' {
			continue
		}
		content, _ := raw.(map[string]any)["content"].(map[string]any)
		if len(content) == 0 {
			return code + " has no body schema"
		}
		if js, ok := content["application/json"].(map[string]any); ok {
			data, _ := js["schema"].(map[string]any)["properties"].(map[string]any)["data"].(map[string]any)
			if len(data) == 0 {
				return code + "'s data has no schema (a client would read it as unknown)"
			}
		}
	}
	if success == 0 {
		return "no successful answer is documented"
	}
	return ""
}

// Sending {} to every route with a JSON body, on real resources: each field
// a 422 names must be required by the route's request schema.
func TestRegistryRequiredFields(t *testing.T) {
	srv := apptest.Start(t, apptest.Options{Modules: modules.Builtin(), NoContractCheck: true, Env: map[string]string{
		"RATE_LIMIT_LIMIT": "10000000", "APP_PUBLIC_URL": "https://veza.test", "UPLOAD_DIR": t.TempDir(),
		"VEZA_WEBHOOKS_ALLOW_PRIVATE_TARGETS": "true",
	}})
	token := adminToken(t, srv)
	ids := fixtures(t, srv, token)
	doc := srv.Runtime.OpenAPIDocument()
	checked := 0
	for path, item := range doc["paths"].(map[string]any) {
		for method, raw := range item.(map[string]any) {
			op := raw.(map[string]any)
			required, hasBody := requestRequired(op)
			if !hasBody {
				continue
			}
			url := fillIDs(path, ids)
			res := srv.Do(t, strings.ToUpper(method), url, map[string]any{}, "Authorization", "Bearer "+token)
			if res.StatusCode == http.StatusNotFound {
				t.Errorf("%s %s: 404 on the fixtures: the test cannot see what the handler requires", strings.ToUpper(method), url)
				continue
			}
			checked++
			if res.StatusCode != http.StatusUnprocessableEntity {
				continue
			}
			for _, d := range res.Envelope(t).Error.Details {
				if alternatives[strings.ToUpper(method)+" "+path+" "+d.Field] {
					continue
				}
				if !slices.Contains(required, d.Field) {
					t.Errorf("%s %s: the handler requires %q (%s), the schema does not say so (required: %v)",
						strings.ToUpper(method), path, d.Field, d.Message, required)
				}
			}
		}
	}
	if checked < 15 {
		t.Fatalf("only %d routes with a JSON body were tried", checked)
	}
}

// alternatives are body fields a route also takes elsewhere: required in
// one place or the other, so in neither schema.
var alternatives = map[string]bool{
	"POST /api/v1/auth/verify-email token": true, // or the X-Verify-Token header
}

func requestRequired(op map[string]any) ([]string, bool) {
	body, ok := op["requestBody"].(map[string]any)
	if !ok {
		return nil, false
	}
	js, ok := body["content"].(map[string]any)["application/json"].(map[string]any)
	if !ok {
		return nil, false
	}
	var out []string
	req, _ := js["schema"].(map[string]any)["required"].([]any)
	for _, r := range req {
		out = append(out, r.(string))
	}
	return out, true
}

// fillIDs puts a fixture's id in each path parameter, by the resource the
// path names.
func fillIDs(path string, ids map[string]string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") {
			continue
		}
		name := strings.Trim(s, "{}")
		key := name
		if name == "id" && i > 0 {
			key = segs[i-1] // tracks, playlists, webhooks, users, sessions, share
		}
		segs[i] = ids[key]
	}
	return strings.Join(segs, "/")
}

// fixtures makes one of each resource the routes take ids of.
func fixtures(t *testing.T, srv *apptest.Server, token string) map[string]string {
	t.Helper()
	auth := []string{"Authorization", "Bearer " + token}
	var me struct {
		ID       string `json:"id"`
		Username string `json:"username"`
	}
	srv.Do(t, "GET", "/api/v1/auth/me", nil, auth...).Status(t, 200).Data(t, &me)
	var wav bytes.Buffer
	if err := audiotest.WriteWAV(&wav, 8000, 1, 16, 0.2, 440); err != nil {
		t.Fatal(err)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	_ = mw.WriteField("title", "fixture")
	fw, _ := mw.CreateFormFile("file", "a.wav")
	_, _ = fw.Write(wav.Bytes())
	_ = mw.Close()
	var track, playlist, hook, share struct {
		ID string `json:"id"`
	}
	srv.Do(t, "POST", "/api/v1/tracks", form.Bytes(), append(auth, "Content-Type", mw.FormDataContentType())...).Status(t, 201).Data(t, &track)
	srv.Do(t, "POST", "/api/v1/playlists", map[string]string{"title": "fixture"}, auth...).Status(t, 201).Data(t, &playlist)
	srv.Do(t, "POST", "/api/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{"track.created"}}, auth...).Status(t, 201).Data(t, &hook)
	srv.Do(t, "POST", "/api/v1/tracks/"+track.ID+"/share", map[string]any{}, auth...).Status(t, 201).Data(t, &share)
	var sessions []struct {
		ID string `json:"id"`
	}
	srv.Do(t, "GET", "/api/v1/auth/sessions", nil, auth...).Status(t, 200).Data(t, &sessions)
	var product struct {
		ID string `json:"id"`
	}
	srv.Do(t, "POST", "/api/v1/marketplace/products", map[string]any{"track_id": track.ID, "title": "fixture", "license_type": "basic",
		"price_cents": 100, "currency": "EUR"}, auth...).Status(t, 201).Data(t, &product)
	return map[string]string{"tracks": track.ID, "track_id": track.ID, "playlists": playlist.ID, "webhooks": hook.ID,
		"users": me.ID, "user_id": me.ID, "username": me.Username, "sessions": sessions[0].ID, "share": share.ID,
		"products": product.ID, "product_id": product.ID, "provider": "test"}
}
