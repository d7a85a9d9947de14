package idle

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// TTYs sees typing on text consoles and terminals, SSH sessions included:
// the kernel updates a terminal's access time when it is read from, that is
// when the user types. It moves these times only in 8-second steps, so that
// they do not leak the rhythm of keystrokes; fine for idleness measured in
// minutes. Input to graphical sessions does not pass through a terminal and
// is not seen here.
type TTYs struct {
	Root string // "/" when empty
}

func (t TTYs) LastInput(context.Context) (time.Time, bool, error) {
	dev := filepath.Join(rootDir(t.Root), "dev")
	var paths []string
	for _, name := range names(dev) {
		if num, ok := strings.CutPrefix(name, "tty"); ok && digits(num) {
			paths = append(paths, filepath.Join(dev, name))
		}
	}
	for _, name := range names(filepath.Join(dev, "pts")) {
		if digits(name) { // not ptmx
			paths = append(paths, filepath.Join(dev, "pts", name))
		}
	}

	var last time.Time
	ok := false
	for _, p := range paths {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			continue // closed since it was listed
		}
		ok = true
		if at := time.Unix(st.Atim.Unix()); at.After(last) {
			last = at
		}
	}
	return last, ok, nil
}

// names lists a directory; one we cannot read holds nothing we can see.
func names(dir string) []string {
	entries, _ := os.ReadDir(dir)
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Name()
	}
	return out
}

func digits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
