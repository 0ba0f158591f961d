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
	return openapi.Build(r.openAPIInfo(), operations(contrib.Routes), mergeFragments(contrib.Components))
}

// openAPIInfo describes the document: this deployment's address as its
// server, each enabled module as a tag.
func (r *Runtime) openAPIInfo() openapi.Info {
	info := openapi.Info{
		Title:       "Veza API",
		Version:     buildinfo.String(),
		Description: "Modules enabled in this deployment: " + strings.Join(r.plan.Names(), ", "),
		ServerURL:   r.cfg.PublicURL,
	}
	for _, m := range r.plan.Enabled {
		info.Tags = append(info.Tags, openapi.Tag{Name: m.Name, Description: m.Description})
	}
	return info
}
