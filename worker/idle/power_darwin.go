package idle

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"
)

// DefaultPower returns macOS's power source.
func DefaultPower() Power { return &Pmset{} }

// Pmset reads the power source from `pmset -g batt`, at most every 30
// seconds: it changes rarely and the command is slow.
type Pmset struct {
	cache cached[bool]
}

func (p *Pmset) OnBattery(ctx context.Context) (bool, bool, error) {
	return p.cache.get(30*time.Second, func() (bool, bool, error) {
		out, err := exec.CommandContext(ctx, "pmset", "-g", "batt").Output()
		if errors.Is(err, exec.ErrNotFound) {
			return false, false, nil
		}
		if err != nil {
			return false, false, fmt.Errorf("run pmset: %w", err)
		}
		onBattery, known := parsePmset(string(out))
		return onBattery, known, nil
	})
}
