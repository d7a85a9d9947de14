package idle

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"
)

// DefaultInput returns macOS's input source.
func DefaultInput() Combined {
	return Combined{{Name: "iohid", Source: &HIDIdleTime{}}}
}

// HIDIdleTime reads how long macOS has seen no input from `ioreg`, which
// every Mac has and which needs no rights, so no cgo binding to IOKit is
// needed. ioreg runs at most once a second: the answer is kept that long.
type HIDIdleTime struct {
	cache cached[time.Time]
}

func (h *HIDIdleTime) LastInput(ctx context.Context) (time.Time, bool, error) {
	return h.cache.get(time.Second, func() (time.Time, bool, error) {
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
	})
}
