package idle

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSysfsPower(t *testing.T) {
	type files map[string]string // file under a supply's directory → content
	tests := []struct {
		name                 string
		supplies             map[string]files // nil: no power_supply directory
		onBattery, wantKnown bool
	}{
		{name: "no power_supply class: a desktop", wantKnown: true},
		{name: "no supplies: a desktop", supplies: map[string]files{}, wantKnown: true},
		{
			name: "desktop with a wireless mouse running down",
			supplies: map[string]files{
				"hidpp_battery_0": {"type": "Battery\n", "scope": "Device\n", "status": "Discharging\n"},
			},
			wantKnown: true,
		},
		{
			name: "laptop on AC",
			supplies: map[string]files{
				"AC":   {"type": "Mains\n", "online": "1\n"},
				"BAT0": {"type": "Battery\n", "status": "Charging\n"},
			},
			wantKnown: true,
		},
		{
			name: "laptop on AC with a worn battery discharging anyway",
			supplies: map[string]files{
				"ADP1": {"type": "Mains\n", "online": "1\n"},
				"BAT0": {"type": "Battery\n", "status": "Discharging\n"},
			},
			wantKnown: true,
		},
		{
			name: "laptop on battery",
			supplies: map[string]files{
				"AC":   {"type": "Mains\n", "online": "0\n"},
				"BAT0": {"type": "Battery\n", "status": "Discharging\n"},
			},
			onBattery: true, wantKnown: true,
		},
		{
			name: "laptop on battery, adapter offline, battery holding its charge",
			supplies: map[string]files{
				"ACAD":                    {"type": "Mains\n", "online": "0\n"},
				"ucsi-source-psy-USBC000": {"type": "USB\n", "online": "0\n", "scope": "System\n"},
				"BAT1":                    {"type": "Battery\n", "status": "Not charging\n"},
			},
			onBattery: true, wantKnown: true,
		},
		{
			name: "charging over USB-C",
			supplies: map[string]files{
				"ucsi-source-psy-USBC000": {"type": "USB\n", "online": "1\n"},
				"BAT0":                    {"type": "Battery\n", "status": "Charging\n"},
			},
			wantKnown: true,
		},
		{
			name:      "battery discharging, no adapter listed",
			supplies:  map[string]files{"BAT0": {"type": "Battery\n", "status": "Discharging\n"}},
			onBattery: true, wantKnown: true,
		},
		{
			name:      "battery full, no adapter listed",
			supplies:  map[string]files{"BAT0": {"type": "Battery\n", "status": "Full\n"}},
			wantKnown: true,
		},
		{
			name:     "unknown: a battery that cannot say",
			supplies: map[string]files{"BAT0": {"type": "Battery\n", "status": "Unknown\n"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, contents := range tt.supplies {
				dir := filepath.Join(root, "sys", "class", "power_supply", name)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for file, content := range contents {
					if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			if tt.supplies != nil {
				if err := os.MkdirAll(filepath.Join(root, "sys", "class", "power_supply"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			onBattery, known, err := SysfsPower{Root: root}.OnBattery(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if onBattery != tt.onBattery || known != tt.wantKnown {
				t.Errorf("OnBattery = %v, %v; want %v, %v", onBattery, known, tt.onBattery, tt.wantKnown)
			}
		})
	}
}
