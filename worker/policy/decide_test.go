package policy

import (
	"strings"
	"testing"
	"time"
)

// A Monday, local time.
var monday = time.Date(2026, 11, 23, 12, 0, 0, 0, time.Local)

func idleFor(d time.Duration) Observation {
	return Observation{Now: monday, LastInput: monday.Add(-d), InputKnown: true, CPUKnown: true, PowerKnown: true}
}

func TestDecide(t *testing.T) {
	running := State{Run: true, Code: Running, Since: monday.Add(-time.Hour)}
	waiting := State{Code: UserActive, Since: monday.Add(-time.Hour)}
	prefs := func(edit func(*Preferences)) Preferences {
		p := Defaults()
		if edit != nil {
			edit(&p)
		}
		return p
	}
	with := func(o Observation, edit func(*Observation)) Observation {
		edit(&o)
		return o
	}
	tests := []struct {
		name   string
		prefs  Preferences
		prev   State
		obs    Observation
		paused bool
		run    bool
		code   Code
		detail string // a part of Detail
	}{
		{"idle long enough starts", prefs(nil), waiting, idleFor(3 * time.Minute), false, true, Running, "idle"},
		{"idle not long enough waits", prefs(nil), waiting, idleFor(90 * time.Second), false, false, UserActive, "input 1m30s ago; waiting for 3m0s"},
		{"input suspends a running task", prefs(nil), running, idleFor(0), false, false, UserActive, "input 0s ago"},
		{"idle minutes 10", prefs(func(p *Preferences) { p.IdleMinutes = 10 }), waiting, idleFor(5 * time.Minute), false, false, UserActive, "waiting for 10m0s"},
		{"idle minutes 0 runs at once", prefs(func(p *Preferences) { p.IdleMinutes = 0 }), waiting, idleFor(0), false, true, Running, ""},
		{"no suspend on input: keeps running", prefs(func(p *Preferences) { p.SuspendOnInput = false }), running, idleFor(0), false, true, Running, ""},
		{"no suspend on input: still waits to start", prefs(func(p *Preferences) { p.SuspendOnInput = false }), waiting, idleFor(time.Minute), false, false, UserActive, ""},
		{"other CPU over the limit suspends", prefs(nil), running, with(idleFor(time.Hour), func(o *Observation) { o.OtherCPUPercent = 63 }), false, false, OtherCPUBusy, "63% CPU (limit 25%, resume under 15%)"},
		{"other CPU at the limit runs", prefs(nil), running, with(idleFor(time.Hour), func(o *Observation) { o.OtherCPUPercent = 25 }), false, true, Running, ""},
		{"CPU hysteresis: still busy between the levels", prefs(nil), State{Code: OtherCPUBusy, cpuBusy: true, Since: monday.Add(-time.Minute)}, with(idleFor(time.Hour), func(o *Observation) { o.OtherCPUPercent = 20 }), false, false, OtherCPUBusy, "20%"},
		{"CPU hysteresis: resumes under the resume level", prefs(nil), State{Code: OtherCPUBusy, cpuBusy: true, Since: monday.Add(-time.Minute)}, with(idleFor(time.Hour), func(o *Observation) { o.OtherCPUPercent = 14 }), false, true, Running, ""},
		{"CPU limit 100 never suspends", prefs(func(p *Preferences) { p.MaxOtherCPUPercent = 100 }), running, with(idleFor(time.Hour), func(o *Observation) { o.OtherCPUPercent = 99 }), false, true, Running, ""},
		{"CPU unknown does not suspend", prefs(nil), running, with(idleFor(time.Hour), func(o *Observation) { o.OtherCPUPercent, o.CPUKnown = 90, false }), false, true, Running, ""},
		{"battery suspends by default", prefs(nil), running, with(idleFor(time.Hour), func(o *Observation) { o.OnBattery = true }), false, false, OnBattery, "battery"},
		{"battery allowed", prefs(func(p *Preferences) { p.RunOnBattery = true }), running, with(idleFor(time.Hour), func(o *Observation) { o.OnBattery = true }), false, true, Running, ""},
		{"power unknown runs", prefs(nil), running, with(idleFor(time.Hour), func(o *Observation) { o.OnBattery, o.PowerKnown = true, false }), false, true, Running, ""},
		{"outside active hours", prefs(func(p *Preferences) { p.ActiveHours = mustWeek(t, "mon-fri 18:00-08:00") }), running, idleFor(time.Hour), false, false, OutsideHours, "Mon 12:00"},
		{"inside active hours", prefs(func(p *Preferences) { p.ActiveHours = mustWeek(t, "mon 11:00-13:00") }), waiting, idleFor(time.Hour), false, true, Running, ""},
		{"no input source counts as idle", prefs(nil), waiting, with(idleFor(0), func(o *Observation) { o.InputKnown = false }), false, true, NoInputSources, "counting it as idle"},
		{"paused by the volunteer", prefs(nil), running, idleFor(time.Hour), true, false, ExplicitPause, "paused"},
		{"battery wins over input", prefs(nil), running, with(idleFor(0), func(o *Observation) { o.OnBattery = true }), false, false, OnBattery, ""},
		{"input wins over CPU", prefs(nil), running, with(idleFor(0), func(o *Observation) { o.OtherCPUPercent = 90 }), false, false, UserActive, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.prefs, tt.prev, tt.obs, tt.paused)
			if got.Run != tt.run || got.Code != tt.code || !strings.Contains(got.Detail, tt.detail) {
				t.Errorf("Decide = run %v, %s (%q); want run %v, %s (containing %q)", got.Run, got.Code, got.Detail, tt.run, tt.code, tt.detail)
			}
			wantSince := tt.prev.Since
			if got.Run != tt.prev.Run {
				wantSince = tt.obs.Now
			}
			if !got.Since.Equal(wantSince) {
				t.Errorf("Since = %v, want %v (changes only when Run does)", got.Since, wantSince)
			}
		})
	}
}

func mustWeek(t *testing.T, s string) Week {
	t.Helper()
	w, err := ParseWeek(s)
	if err != nil {
		t.Fatal(err)
	}
	return w
}
