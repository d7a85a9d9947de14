//go:build !linux

package sandbox

import "time"

// threadCPUTime is not available here; Exec falls back to wall time.
func threadCPUTime() (time.Duration, bool) { return 0, false }
