package policy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestWeekActive(t *testing.T) {
	at := func(day time.Weekday, hh, mm int) time.Time {
		// 2026-11-22 is a Sunday.
		return time.Date(2026, 11, 22+int(day), hh, mm, 0, 0, time.Local)
	}
	tests := []struct {
		week   string
		at     time.Time
		active bool
	}{
		{"", at(time.Wednesday, 3, 0), true},
		{"mon-fri 18:00-08:00", at(time.Monday, 18, 0), true},
		{"mon-fri 18:00-08:00", at(time.Monday, 17, 59), false},
		{"mon-fri 18:00-08:00", at(time.Tuesday, 7, 59), true}, // Monday's evening, past midnight
		{"mon-fri 18:00-08:00", at(time.Tuesday, 8, 0), false},
		{"mon-fri 18:00-08:00", at(time.Saturday, 7, 0), true}, // Friday's night
		{"mon-fri 18:00-08:00", at(time.Monday, 7, 0), false},  // Sunday has no span
		{"mon-fri 18:00-08:00", at(time.Saturday, 19, 0), false},
		{"sat,sun 00:00-24:00", at(time.Sunday, 23, 59), true},
		{"sat,sun 00:00-24:00", at(time.Monday, 0, 0), false},
		{"fri-mon 12:00-13:00 20:00-21:00", at(time.Sunday, 20, 30), true},
		{"fri-mon 12:00-13:00 20:00-21:00", at(time.Wednesday, 12, 30), false},
	}
	for _, tt := range tests {
		w, err := ParseWeek(tt.week)
		if err != nil {
			t.Fatalf("ParseWeek(%q): %v", tt.week, err)
		}
		if got := w.Active(tt.at); got != tt.active {
			t.Errorf("%q at %s: active = %v, want %v", tt.week, tt.at.Format("Mon 15:04"), got, tt.active)
		}
	}
}

func TestParseWeekErrors(t *testing.T) {
	for _, s := range []string{"mon", "funday 10:00-11:00", "mon 10:00", "mon 25:00-26:00", "mon 10:60-11:00", "mon 24:00-01:00", "mon 9:00-10:00"} {
		if _, err := ParseWeek(s); err == nil || !strings.Contains(err.Error(), "active hours") {
			t.Errorf("ParseWeek(%q) = %v, want an active hours error", s, err)
		}
	}
}

func TestParsePreferences(t *testing.T) {
	p, err := ParsePreferences([]byte(`{"idle_minutes": 10, "run_on_battery": true, "active_hours": {"sat": ["09:00-17:00"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.IdleMinutes, want.RunOnBattery = 10, true
	want.ActiveHours = Week{time.Saturday: {{Start: 9 * 60, End: 17 * 60}}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("ParsePreferences = %+v, want %+v (unset fields keep defaults)", p, want)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParsePreferences(b)
	if err != nil || !reflect.DeepEqual(back, p) {
		t.Errorf("round trip = %+v, %v; want %+v", back, err, p)
	}

	for _, tt := range []struct{ in, want string }{
		{`{"idle_minuts": 3}`, "unknown field"},
		{`{"max_other_cpu_percent": 0}`, "max_other_cpu_percent"},
		{`{"max_cores_percent": 101, "cpu_throttle_percent": 0}`, "cpu_throttle_percent"},
		{`{"task_memory_mib": 512, "total_memory_mib": 100}`, "total_memory_mib"},
		{`{"active_hours": {"someday": ["09:00-10:00"]}}`, "not a day"},
	} {
		if _, err := ParsePreferences([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParsePreferences(%s) = %v, want an error about %s", tt.in, err, tt.want)
		}
	}
}

func TestSlotsAndThrottle(t *testing.T) {
	p := Defaults()
	if got := p.Slots(8); got != 8 {
		t.Errorf("Slots(8) = %d, want 8", got)
	}
	p.MaxCoresPercent = 50
	if got := p.Slots(8); got != 4 {
		t.Errorf("50%% of 8 cores = %d, want 4", got)
	}
	if got := p.Slots(1); got != 1 {
		t.Errorf("50%% of 1 core = %d, want 1 (at least one)", got)
	}
	p.TotalMemoryMiB = 1024
	if got := p.Slots(8); got != 2 {
		t.Errorf("1024 MiB / 512 MiB per task = %d slots, want 2", got)
	}
	p.CPUThrottlePercent = 30
	if run, pause := p.Throttle(); run != 300*time.Millisecond || pause != 700*time.Millisecond {
		t.Errorf("Throttle(30%%) = %v/%v, want 300ms/700ms", run, pause)
	}
}
