// Package modules lists the modules built into the veza binary. A custom
// binary appends its own to this list (see examples/hello-module).
package modules

import (
	"github.com/veza/veza/app"
	"github.com/veza/veza/modules/admin"
	"github.com/veza/veza/modules/auth"
	"github.com/veza/veza/modules/marketplace"
	"github.com/veza/veza/modules/playlists"
	"github.com/veza/veza/modules/social"
	"github.com/veza/veza/modules/tracks"
	"github.com/veza/veza/modules/webhooks"
)

// Builtin returns the built-in modules, in no particular order: app.Plan
// orders them by their requirements.
func Builtin() []app.Module {
	return []app.Module{
		auth.Module(),
		tracks.Module(),
		playlists.Module(),
		social.Module(),
		webhooks.Module(),
		marketplace.Module(),
		admin.Module(),
	}
}
