package idle

import (
	"bytes"
	"strconv"
	"time"
)

// parseHIDIdleTime finds `"HIDIdleTime" = <nanoseconds>` in the output of
// `ioreg -c IOHIDSystem -d 4`: how long ago macOS last saw input from any
// keyboard, mouse or trackpad.
func parseHIDIdleTime(out []byte) (time.Duration, bool) {
	const key = `"HIDIdleTime" = `
	_, rest, found := bytes.Cut(out, []byte(key))
	if !found {
		return 0, false
	}
	end := bytes.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		rest = rest[:end]
	}
	ns, err := strconv.ParseInt(string(rest), 10, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ns), true
}
