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
	"reflect"
	"regexp"

	"github.com/veza/veza/platform/config"
)

// Module is one feature of Veza. It is plain data: New checks it, Plan
// decides whether it runs, Build wires it. Nothing of it is global.
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
	// Events lists every event the module publishes: its publisher refuses
	// any other type. Those not marked Internal are public: listed in the
	// webhook catalogue and delivered to wildcard subscribers.
	Events []EventType
	// Provides lists the module's constructors (functions, or fx.Annotate
	// results). What they build is private to the module: no other module
	// can ask for it, so a module's internals cannot become another's
	// dependency by accident.
	Provides []any
	// Exports lists constructors of what the module offers the modules that
	// require it: each returns an interface (tracksapi.Catalog,
	// authn.Authenticator), written for that purpose and documented as the
	// module's public Go API. Exports may take the module's private values.
	Exports []any
	// Register is invoked once, after the module's requirements have
	// registered: a function whose parameters are filled from the module's
	// own values (*app.Registrar, *events.Publisher, *jobs.Enqueuer,
	// storage.Store, *zap.Logger, its settings), what it Provides, the
	// platform's (*sqlx.DB, *config.Config, ...) and its requirements'
	// exports. It contributes routes, jobs, loops and the rest through the
	// registrar; it starts nothing itself (Registrar.Background runs loops).
	Register any
}

// EventType documents one public event.
type EventType struct {
	Type        string `json:"type"`
	Description string `json:"description"`
	// Example is a sample payload, shown in the catalogue.
	Example any `json:"example"`
	// Internal events reach only the modules that subscribe to them by
	// name: they are not offered to webhooks or wildcard subscribers.
	Internal bool `json:"-"`
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
	if m.Register != nil && reflect.TypeOf(m.Register).Kind() != reflect.Func {
		return fmt.Errorf("module %s: Register must be a function, not %T", m.Name, m.Register)
	}
	for _, e := range m.Exports {
		if err := checkExport(e); err != nil {
			return fmt.Errorf("module %s: %w; fix: export an interface written for other modules and keep the rest in Provides", m.Name, err)
		}
	}
	seen := map[string]bool{}
	for _, e := range m.Events {
		if e.Type == "" || seen[e.Type] {
			return fmt.Errorf("module %s declares the event %q twice or empty", m.Name, e.Type)
		}
		seen[e.Type] = true
	}
	return nil
}

// checkExport refuses an exported constructor that hands out a concrete
// type: another module would then depend on the exporter's internals.
// fx.Annotate results cannot be inspected and are taken as written.
func checkExport(ctor any) error {
	t := reflect.TypeOf(ctor)
	if t == nil || t.Kind() != reflect.Func {
		return nil
	}
	for i := 0; i < t.NumOut(); i++ {
		out := t.Out(i)
		if out == reflect.TypeOf((*error)(nil)).Elem() {
			continue
		}
		if out.Kind() != reflect.Interface {
			return fmt.Errorf("it exports %s, which is not an interface", out)
		}
	}
	return nil
}

// publicEvents lists the module's public event types.
func (m Module) publicEvents() []string {
	var out []string
	for _, e := range m.Events {
		if !e.Internal {
			out = append(out, e.Type)
		}
	}
	return out
}

// eventNames lists every event type the module declares.
func (m Module) eventNames() []string {
	out := make([]string, len(m.Events))
	for i, e := range m.Events {
		out[i] = e.Type
	}
	return out
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
