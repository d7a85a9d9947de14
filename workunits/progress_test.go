package workunits

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestJobPace(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name               string
		in                 PaceInput
		lastHour, lifetime float64
		eta                time.Duration
		knownETA           bool
	}{
		{"nothing finished yet", PaceInput{CreatedAt: t0, Running: true, Open: 10, Now: t0.Add(2 * time.Hour)},
			0, 0, 0, false},
		{"steady over four hours", PaceInput{CreatedAt: t0, Running: true, Finished: 40, FinishedLastHour: 10, Open: 30, Now: t0.Add(4 * time.Hour)},
			10, 10, 3 * time.Hour, true},
		{"young job: window is its age", PaceInput{CreatedAt: t0, Running: true, Finished: 10, FinishedLastHour: 10, Open: 60, Now: t0.Add(10 * time.Minute)},
			60, 60, time.Hour, true},
		{"stalled in the last hour", PaceInput{CreatedAt: t0, Running: true, Finished: 5, Open: 5, Now: t0.Add(5 * time.Hour)},
			0, 1, 0, false},
		{"finished job: lifetime ends when it finished", PaceInput{CreatedAt: t0, FinishedAt: t0.Add(2 * time.Hour), Finished: 20, Now: t0.Add(10 * time.Hour)},
			0, 10, 0, true},
		{"not running: open units do not move", PaceInput{CreatedAt: t0, Running: false, Finished: 4, FinishedLastHour: 4, Open: 4, Now: t0.Add(time.Hour)},
			4, 4, 0, false},
		{"created now", PaceInput{CreatedAt: t0, Running: true, Open: 3, Now: t0},
			0, 0, 0, false},
		{"clock behind creation", PaceInput{CreatedAt: t0, Running: true, Finished: 1, FinishedLastHour: 1, Open: 3, Now: t0.Add(-time.Minute)},
			0, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := JobPace(tt.in)
			if math.Abs(p.LastHour-tt.lastHour) > 1e-9 || math.Abs(p.Lifetime-tt.lifetime) > 1e-9 {
				t.Errorf("pace = %v/h last hour, %v/h lifetime; want %v, %v", p.LastHour, p.Lifetime, tt.lastHour, tt.lifetime)
			}
			if p.ETA != tt.eta || p.KnownETA != tt.knownETA {
				t.Errorf("ETA = %v (known %v), want %v (known %v)", p.ETA, p.KnownETA, tt.eta, tt.knownETA)
			}
		})
	}
}

func TestStderrTail(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 7, "short"},
		{strings.Repeat("a", 10) + "the end", 7, "the end"},
		{"x\u00e9nd", 3, "nd"}, // the cut falls inside é: its broken byte is dropped
	}
	for _, tt := range tests {
		if got := StderrTail(tt.in, tt.n); got != tt.want {
			t.Errorf("StderrTail(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestAdvanceRecordsWhenAUnitFinishes(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	now := t0.Add(time.Hour)
	one := Policy{MinQuorum: 1, TargetReplicas: 1, MaxErrorReplicas: 0, MaxTotalReplicas: 1, Deadline: time.Hour}
	two := Policy{MinQuorum: 2, TargetReplicas: 2, MaxErrorReplicas: 1, MaxTotalReplicas: 4, Deadline: time.Hour}
	success := Task{ID: 1, UnitID: 9, HostID: 3, State: TaskOver, Outcome: OutcomeSuccess, ValidateState: ValidatePending, OutputSHA256: "a"}
	failed := Task{ID: 1, UnitID: 9, HostID: 3, State: TaskOver, Outcome: OutcomeError, ValidateState: ValidatePending}
	open := Unit{ID: 9, State: UnitOpen}
	tests := []struct {
		name   string
		unit   Unit
		tasks  []Task
		policy Policy
		state  UnitState
		want   time.Time
	}{
		{"validated now", open, []Task{success}, one, UnitDone, now},
		{"failed now", open, []Task{failed}, one, UnitFailed, now},
		{"still open", open, []Task{success}, two, UnitOpen, time.Time{}},
		{"finished before keeps its time", Unit{ID: 9, State: UnitDone, CanonicalTaskID: 1, FinishedAt: t0},
			[]Task{func() Task { s := success; s.ValidateState = ValidateValid; return s }()}, one, UnitDone, t0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := Advance(tt.unit, tt.tasks, Rules{Policy: tt.policy}, now)
			if plan.Unit.State != tt.state || !plan.Unit.FinishedAt.Equal(tt.want) {
				t.Errorf("unit %s finished at %v, want %s at %v", plan.Unit.State, plan.Unit.FinishedAt, tt.state, tt.want)
			}
		})
	}
}
