package idle

import (
	"testing"
	"time"
)

const ioregSample = `+-o Root  <class IORegistryEntry, id 0x100000100, retain 30>
  +-o Mac14,2  <class IOPlatformExpertDevice, id 0x100000110, registered, matched, active, busy 0 (40112 ms), retain 41>
    +-o AppleARMPE  <class AppleARMPE, id 0x100000111, registered, matched, active, busy 0 (39874 ms), retain 63>
      +-o IOResources  <class IOResources, id 0x100000112, registered, matched, active, busy 0 (12 ms), retain 98>
        +-o IOHIDSystem  <class IOHIDSystem, id 0x1000004c1, registered, matched, active, busy 0 (0 ms), retain 24>
            {
              "IOClass" = "IOHIDSystem"
              "CFBundleIdentifier" = "com.apple.iokit.IOHIDFamily"
              "HIDParameters" = {"HIDClickTime"=500000000,"HIDKeyRepeat"=83333333}
              "IOProviderClass" = "IOResources"
              "HIDIdleTime" = 73120458291
              "IOMatchCategory" = "IOHIDSystem"
            }
`

func TestParseHIDIdleTime(t *testing.T) {
	tests := []struct {
		name   string
		out    string
		want   time.Duration
		wantOK bool
	}{
		{name: "ioreg output", out: ioregSample, want: 73120458291, wantOK: true},
		{name: "just touched", out: `"HIDIdleTime" = 0` + "\n", want: 0, wantOK: true},
		{name: "at the end without newline", out: `"HIDIdleTime" = 1500000000`, want: 1500 * time.Millisecond, wantOK: true},
		{name: "no IOHIDSystem", out: "+-o Root  <class IORegistryEntry>\n"},
		{name: "empty", out: ""},
		{name: "not a number", out: `"HIDIdleTime" = <data>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseHIDIdleTime([]byte(tt.out))
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("parseHIDIdleTime = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestParsePmset(t *testing.T) {
	tests := []struct {
		name                 string
		out                  string
		onBattery, wantKnown bool
	}{
		{
			name:      "laptop on AC",
			out:       "Now drawing from 'AC Power'\n -InternalBattery-0 (id=4653155)\t100%; charged; 0:00 remaining present: true\n",
			wantKnown: true,
		},
		{
			name:      "laptop on battery",
			out:       "Now drawing from 'Battery Power'\n -InternalBattery-0 (id=4653155)\t87%; discharging; 5:12 remaining present: true\n",
			onBattery: true, wantKnown: true,
		},
		{name: "desktop", out: "Now drawing from 'AC Power'\n", wantKnown: true},
		{name: "power cut on a UPS", out: "Now drawing from 'UPS Power'\n", onBattery: true, wantKnown: true},
		{name: "unknown source", out: "Now drawing from 'Solar Power'\n"},
		{name: "cut short", out: "Now drawing from 'AC Pow"},
		{name: "empty", out: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			onBattery, known := parsePmset(tt.out)
			if onBattery != tt.onBattery || known != tt.wantKnown {
				t.Errorf("parsePmset = %v, %v; want %v, %v", onBattery, known, tt.onBattery, tt.wantKnown)
			}
		})
	}
}
