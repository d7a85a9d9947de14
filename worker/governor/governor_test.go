package governor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/worker/agent"
	"github.com/nightshift-platform/nightshift/worker/idle"
	"github.com/nightshift-platform/nightshift/worker/policy"
)

// world is a PC the test controls: its clock, an activity file (a real
// idle source), and CPU load, power and pause.
type world struct {
	now      time.Time
	activity idle.ActivityFile
	cpu      float64
	battery  bool
	paused   bool
	prefs    policy.Preferences
}

func (w *world) touch(t *testing.T, at time.Time) {
	t.Helper()
	if err := os.WriteFile(w.activity.Path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(w.activity.Path, at, at); err != nil {
		t.Fatal(err)
	}
}

func (w *world) governor(gate *agent.Gate) *Governor {
	return &Governor{
		Gate:  gate,
		Input: w.activity,
		Observe: func(ctx context.Context) idle.Observation {
			t, ok, _ := w.activity.LastInput(ctx)
			return idle.Observation{LastInput: t, InputKnown: ok, OtherCPUPercent: w.cpu, CPUKnown: true,
				OnBattery: w.battery, PowerKnown: true, Sources: []string{"activity-file"}}
		},
		Preferences: func() policy.Preferences { return w.prefs },
		Paused:      func() bool { return w.paused },
		Now:         func() time.Time { return w.now },
		FullEvery:   time.Second,
	}
}

// Each step changes the world, then the governor decides; the gate must
// follow the decision and the reason must say why.
func TestGovernorFollowsThePC(t *testing.T) {
	type step struct {
		what   string
		change func(t *testing.T, w *world)
		open   bool
		code   policy.Code
	}
	advance := func(d time.Duration) func(*testing.T, *world) {
		return func(_ *testing.T, w *world) { w.now = w.now.Add(d) }
	}
	input := func(t *testing.T, w *world) { w.touch(t, w.now) }
	tests := []struct {
		name  string
		prefs func(*policy.Preferences)
		steps []step
	}{
		{"input and idle time", nil, []step{
			{"input a minute ago", func(t *testing.T, w *world) { w.touch(t, w.now.Add(-time.Minute)) }, false, policy.UserActive},
			{"3 minutes idle", advance(2 * time.Minute), true, policy.Running},
			{"the owner is back", input, false, policy.UserActive},
			{"2 minutes later", advance(2 * time.Minute), false, policy.UserActive},
			{"3 minutes later", advance(time.Minute), true, policy.Running},
		}},
		{"input does not suspend when the volunteer says so", func(p *policy.Preferences) { p.SuspendOnInput = false }, []step{
			{"idle", func(t *testing.T, w *world) { w.touch(t, w.now.Add(-time.Hour)) }, true, policy.Running},
			{"the owner is back", input, true, policy.Running},
		}},
		{"other programs' CPU, with hysteresis", nil, []step{
			{"idle", func(t *testing.T, w *world) { w.touch(t, w.now.Add(-time.Hour)) }, true, policy.Running},
			{"a build starts", func(_ *testing.T, w *world) { w.cpu, w.now = 80, w.now.Add(time.Second) }, false, policy.OtherCPUBusy},
			{"load falls to 20%", func(_ *testing.T, w *world) { w.cpu, w.now = 20, w.now.Add(time.Second) }, false, policy.OtherCPUBusy},
			{"load falls to 10%", func(_ *testing.T, w *world) { w.cpu, w.now = 10, w.now.Add(time.Second) }, true, policy.Running},
		}},
		{"battery", nil, []step{
			{"idle on battery", func(t *testing.T, w *world) { w.touch(t, w.now.Add(-time.Hour)); w.battery = true }, false, policy.OnBattery},
			{"plugged in", func(_ *testing.T, w *world) { w.battery, w.now = false, w.now.Add(time.Second) }, true, policy.Running},
		}},
		{"battery allowed", func(p *policy.Preferences) { p.RunOnBattery = true }, []step{
			{"idle on battery", func(t *testing.T, w *world) { w.touch(t, w.now.Add(-time.Hour)); w.battery = true }, true, policy.Running},
		}},
		{"active hours", func(p *policy.Preferences) { p.ActiveHours, _ = policy.ParseWeek("mon-sun 13:00-14:00") }, []step{
			{"idle at noon", func(t *testing.T, w *world) { w.touch(t, w.now.Add(-time.Hour)) }, false, policy.OutsideHours},
			{"at one", advance(time.Hour), true, policy.Running},
		}},
		{"paused", nil, []step{
			{"idle", func(t *testing.T, w *world) { w.touch(t, w.now.Add(-time.Hour)) }, true, policy.Running},
			{"paused", func(_ *testing.T, w *world) { w.paused = true }, false, policy.ExplicitPause},
			{"unpaused", func(_ *testing.T, w *world) { w.paused = false }, true, policy.Running},
		}},
		{"throttled to 30% of each second", func(p *policy.Preferences) { p.CPUThrottlePercent = 30 }, []step{
			{"idle, at .1 s", func(t *testing.T, w *world) {
				w.touch(t, w.now.Add(-time.Hour))
				w.now = w.now.Add(100 * time.Millisecond)
			}, true, policy.Running},
			{"at .5 s: the paused part", advance(400 * time.Millisecond), false, policy.Running},
			{"at 1.2 s", advance(700 * time.Millisecond), true, policy.Running},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &world{
				now:      time.Date(2026, 11, 23, 12, 0, 0, 0, time.Local),
				activity: idle.ActivityFile{Path: filepath.Join(t.TempDir(), "activity")},
				prefs:    policy.Defaults(),
			}
			if tt.prefs != nil {
				tt.prefs(&w.prefs)
			}
			gate := agent.NewGate(false, nil)
			g := w.governor(gate)
			for _, s := range tt.steps {
				s.change(t, w)
				st := g.Step(t.Context())
				if gate.Open() != s.open || st.Code != s.code {
					t.Errorf("%s: gate open %v, %s (%s); want open %v, %s", s.what, gate.Open(), st.Code, st.Detail, s.open, s.code)
				}
			}
		})
	}
}

type brokenInput struct{}

func (brokenInput) LastInput(context.Context) (time.Time, bool, error) {
	return time.Time{}, false, errors.New("bus went away")
}

// Between full observations only input is read; a source that fails must
// not hide what the others see.
func TestGovernorSeesInputWhileASourceFails(t *testing.T) {
	w := &world{
		now:      time.Date(2026, 11, 23, 12, 0, 0, 0, time.Local),
		activity: idle.ActivityFile{Path: filepath.Join(t.TempDir(), "activity")},
		prefs:    policy.Defaults(),
	}
	w.touch(t, w.now.Add(-time.Hour))
	gate := agent.NewGate(false, nil)
	g := w.governor(gate)
	input := idle.NewCombined(idle.Named{Name: "broken", Source: brokenInput{}}, idle.Named{Name: "activity-file", Source: w.activity})
	input.Timeout = time.Minute // not what is tested here
	g.Input = input
	if st := g.Step(t.Context()); !gate.Open() {
		t.Fatalf("idle PC: gate closed, %s (%s)", st.Code, st.Detail)
	}
	w.now = w.now.Add(100 * time.Millisecond) // a fast step, not a full one
	w.touch(t, w.now)
	if st := g.Step(t.Context()); gate.Open() || st.Code != policy.UserActive {
		t.Errorf("after input: gate open %v, %s; want closed, %s", gate.Open(), st.Code, policy.UserActive)
	}
}
