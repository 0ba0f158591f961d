// Package hello is a Veza module written outside the Veza repository, in a
// Go module of its own, to show what a third party needs: a Module value, a
// settings struct, embedded migrations, two routes, a scheduled job, a
// published event and a subscription to it.
//
// POST /api/v1/hello stores a greeting and publishes hello.greeted in the
// same transaction; the module's own subscription records each delivery in
// hello_deliveries, once per event; the daily job hello:tidy forgets
// deliveries older than 30 days.
//
// A binary that includes it is the ten-line main in cmd/veza:
//
//	os.Exit(cli.Main(app.New(append(modules.Builtin(), hello.Module())...), os.Args[1:]))
package hello
