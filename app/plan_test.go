package app

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/veza/veza/platform/config"
)

func mod(name string, requires ...string) Module { return Module{Name: name, Requires: requires} }

func plan(t *testing.T, a *App, yaml string, env map[string]string) (*Plan, error) {
	t.Helper()
	f := &ModulesFile{Missing: true}
	if yaml != "" {
		var err error
		if f, err = ParseModulesFile([]byte(yaml)); err != nil {
			return nil, err
		}
	}
	return a.Plan(config.Test, f, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
}

func TestOrderFollowsRequirements(t *testing.T) {
	a := New(mod("social", "tracks", "auth"), mod("tracks", "auth"), mod("auth"), mod("admin", "auth"), mod("marketplace", "tracks", "auth"))
	p, err := plan(t, a, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Names(), " "); got != "auth admin tracks marketplace social" {
		t.Fatalf("order = %s", got)
	}
}

func TestEditionsAndExplicitEnabled(t *testing.T) {
	a := New(mod("auth"), mod("tracks", "auth"), mod("social", "auth", "tracks"), mod("admin", "auth"))
	yaml := `
edition: community
editions:
  community: [auth, tracks, social]
  full: [auth, tracks, social, admin]
modules:
  social: {enabled: false}
  admin: {enabled: true}
`
	p, err := plan(t, a, yaml, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(p.Names()); got != "[auth admin tracks]" {
		t.Fatalf("enabled = %s", got)
	}
	p, err = plan(t, a, "modules:\n  auth: {enabled: true}\n  tracks: {}\n", nil)
	if err != nil || fmt.Sprint(p.Names()) != "[auth]" {
		t.Fatalf("without an edition only enabled: true runs: %v %v", p.Names(), err)
	}
}

func TestRefusals(t *testing.T) {
	cases := map[string]struct {
		mods []Module
		yaml string
		want string
	}{
		"unknown":         {[]Module{mod("auth")}, "modules:\n  auht: {enabled: true}\n", `unknown module "auht" in modules.auht (this binary has: auth)`},
		"missing dep":     {[]Module{mod("auth"), mod("tracks", "auth")}, "modules:\n  tracks: {enabled: true}\n", "module tracks requires auth, which is disabled"},
		"cycle":           {[]Module{mod("a", "b"), mod("b", "c"), mod("c", "a")}, "", "dependency cycle a -> b -> c -> a"},
		"not in binary":   {[]Module{mod("tracks", "auth")}, "", `module tracks requires "auth", which this binary does not contain`},
		"bad name":        {[]Module{mod("Tracks")}, "", `module name "Tracks" must be lower-case`},
		"reserved name":   {[]Module{mod("platform")}, "", `"platform" is reserved`},
		"duplicate name":  {[]Module{mod("auth"), mod("auth")}, "", `two modules are named "auth"`},
		"settings absent": {[]Module{mod("auth")}, "modules:\n  auth: {enabled: true, settings: {x: 1}}\n", "module auth has no settings"},
		"unknown key":     {[]Module{mod("auth")}, "modulez: {}\n", "field modulez not found"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := plan(t, New(tc.mods...), tc.yaml, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

type settings struct {
	Size int      `yaml:"size" env:"SIZE_ALIAS"`
	Name string   `yaml:"name"`
	Tags []string `yaml:"tags"`
}

func (s *settings) Validate(env config.Env) error {
	if s.Size > 100 {
		return fmt.Errorf("size %d is over 100", s.Size)
	}
	return nil
}

func TestSettingsLayers(t *testing.T) {
	m := Module{Name: "box", Settings: func() any { return &settings{Size: 1, Name: "default"} }}
	p, err := plan(t, New(m), "modules:\n  box: {enabled: true, settings: {size: 5, tags: [a, b]}}\n", map[string]string{"VEZA_BOX_NAME": "from env"})
	if err != nil {
		t.Fatal(err)
	}
	s := p.Settings["box"].(*settings)
	if s.Size != 5 || s.Name != "from env" || fmt.Sprint(s.Tags) != "[a b]" {
		t.Fatalf("settings = %+v", s)
	}
	p, err = plan(t, New(m), "", map[string]string{"VEZA_BOX_SIZE": "7", "SIZE_ALIAS": "9", "VEZA_BOX_TAGS": "x,y"})
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Settings["box"].(*settings); s.Size != 9 || fmt.Sprint(s.Tags) != "[x y]" {
		t.Fatalf("env tag must win over VEZA_BOX_SIZE: %+v", s)
	}
	_, err = plan(t, New(m), "", map[string]string{"SIZE_ALIAS": "500"})
	if err == nil || !strings.Contains(err.Error(), "modules.box.settings: size 500 is over 100") {
		t.Fatalf("validation: %v", err)
	}
	_, err = plan(t, New(m), "", map[string]string{"SIZE_ALIAS": "lots"})
	if err == nil || !strings.Contains(err.Error(), "modules.box.settings") {
		t.Fatalf("bad value: %v", err)
	}
}

func TestRouteKeyIgnoresParamNames(t *testing.T) {
	if routeKey("GET", "/a/:id/b") != routeKey("GET", "/a/:track_id/b") {
		t.Fatal("param names must not matter")
	}
	if routeKey("GET", "/a/:id") == routeKey("POST", "/a/:id") || routeKey("GET", "/a/:id") == routeKey("GET", "/a/b") {
		t.Fatal("distinct routes collide")
	}
}

func TestPrefixConflicts(t *testing.T) {
	got := PrefixConflicts([]Job{{Module: "tracks", Type: "tracks:process"}, {Module: "tracksx", Type: "tracks:process_batch"}, {Module: "tracks", Type: "tracks:process_all"}})
	if len(got) != 1 || !strings.Contains(got[0], "tracks:process (module tracks) is a prefix of tracks:process_batch (module tracksx)") {
		t.Fatalf("conflicts = %q", got)
	}
}

// Settings that moved to the platform (mail, storage) are refused under a
// module with the fix, not as a bare "unknown key".
func TestPlatformSettingUnderAModule(t *testing.T) {
	m := Module{Name: "box", Settings: func() any { return &settings{} }}
	_, err := plan(t, New(m), "modules:\n  box: {enabled: true, settings: {mail_driver: smtp, s3_bucket: b}}\n", nil)
	want := "modules.box.settings sets mail_driver, s3_bucket, which is platform configuration now (shared by every module); fix: remove it from modules.yaml and set MAIL_DRIVER, S3_BUCKET in the environment"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v", err)
	}
}

type choice struct {
	Mode string `yaml:"mode" enum:"fast,safe|careful"`
}

// A module's enumerated settings take any letter case and name their
// choices when wrong, like the platform's.
func TestModuleEnumSettings(t *testing.T) {
	m := Module{Name: "box", Settings: func() any { return &choice{Mode: "fast"} }}
	p, err := plan(t, New(m), "", map[string]string{"VEZA_BOX_MODE": "Careful # the slow one"})
	if err != nil || p.Settings["box"].(*choice).Mode != "safe" {
		t.Fatalf("mode: %v %+v", err, p)
	}
	p, err = plan(t, New(m), "", map[string]string{"VEZA_BOX_MODE": ""})
	if err != nil || p.Settings["box"].(*choice).Mode != "fast" {
		t.Fatalf("an empty variable must leave the default: %v", err)
	}
	_, err = plan(t, New(m), "", map[string]string{"VEZA_BOX_MODE": "turbo"})
	if err == nil || !strings.Contains(err.Error(), `modules.box.settings.mode (VEZA_BOX_MODE)="turbo" must be fast or safe (any letter case)`) {
		t.Fatalf("bad choice: %v", err)
	}
}

type grouped struct {
	Mode     string `yaml:"mode"`
	Payments struct {
		Provider string `yaml:"provider"`
		Test     struct {
			Secret string        `yaml:"webhook_secret"`
			Wait   time.Duration `yaml:"wait" env:"TEST_WAIT"`
		} `yaml:"test"`
	} `yaml:"payments"`
}

// Nested settings decode from the file strictly, and each of their fields
// has its own variable, so that a secret grouped with others still comes
// from the environment.
func TestNestedSettings(t *testing.T) {
	m := Module{Name: "shop", Settings: func() any { return &grouped{} }}
	yaml := "modules:\n  shop: {enabled: true, settings: {payments: {provider: test, test: {webhook_secret: from-file, wait: 2s}}}}\n"
	p, err := plan(t, New(m), yaml, map[string]string{"VEZA_SHOP_PAYMENTS_TEST_WEBHOOK_SECRET": "from-env", "TEST_WAIT": "5"})
	if err != nil {
		t.Fatal(err)
	}
	s := p.Settings["shop"].(*grouped)
	if s.Payments.Provider != "test" || s.Payments.Test.Secret != "from-env" || s.Payments.Test.Wait != 5*time.Second {
		t.Fatalf("settings = %+v", s)
	}
	p, err = plan(t, New(m), "", map[string]string{"VEZA_SHOP_PAYMENTS_PROVIDER": "hyperswitch"})
	if err != nil || p.Settings["shop"].(*grouped).Payments.Provider != "hyperswitch" {
		t.Fatalf("without the file: %v", err)
	}
	_, err = plan(t, New(m), "modules:\n  shop: {enabled: true, settings: {payments: {test: {webhook_secert: x}}}}\n", nil)
	if err == nil || !strings.Contains(err.Error(), "webhook_secert") {
		t.Fatalf("a misspelt nested key must be refused: %v", err)
	}
}
