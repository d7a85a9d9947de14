package idle

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"
)

// DefaultSources returns macOS's input source. Running ioreg costs a
// process, so it is asked once a second.
func DefaultSources() []Named {
	return []Named{{Name: "iohid", Source: HIDIdleTime{}, Every: time.Second}}
}

// HIDIdleTime reads how long macOS has seen no input from `ioreg`, which
// every Mac has and which needs no rights, so no cgo binding to IOKit is
// needed.
type HIDIdleTime struct{}

func (HIDIdleTime) LastInput(ctx context.Context) (time.Time, bool, error) {
	out, err := exec.CommandContext(ctx, "ioreg", "-c", "IOHIDSystem", "-d", "4").Output()
	if errors.Is(err, exec.ErrNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("run ioreg: %w", err)
	}
	idle, ok := parseHIDIdleTime(out)
	if !ok {
		return time.Time{}, false, nil
	}
	return time.Now().Add(-idle), true, nil
}
