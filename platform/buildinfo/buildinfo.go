// Package buildinfo holds what the binary knows about its own build.
package buildinfo

import (
	"runtime/debug"
	"time"
)

// Version is set at link time (-ldflags "-X .../buildinfo.Version=v1.2.3");
// without it the module version or "dev" is reported.
var Version = ""

// Started is when this process started; /status reports the uptime from it.
var Started = time.Now()

// String returns the version to report.
func String() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
