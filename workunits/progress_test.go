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
