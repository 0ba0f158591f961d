package hello

import (
	"errors"
	"strings"

	"github.com/veza/veza/platform/config"
)

// Settings are read from modules.hello.settings in modules.yaml; the
// environment variable VEZA_HELLO_GREETING overrides greeting.
type Settings struct {
	// Greeting starts every message: "<greeting>, <name>!".
	Greeting string `yaml:"greeting"`
}

func defaultSettings() *Settings { return &Settings{Greeting: "Hello"} }

// Validate refuses a blank greeting; start-up stops with this error.
func (s *Settings) Validate(config.Env) error {
	if strings.TrimSpace(s.Greeting) == "" {
		return errors.New("greeting must not be empty; fix: set modules.hello.settings.greeting or VEZA_HELLO_GREETING")
	}
	return nil
}
