package hello

import (
	"embed"

	"github.com/google/uuid"
	"go.uber.org/fx"

	"github.com/veza/veza/app"
)

// Name is the module's name: its URL segment, job prefix, queue, migrations
// table suffix (schema_migrations_hello) and key in modules.yaml.
const Name = "hello"

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Module returns the hello module. It is a new value each time: the module
// keeps no package-level state.
func Module() app.Module {
	return app.Module{
		Name:        Name,
		Description: "Greets people by name and records the greetings it publishes (example module)",
		Settings:    func() any { return defaultSettings() },
		Migrations:  migrationsFS,
		Events: []app.EventType{{
			Type:        EventGreeted,
			Description: "Someone was greeted through POST /api/v1/hello.",
			Example: GreetedPayload{
				GreetingID: uuid.MustParse("0190b5a4-7c4e-7d3a-9a57-1c1f7d9a2b01"),
				Name:       "Ada",
				Message:    "Hello, Ada!",
			},
		}},
		Options: fx.Options(
			fx.Provide(newStore, newService, newHandler),
			fx.Invoke(register),
		),
	}
}

// register contributes the module's routes, job, schedule and subscription
// through its own registrar.
func register(reg *app.Registrar, h *handler, svc *service) {
	reg.Post("/hello", h.greet,
		app.Summary("Greet someone"),
		app.Description("Stores a greeting for name and publishes hello.greeted in the same transaction."),
		app.RequestBody(greetRequest{}),
		app.Response(201, "the greeting", Greeting{}),
		app.Response(422, "name is missing or longer than 100 characters", nil),
	)
	reg.Get("/hello/:id", h.get,
		app.Summary("Get a greeting"),
		app.Response(200, "the greeting", Greeting{}),
		app.Response(400, "id is not a UUID", nil),
		app.Response(404, "no greeting has this id", nil),
	)
	reg.Job(TidyJob, svc.handleTidy)
	reg.Schedule("@daily", TidyJob, nil)
	reg.Subscribe(EventGreeted, svc.handleGreeted)
}
