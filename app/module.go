// Package app assembles Veza from modules. A Module is a value that says, in
// one place, what a feature needs and contributes: its name, the modules it
// requires, its settings, its migrations, its events and its fx options. New
// receives the modules a binary contains; Plan reads modules.yaml to decide
// which run and in what order; Build makes the fx application of one process
// (API, worker or both) from the enabled ones.
//
// Nothing registers itself: a binary lists its modules explicitly, the way a
// custom Caddy lists its plugins, so a third party adds a module with a
// ten-line main (see examples/hello-module).
package app

import (
	"fmt"
	"io/fs"
	"regexp"

	"go.uber.org/fx"

	"github.com/veza/veza/platform/config"
)

// Module is one feature of Veza.
type Module struct {
	// Name is lower-case and unique. It is the job-type prefix, the queue
	// name, the migrations table suffix (schema_migrations_<name>), the key
	// under modules: in modules.yaml and the module label in logs and metrics.
	Name string
	// Description is one line for listings.
	Description string
	// Requires names the modules this one cannot run without. It may use
	// their public Go interfaces (and only those).
	Requires []string
	// Settings returns a pointer to a new settings struct holding the
	// defaults; nil when the module has none. modules.<name>.settings is
	// decoded into it strictly (unknown keys are errors) using the fields'
	// yaml tags; an `env:"NAME"` tag lets an environment variable override a
	// field (VEZA_<MODULE>_<KEY> always does). If the struct has a method
	// Validate(config.Env) error, start-up calls it and refuses on error.
	// The decoded pointer is supplied to the module's fx options.
	Settings func() any
	// Migrations holds <version>_<name>.up.sql/.down.sql files, at the root
	// or in a "migrations" folder (an embed.FS of migrations/*.sql works).
	Migrations fs.FS
	// Events lists the public events the module publishes, for the webhook
	// catalogue and wildcard subscribers.
	Events []EventType
	// Options are the module's fx options: providers and one invoke that
	// registers its contributions through the *app.Registrar it is given.
	// Within them, *app.Registrar, *events.Publisher and *zap.Logger are the
	// module's own (its name filled in).
	Options fx.Option
}

// EventType documents one public event.
type EventType struct {
	Type        string `json:"type"`
	Description string `json:"description"`
	// Example is a sample payload, shown in the catalogue.
	Example any `json:"example"`
}

// SettingsValidator is implemented by settings structs that check themselves.
type SettingsValidator interface {
	Validate(env config.Env) error
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// reserved names belong to the platform.
var reserved = map[string]bool{"platform": true, "app": true, "api": true}

func (m Module) check() error {
	if !validName.MatchString(m.Name) {
		return fmt.Errorf("module name %q must be lower-case letters, digits and _ (starting with a letter, at most 40)", m.Name)
	}
	if reserved[m.Name] {
		return fmt.Errorf("module name %q is reserved for the platform", m.Name)
	}
	for _, r := range m.Requires {
		if r == m.Name {
			return fmt.Errorf("module %s requires itself", m.Name)
		}
	}
	return nil
}

// migrationsFS returns the folder holding the module's migration files.
func (m Module) migrationsFS() fs.FS {
	if m.Migrations == nil {
		return nil
	}
	if entries, err := fs.ReadDir(m.Migrations, "migrations"); err == nil && len(entries) > 0 {
		sub, err := fs.Sub(m.Migrations, "migrations")
		if err == nil {
			return sub
		}
	}
	return m.Migrations
}
