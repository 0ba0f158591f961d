// Command veza is Veza with the hello module added: the built-in modules plus
// one of our own, the way a custom Caddy is built.
package main

import (
	"os"

	"example.com/hello"
	"github.com/veza/veza/app"
	"github.com/veza/veza/app/cli"
	"github.com/veza/veza/modules"
)

func main() {
	os.Exit(cli.Main(app.New(append(modules.Builtin(), hello.Module())...), os.Args[1:]))
}
