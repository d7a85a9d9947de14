package idle

import (
	"errors"
	"io/fs"
	"syscall"
	"time"
)

// DefaultSources returns Linux's input sources. Each sees a different part
// of the user's input and most need rights or services a given PC may lack,
// so all of them are asked and the newest answer wins. Terminal times move
// in 8-second steps, so once a second is often enough for them; the others
// can tell of input within a poll.
func DefaultSources() []Named {
	return []Named{
		{Name: "evdev", Source: &EventDevices{}},
		{Name: "logind", Source: &Logind{}},
		{Name: "tty", Source: TTYs{}, Every: time.Second},
		{Name: "x11", Source: &X11{}},
	}
}

// rootDir lets tests put a fake /dev or /sys under a temporary directory.
func rootDir(root string) string {
	if root == "" {
		return "/"
	}
	return root
}

// absent tells whether err means the thing is not there for us (no file, no
// permission, nobody listening): the source cannot see input, which is not
// an error.
func absent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) ||
		errors.Is(err, syscall.ECONNREFUSED)
}

// redialAfter spaces out attempts to reach a bus or display that failed, so
// a PC without one is not asked every second.
const redialAfter = 30 * time.Second
