package hello

import (
	"embed"

	"github.com/google/uuid"

	"github.com/veza/veza/app"
)

// Name is the module's name: its URL segment, job prefix, queue, migrations
// table suffix (schema_migrations_hello) and key in modules.yaml.
const Name = "hello"

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Module returns the hello module. It is a new value each time: the module
// keeps no package-level state.
//
// Its constructors are Provides: what they build (the store, the service,
// the handler, the popular list) is private to hello, so no other module
// can come to depend on it. hello offers other modules nothing, so it has
// no Exports.
func Module() app.Module {
	return app.Module{
		Name:        Name,
		Description: "Greets people by name, records the greetings it publishes and lists the most greeted names (example module)",
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
		Provides: []any{newStore, newService, newPopular, newHandler},
		Register: register,
	}
}

// register contributes the module's routes, jobs, schedule, subscription and
// background loop through its own registrar. It starts nothing itself.
func register(reg *app.Registrar, h *handler, svc *service, pop *popular) {
	reg.Post("/hello", h.greet,
		app.Summary("Greet someone"),
		app.Description("Stores a greeting for name, publishes hello.greeted and enqueues hello:tally, all in the same transaction."),
		app.RequestBody(greetRequest{}),
		app.Response(201, "the greeting", Greeting{}),
		app.Response(422, "name is missing or longer than 100 characters", nil),
	)
	// Before /hello/:id, which would otherwise match "popular" as an id.
	reg.Get("/hello/popular", h.popular,
		app.Summary("The most greeted names"),
		app.Description("At most 10 names, most greeted first, as of refreshed_at: the list is refreshed every refresh_every."),
		app.Response(200, "the list", PopularList{}),
	)
	reg.Get("/hello/:id", h.get,
		app.Summary("Get a greeting"),
		app.Response(200, "the greeting", Greeting{}),
		app.Response(400, "id is not a UUID", nil),
		app.Response(404, "no greeting has this id", nil),
	)
	reg.Job(TallyJob, svc.handleTally)
	reg.Job(TidyJob, svc.handleTidy)
	reg.Schedule("@daily", TidyJob, nil)
	reg.Subscribe(EventGreeted, svc.handleGreeted)
	// The list is served by the API, so only API processes refresh it.
	reg.Background("popular", pop.run, app.OnlyIn(app.RoleAPI))
}
