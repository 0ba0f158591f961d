package marketplace_test

import (
	"strings"
	"testing"

	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/marketplace"
	"github.com/veza/veza/modules/tracks"
	"github.com/veza/veza/platform/config"
)

func plan(env config.Env, yaml string, vars map[string]string) (*app.Plan, error) {
	file := &app.ModulesFile{Missing: true}
	if yaml != "" {
		f, err := app.ParseModulesFile([]byte(yaml))
		if err != nil {
			return nil, err
		}
		file = f
	}
	return app.New(auth.Module(), tracks.Module(), marketplace.Module()).Plan(env, file, func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	})
}

// Settings that cannot work stop start-up with a line naming the fix; the
// test provider never runs in production, and the providers' secrets come
// from the environment.
func TestSettingsRefusals(t *testing.T) {
	hs := map[string]string{"VEZA_MARKETPLACE_PAYMENTS_PROVIDER": "hyperswitch",
		"VEZA_MARKETPLACE_PAYMENTS_HYPERSWITCH_API_KEY": "k", "VEZA_MARKETPLACE_PAYMENTS_HYPERSWITCH_WEBHOOK_KEY": "w"}
	if p, err := plan(config.Production, "", hs); err != nil {
		t.Fatalf("hyperswitch in production: %v", err)
	} else if s := p.Settings["marketplace"].(*marketplace.Settings); s.Payments.Hyperswitch.APIKey != "k" {
		t.Fatalf("the API key from the environment: %+v", s.Payments.Hyperswitch)
	}
	if p, err := plan(config.Production, "", nil); err != nil || p.Settings["marketplace"].(*marketplace.Settings).Payments.Provider != "" {
		t.Fatalf("no provider in production: %v", err)
	}
	if p, err := plan(config.Development, "", nil); err != nil || p.Settings["marketplace"].(*marketplace.Settings).Payments.Provider != "test" {
		t.Fatalf("the test provider by default in development: %v", err)
	}
	for name, tc := range map[string]struct {
		env  config.Env
		yaml string
		vars map[string]string
		want string
	}{
		"test in production": {config.Production, "", map[string]string{"VEZA_MARKETPLACE_PAYMENTS_PROVIDER": "test"}, "refused in production"},
		"test without secret in staging": {config.Staging, "", map[string]string{"VEZA_MARKETPLACE_PAYMENTS_PROVIDER": "test"},
			"VEZA_MARKETPLACE_PAYMENTS_TEST_WEBHOOK_SECRET"},
		"short secret":             {config.Test, "", map[string]string{"VEZA_MARKETPLACE_PAYMENTS_TEST_WEBHOOK_SECRET": "short"}, "at least 32 characters"},
		"hyperswitch without keys": {config.Test, "", map[string]string{"VEZA_MARKETPLACE_PAYMENTS_PROVIDER": "hyperswitch"}, "api_key or webhook_key is empty"},
		"unknown provider":         {config.Test, "", map[string]string{"VEZA_MARKETPLACE_PAYMENTS_PROVIDER": "paypal"}, "must be test or hyperswitch"},
		"currency":                 {config.Test, "", map[string]string{"VEZA_MARKETPLACE_CURRENCIES": "EUR,EURO"}, `"EURO" is not an ISO 4217 code`},
		"fee":                      {config.Test, "", map[string]string{"VEZA_MARKETPLACE_PLATFORM_FEE_BPS": "10000"}, "platform_fee_bps must be 0 to 9999"},
		"role":                     {config.Test, "", map[string]string{"VEZA_MARKETPLACE_SELLER_ROLES": "creator,seller"}, `"seller" is not a role`},
		"misspelt nested key": {config.Test, "modules:\n  auth: {enabled: true}\n  tracks: {enabled: true}\n  marketplace:\n    enabled: true\n    settings:\n      payments: {test: {webhook_secert: x}}\n", nil,
			"webhook_secert"},
	} {
		_, err := plan(tc.env, tc.yaml, tc.vars)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "modules.marketplace.settings") {
			t.Errorf("%s: %v, want an error saying %q", name, err, tc.want)
		}
	}
}
