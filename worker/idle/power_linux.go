package idle

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// DefaultPower returns Linux's power source.
func DefaultPower() Power { return SysfsPower{} }

// SysfsPower reads the kernel's power supplies in /sys/class/power_supply.
type SysfsPower struct {
	Root string // "/" when empty
}

// supply is what one power_supply directory says, its files trimmed.
type supply struct {
	typ, scope, online, status string
}

func (p SysfsPower) OnBattery(context.Context) (bool, bool, error) {
	dir := filepath.Join(rootDir(p.Root), "sys", "class", "power_supply")
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, false, fmt.Errorf("list power supplies: %w", err)
	}
	supplies := make([]supply, 0, len(entries))
	for _, e := range entries {
		read := func(file string) string {
			b, _ := os.ReadFile(filepath.Join(dir, e.Name(), file)) // absent files stay ""
			return strings.TrimSpace(string(b))
		}
		supplies = append(supplies, supply{typ: read("type"), scope: read("scope"), online: read("online"), status: read("status")})
	}
	onBattery, known := powerState(supplies)
	return onBattery, known, nil
}

// powerState decides from the supplies. An adapter online means AC even if a
// worn battery discharges beside it. A battery discharging, or batteries with
// every adapter offline, mean battery; a battery charging or full means AC.
// No battery at all is a desktop. Anything else is unknown.
func powerState(supplies []supply) (onBattery, known bool) {
	var adapterOnline, adapterOffline, discharging, fed bool
	batteries := 0
	for _, s := range supplies {
		if s.scope == "Device" {
			continue // a mouse's or headset's battery says nothing about the PC's
		}
		switch s.typ {
		case "Battery", "UPS":
			batteries++
			switch s.status {
			case "Discharging":
				discharging = true
			case "Charging", "Full": // batteries report these only when fed
				fed = true
			}
		default: // Mains, USB, USB_C and other adapters
			switch s.online {
			case "1":
				adapterOnline = true
			case "0":
				adapterOffline = true
			}
		}
	}
	switch {
	case adapterOnline, batteries == 0:
		return false, true
	case discharging, adapterOffline:
		return true, true
	case fed:
		return false, true
	}
	return false, false
}
