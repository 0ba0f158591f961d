package contract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/cli"
	"github.com/veza/veza/modules"
)

// Where the tools are and where their inputs and outputs go. generated/ is
// git-ignored; what the last run produced stays there to be read.
// The paths are absolute, as the tools run in generatedDir.
var (
	toolsDir     = mustAbs(filepath.Join("..", "..", "tools"))
	generatedDir = filepath.Join(toolsDir, "generated")
	documentPath = filepath.Join(generatedDir, "openapi.json")
	typesPath    = filepath.Join(generatedDir, "veza-api.d.ts")
)

// mustAbs makes path absolute; it fails only when the working folder is gone.
func mustAbs(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		panic(fmt.Sprintf("contract: %v", err))
	}
	return abs
}

// installHint is what to run when the npm tools are missing.
const installHint = "run `make test`, which installs them (and Node.js when missing, as root), " +
	"or install Node.js (sudo apt-get install -y nodejs npm) and run `npm ci --ignore-scripts` in tools/"

var dumped struct {
	once sync.Once
	body []byte
	err  error
}

// document returns the OpenAPI document of every built-in module, written
// by `veza openapi --out` (run in this process) to documentPath.
func document(t *testing.T) []byte {
	t.Helper()
	dumped.once.Do(func() { dumped.body, dumped.err = dump() })
	if dumped.err != nil {
		t.Fatalf("veza openapi: %v", dumped.err)
	}
	return dumped.body
}

// dump runs `veza openapi` with every built-in module enabled, in a test
// set-up that needs neither PostgreSQL nor Redis.
func dump() ([]byte, error) {
	tmp, err := os.MkdirTemp("", "veza-contract-")
	if err != nil {
		return nil, fmt.Errorf("temporary folder: %w", err)
	}
	defer os.RemoveAll(tmp)
	var yaml strings.Builder
	yaml.WriteString("modules:\n")
	for _, m := range modules.Builtin() {
		fmt.Fprintf(&yaml, "  %s: {enabled: true}\n", m.Name)
	}
	modulesFile := filepath.Join(tmp, "modules.yaml")
	if err := os.WriteFile(modulesFile, []byte(yaml.String()), 0o644); err != nil {
		return nil, fmt.Errorf("write modules.yaml: %w", err)
	}
	env := map[string]string{
		"APP_ENV": "test", "LOG_LEVEL": "error", "VEZA_CONFIG_DIR": tmp,
		"UPLOAD_DIR": filepath.Join(tmp, "uploads"), "MAIL_DIR": filepath.Join(tmp, "mail"),
	}
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), app.New(modules.Builtin()...),
		[]string{"--modules", modulesFile, "openapi", "--out", documentPath},
		cli.Streams{Out: &stdout, Err: &stderr, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
	if code != 0 {
		return nil, fmt.Errorf("exit code %d: %s%s", code, stdout.String(), stderr.String())
	}
	body, err := os.ReadFile(documentPath)
	if err != nil {
		return nil, fmt.Errorf("read the dump: %w", err)
	}
	return body, nil
}

// TestDumpIsTheDocument checks what `veza openapi` wrote: a JSON OpenAPI
// 3.0 document of every built-in module.
func TestDumpIsTheDocument(t *testing.T) {
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(document(t), &doc); err != nil {
		t.Fatalf("the dump is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Errorf("openapi = %q, want 3.0.x", doc.OpenAPI)
	}
	for path, method := range map[string]string{
		"/api/v1/auth/register": "post", "/api/v1/tracks": "get", "/api/v1/playlists": "get", "/api/v1/webhooks": "post",
	} {
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("the dump lacks %s %s: not every built-in module is in it", strings.ToUpper(method), path)
		}
	}
}

// TestKinOpenAPIValidates loads and validates the document with
// kin-openapi, as a Go client or server generator would.
func TestKinOpenAPIValidates(t *testing.T) {
	ctx := context.Background()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(document(t))
	if err != nil {
		t.Fatalf("kin-openapi cannot load the document (%s): %v", documentPath, err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Errorf("kin-openapi: the document (%s) is not valid OpenAPI: %v", documentPath, err)
	}
}

// TestRedoclyLint lints the document with Redocly CLI and tools/redocly.yaml.
//
// Until the typed document lands (another change of the same issue), this
// fails: public operations declare no security (security-defined), the
// module tags have no description (tag-description) and the document names
// no server (no-empty-servers). The check is meant to fail then.
func TestRedoclyLint(t *testing.T) {
	var doc struct{ Tags []struct{ Name string } }
	if err := json.Unmarshal(document(t), &doc); err != nil {
		t.Fatalf("the dump is not JSON: %v", err)
	}
	var tags []string
	for _, tag := range doc.Tags {
		tags = append(tags, tag.Name)
	}
	redocly := npmTool(t, "redocly")
	out, err := runTool(t, redocly, "lint", "--config", filepath.Join(toolsDir, "redocly.yaml"), "--format=json", documentPath)
	var report lintReport
	if jerr := json.Unmarshal(out.stdout, &report); jerr != nil {
		t.Fatalf("redocly lint (%v) printed no JSON report (%v):\n%s%s", err, jerr, out.stdout, out.stderr)
	}
	for _, p := range report.Problems {
		if p.Severity == "error" {
			t.Errorf("redocly lint: %s", p.describe(tags))
		} else {
			t.Logf("redocly lint: %s", p.describe(tags))
		}
	}
	if err != nil && report.Totals.Errors == 0 {
		t.Errorf("redocly lint failed without reporting an error (%v):\n%s", err, out.stderr)
	}
	if report.Totals.Errors > 0 {
		t.Errorf("redocly lint: %d errors, %d warnings in %s (rules: tools/redocly.yaml)",
			report.Totals.Errors, report.Totals.Warnings, documentPath)
	}
}

// lintReport is what `redocly lint --format=json` prints.
type lintReport struct {
	Totals struct {
		Errors   int `json:"errors"`
		Warnings int `json:"warnings"`
	} `json:"totals"`
	Problems []lintProblem `json:"problems"`
}

// lintProblem is one finding of redocly lint.
type lintProblem struct {
	RuleID   string `json:"ruleId"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Location []struct {
		Pointer string `json:"pointer"`
	} `json:"location"`
}

// describe names the rule, the place in the document as a reader finds
// it (see readablePointer; tags are the document's tag names, in order) and
// the message.
func (p lintProblem) describe(tags []string) string {
	where := "#"
	if len(p.Location) > 0 {
		where = readablePointer(p.Location[0].Pointer, tags)
	}
	return fmt.Sprintf("%s %s at %s: %s", p.Severity, p.RuleID, where, p.Message)
}

// readablePointer turns "#/paths/~1api~1v1~1x/post/responses" into
// "POST /api/v1/x: #/responses", "#/paths/~1api~1v1~1x" into "/api/v1/x"
// and "#/tags/0/description" into `tag "auth": #/description`; other
// pointers are left as they are.
func readablePointer(ptr string, tags []string) string {
	parts := strings.Split(strings.TrimPrefix(ptr, "#/"), "/")
	if len(parts) >= 2 && parts[0] == "tags" {
		if i, err := strconv.Atoi(parts[1]); err == nil && i < len(tags) {
			return fmt.Sprintf("tag %q: #/%s", tags[i], strings.Join(parts[2:], "/"))
		}
	}
	if len(parts) < 2 || parts[0] != "paths" {
		return ptr
	}
	path := strings.NewReplacer("~1", "/", "~0", "~").Replace(parts[1])
	if len(parts) == 2 {
		return path
	}
	s := strings.ToUpper(parts[2]) + " " + path
	if len(parts) > 3 {
		s += ": #/" + strings.Join(parts[3:], "/")
	}
	return s
}

// TestTypeScriptClientCompiles generates TypeScript types from the document
// with openapi-typescript and compiles tools/client-check.ts against them
// with tsc --strict: the fields a frontend reads must be typed and required.
//
// Until the typed document lands, this fails: GET /api/v1/tracks answers an
// untyped data (TS18046) and the secret of POST /api/v1/webhooks is optional
// (TS2322). The check is meant to fail then.
func TestTypeScriptClientCompiles(t *testing.T) {
	document(t)
	generate := npmTool(t, "openapi-typescript")
	tsc := npmTool(t, "tsc")
	if out, err := runTool(t, generate, documentPath, "--output", typesPath); err != nil {
		t.Fatalf("openapi-typescript cannot turn the document into types (%v):\n%s%s", err, out.stdout, out.stderr)
	}
	out, err := runTool(t, tsc, "--project", filepath.Join(toolsDir, "tsconfig.json"), "--strict", "--noEmit", "--pretty", "false")
	if err != nil {
		t.Errorf("tsc: tools/client-check.ts does not compile against the types generated from the document "+
			"(%s): a field it reads is missing, optional or untyped there (%v):\n%s%s", typesPath, err, out.stdout, out.stderr)
	}
}

// TestDocsUIIsThePinnedPackage checks that the Swagger UI files committed
// under platform/openapi/assets/swagger-ui are those of the swagger-ui-dist
// package that tools/package.json pins, byte for byte
// (tools/update-docs-ui.sh copies them).
func TestDocsUIIsThePinnedPackage(t *testing.T) {
	pkgDir := filepath.Join(toolsDir, "node_modules", "swagger-ui-dist")
	var installed struct{ Version string }
	readJSON(t, filepath.Join(pkgDir, "package.json"), &installed, "swagger-ui-dist is not installed: "+installHint)
	var pins struct{ DevDependencies map[string]string }
	readJSON(t, filepath.Join(toolsDir, "package.json"), &pins, "")
	if pin := pins.DevDependencies["swagger-ui-dist"]; installed.Version != pin {
		t.Fatalf("tools/node_modules has swagger-ui-dist %s, tools/package.json pins %s: %s", installed.Version, pin, installHint)
	}
	assets := filepath.Join("..", "..", "platform", "openapi", "assets", "swagger-ui")
	var manifest struct {
		Version string            `json:"version"`
		Files   map[string]string `json:"files"`
	}
	readJSON(t, filepath.Join(assets, "manifest.json"), &manifest, "")
	if manifest.Version != installed.Version {
		t.Errorf("the committed Swagger UI is %s, the pinned package %s: run tools/update-docs-ui.sh", manifest.Version, installed.Version)
	}
	for name, sum := range manifest.Files {
		if got := fileSum(t, filepath.Join(pkgDir, name)); got != sum {
			t.Errorf("%s of swagger-ui-dist %s does not match manifest.json: run tools/update-docs-ui.sh", name, installed.Version)
		}
		if got := fileSum(t, filepath.Join(assets, name)); got != sum {
			t.Errorf("the committed swagger-ui/%s differs from the package's: run tools/update-docs-ui.sh", name)
		}
	}
}

// npmTool returns the path of an installed npm tool, failing the test with
// what to install when it or Node.js is missing.
func npmTool(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("Node.js is not installed (the tools/ checks need node and npm): %s", installHint)
	}
	bin := filepath.Join(toolsDir, "node_modules", ".bin", name)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s is not installed in tools/node_modules: %s", name, installHint)
	}
	return bin
}

// toolOutput is what a tool printed.
type toolOutput struct{ stdout, stderr []byte }

// runTool runs a tool, at most two minutes, without colours, update checks
// or telemetry. It runs in generatedDir, where no configuration file lies:
// openapi-typescript would otherwise lint with a redocly.yaml it finds in
// its working folder, and refuse to generate types from a document that
// fails the lint, which TestRedoclyLint reports on its own.
func runTool(t *testing.T, bin string, args ...string) (toolOutput, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = generatedDir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "FORCE_COLOR=0",
		"REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	var out toolOutput
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out.stdout, out.stderr = stdout.Bytes(), stderr.Bytes()
	if err != nil {
		return out, fmt.Errorf("%s: %w", filepath.Base(bin), err)
	}
	return out, nil
}

// readJSON decodes a JSON file, failing the test (with hint, when given)
// when it cannot.
func readJSON(t *testing.T, path string, dst any, hint string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		if hint != "" {
			t.Fatal(hint)
		}
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, dst); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// fileSum returns the hex SHA-256 of a file.
func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
