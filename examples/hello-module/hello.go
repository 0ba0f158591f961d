// Package hello is a Veza module written outside the Veza repository, in a
// Go module of its own, to show what a third party needs: a Module value
// with private constructors (Provides) and a Register function, a settings
// struct, embedded migrations, routes, jobs (one enqueued in a request's
// transaction, one scheduled), a published event and a subscription to it,
// and a background loop.
//
// POST /api/v1/hello stores a greeting, publishes hello.greeted and enqueues
// hello:tally, all in the same transaction. The module's own subscription
// records each delivery in hello_deliveries, once per event; hello:tally
// counts the name's greetings into hello_tally; a background loop reads the
// most greeted names from it every refresh_every and GET
// /api/v1/hello/popular serves them from memory; the daily job hello:tidy
// forgets deliveries older than 30 days.
//
// A binary that includes it is the ten-line main in cmd/veza:
//
//	os.Exit(cli.Main(app.New(append(modules.Builtin(), hello.Module())...), os.Args[1:]))
package hello
