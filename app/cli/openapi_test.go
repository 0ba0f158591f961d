package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/cli"
	"github.com/veza/veza/platform/openapi"
)

// pinger is a module with one documented route.
func pinger() app.Module {
	return app.Module{
		Name: "pinger", Description: "test: a documented route",
		Register: func(r *app.Registrar) {
			r.Get("/ping", func(c *fiber.Ctx) error { return c.SendString("pong") }, app.Summary("answer pong"))
		},
	}
}

// `veza openapi` writes the document of the enabled modules where neither
// the database nor Redis answers, and neither is configured.
func TestOpenAPICommand(t *testing.T) {
	env := map[string]string{"APP_ENV": "production", "LOG_LEVEL": "error", "VEZA_CONFIG_DIR": t.TempDir()}
	runCLI := func(args ...string) (int, string, string) {
		var out, errOut strings.Builder
		code := cli.Run(context.Background(), app.New(pinger()), args, cli.Streams{Out: &out, Err: &errOut,
			LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
		return code, out.String(), errOut.String()
	}

	code, stdout, stderr := runCLI("openapi")
	if code != 0 {
		t.Fatalf("code %d, stderr %s", code, stderr)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || doc.OpenAPI != openapi.Version || doc.Paths["/api/v1/ping"]["get"] == nil {
		t.Fatalf("stdout is not the document of the enabled modules (%v):\n%s", err, stdout)
	}

	out := filepath.Join(t.TempDir(), "new", "openapi.json")
	if code, stdout, stderr := runCLI("openapi", "--out", out); code != 0 || stdout != "" {
		t.Fatalf("--out: code %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != stdout {
		t.Fatalf("--out wrote something else than stdout gets (%v)", err)
	}

	if code, _, stderr := runCLI("openapi", "extra"); code != 2 || !strings.Contains(stderr, "Usage: veza openapi") {
		t.Fatalf("an argument: code %d, stderr %s", code, stderr)
	}
}
