package hello

import (
	"errors"
	"strings"
	"time"

	"github.com/veza/veza/platform/config"
)

// Settings are read from modules.hello.settings in modules.yaml; the
// environment variables VEZA_HELLO_GREETING and VEZA_HELLO_REFRESH_EVERY
// override them.
type Settings struct {
	// Greeting starts every message: "<greeting>, <name>!".
	Greeting string `yaml:"greeting"`
	// RefreshEvery is how often the list of the most greeted names is read
	// again from the database ("10s").
	RefreshEvery time.Duration `yaml:"refresh_every"`
}

// MinRefresh is the shortest refresh_every accepted: each refresh is a
// query, and every API process makes it.
const MinRefresh = 100 * time.Millisecond

func defaultSettings() *Settings { return &Settings{Greeting: "Hello", RefreshEvery: 10 * time.Second} }

// Validate refuses a blank greeting and a refresh period under MinRefresh;
// start-up stops with the error.
func (s *Settings) Validate(config.Env) error {
	if strings.TrimSpace(s.Greeting) == "" {
		return errors.New("greeting must not be empty; fix: set modules.hello.settings.greeting or VEZA_HELLO_GREETING")
	}
	if s.RefreshEvery < MinRefresh {
		return errors.New("refresh_every must be at least 100ms; fix: set modules.hello.settings.refresh_every or VEZA_HELLO_REFRESH_EVERY (\"10s\")")
	}
	return nil
}
