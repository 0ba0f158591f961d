package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// contract checks every answer a test receives through Server.Client
// against the process's own OpenAPI document: an undocumented 2xx, or a
// JSON body that does not match its schema, fails the test. The document is
// built from the routes' declarations, so the whole test suite proves that
// what /openapi.json promises is what the handlers answer.
type contract struct {
	router routers.Router
	next   http.RoundTripper

	mu         sync.Mutex
	violations map[string]bool
}

func newContract(doc map[string]any, serverURL string, next http.RoundTripper) (*contract, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode the document: %w", err)
	}
	spec, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("load the document: %w", err)
	}
	if err := spec.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	spec.Servers = openapi3.Servers{{URL: serverURL}} // the test server, whatever APP_PUBLIC_URL says
	router, err := gorillamux.NewRouter(spec)
	if err != nil {
		return nil, fmt.Errorf("route the document: %w", err)
	}
	return &contract{router: router, next: next, violations: map[string]bool{}}, nil
}

// RoundTrip sends the request and checks the answer.
func (k *contract) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := k.next.RoundTrip(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	if problem := k.check(req, res, body); problem != "" {
		k.mu.Lock()
		k.violations[fmt.Sprintf("%s %s -> %d: %s", req.Method, req.URL.Path, res.StatusCode, problem)] = true
		k.mu.Unlock()
	}
	return res, nil
}

// check returns what is wrong with the answer, or "".
func (k *contract) check(req *http.Request, res *http.Response, body []byte) string {
	route, params, err := k.router.FindRoute(req)
	if err != nil {
		if res.StatusCode >= 200 && res.StatusCode < 300 && strings.HasPrefix(req.URL.Path, "/api/") {
			return "a 2xx answer to a route the document does not list"
		}
		return "" // platform routes and 404s for unknown paths
	}
	op := route.Operation
	if res.StatusCode >= 200 && res.StatusCode < 300 && op.Responses.Status(res.StatusCode) == nil {
		return fmt.Sprintf("status %d is not documented", res.StatusCode)
	}
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			// Bodies other than JSON (audio) are documented by media type
			// only; their bytes are the tests' business.
			ExcludeResponseBody: mt != "application/json",
			MultiError:          true,
		},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), input); err != nil {
		return oneLine(err.Error())
	}
	return ""
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}

// report fails t with every violation seen.
func (k *contract) report(t testing.TB) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.violations) == 0 {
		return
	}
	list := make([]string, 0, len(k.violations))
	for v := range k.violations {
		list = append(list, v)
	}
	sort.Strings(list)
	t.Errorf("apptest: %d answers break the OpenAPI document (fix the route's declaration or the handler):\n  %s",
		len(list), strings.Join(slices.Compact(list), "\n  "))
}
