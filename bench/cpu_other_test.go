//go:build !unix

package bench

import "time"

// cpuTime is unknown here: the CPU figures come out as 0.
func cpuTime() time.Duration { return 0 }
