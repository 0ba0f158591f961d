// Command veza runs the Veza backend: the HTTP API, the job worker, schema
// migrations and the tools around them. Run `veza help` for the commands.
package main

import (
	"os"

	"github.com/veza/veza/app"
	"github.com/veza/veza/app/cli"
	"github.com/veza/veza/modules"
)

func main() {
	os.Exit(cli.Main(app.New(modules.Builtin()...), os.Args[1:]))
}
