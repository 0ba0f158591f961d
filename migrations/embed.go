// Package migrations holds the platform's own schema (the event outbox, the
// append-only audit log), run
// by the same runner as the modules' under the module name "platform".
package migrations

import "embed"

// FS holds the platform's migration files.
//
//go:embed *.sql
var FS embed.FS
