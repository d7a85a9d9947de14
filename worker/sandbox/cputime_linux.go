package sandbox

import (
	"syscall"
	"time"
)

const rusageThread = 1 // RUSAGE_THREAD: the calling thread only

func threadCPUTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
