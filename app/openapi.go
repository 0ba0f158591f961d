package app

import (
	"fmt"
	"strings"

	"github.com/veza/veza/platform/buildinfo"
	"github.com/veza/veza/platform/openapi"
)

// OpenAPIDocument returns the OpenAPI document of the enabled modules' routes,
// the one GET /openapi.json serves. It needs no started runtime: `veza
// openapi` and the contract tests read it without a server or a database.
func (r *Runtime) OpenAPIDocument() map[string]any {
	return r.openAPIDocument(r.reg.contributions())
}

// OpenAPIJSON returns OpenAPIDocument encoded exactly as GET /openapi.json
// sends it, so that a dump can be compared with a live server byte for byte.
func (r *Runtime) OpenAPIJSON() ([]byte, error) {
	body, err := openapi.Encode(r.OpenAPIDocument())
	if err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	return body, nil
}

// openAPIDocument builds the document from contrib, which mountPlatform
// already holds.
func (r *Runtime) openAPIDocument(contrib Contributions) map[string]any {
	return openapi.Build(openapi.Info{
		Title:       "Veza API",
		Version:     buildinfo.String(),
		Description: "Modules enabled in this deployment: " + strings.Join(r.plan.Names(), ", "),
	}, operations(contrib.Routes), mergeFragments(contrib.Components))
}
