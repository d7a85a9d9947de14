package pace

import (
	"math"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestAvailabilityFollowsHowMuchTheGateWasOpen(t *testing.T) {
	tests := []struct {
		name  string
		spans []struct{ span, open time.Duration }
		want  float64
	}{
		{name: "nothing seen: always available", want: 1},
		{
			name:  "open all the time",
			spans: []struct{ span, open time.Duration }{{time.Hour, time.Hour}, {time.Hour, time.Hour}},
			want:  1,
		},
		{
			name:  "closed for one half-life moves half-way",
			spans: []struct{ span, open time.Duration }{{HalfLife, 0}},
			want:  0.5,
		},
		{
			name:  "one long span weighs as its short pieces",
			spans: []struct{ span, open time.Duration }{{HalfLife / 2, 0}, {HalfLife / 2, 0}},
			want:  0.5,
		},
		{
			name:  "a quarter open for long enough is a quarter",
			spans: []struct{ span, open time.Duration }{{20 * HalfLife, 5 * HalfLife}},
			want:  0.25 + 0.75*math.Exp2(-20),
		},
		{
			name:  "open longer than the span is all of it",
			spans: []struct{ span, open time.Duration }{{HalfLife, 2 * HalfLife}},
			want:  1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Estimates
			now := t0
			e.Observe(now, 0) // the first call only starts the clock
			for _, s := range tt.spans {
				now = now.Add(s.span)
				e.Observe(now, s.open)
			}
			if !near(e.Share(), tt.want) {
				t.Errorf("available = %v, want %v", e.Share(), tt.want)
			}
		})
	}
}

func TestAJobFitsWhenItsTasksFinishWithinTheDeadline(t *testing.T) {
	const job = 7
	tests := []struct {
		name      string
		available float64
		runs      []time.Duration
		window    time.Duration
		fits      bool
		expected  time.Duration
	}{
		{name: "always free, 10 min of a 1 h deadline", available: 1, runs: []time.Duration{10 * time.Minute}, window: time.Hour, fits: true, expected: 10 * time.Minute},
		{name: "free a fifth of the time: 50 min, within 54", available: 0.2, runs: []time.Duration{10 * time.Minute}, window: time.Hour, fits: true, expected: 50 * time.Minute},
		{name: "free a sixth of the time: 60 min, past 54", available: 1.0 / 6, runs: []time.Duration{10 * time.Minute}, window: time.Hour, fits: false, expected: 60 * time.Minute},
		{
			name: "the latest task counts for 30%", available: 1,
			runs:   []time.Duration{10 * time.Minute, 20 * time.Minute},
			window: time.Hour, fits: true, expected: 13 * time.Minute,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := Estimates{Available: tt.available, UpdatedAt: t0}
			if _, ok := e.Expected(job); ok || !e.Fits(job) {
				t.Fatal("an unmeasured job must fit and have no expectation")
			}
			for _, r := range tt.runs {
				e.TaskDone(job, r, tt.window, t0)
			}
			got, ok := e.Expected(job)
			if !ok || (got-tt.expected).Abs() > time.Second {
				t.Errorf("Expected = %v, %v; want %v", got, ok, tt.expected)
			}
			if e.Fits(job) != tt.fits {
				t.Errorf("Fits = %v, want %v", e.Fits(job), tt.fits)
			}
			if slow := e.TooSlowFor(); slices.Contains(slow, job) == tt.fits {
				t.Errorf("TooSlowFor = %v with Fits %v", slow, tt.fits)
			}
		})
	}
}

func TestOnlyTheLatestJobsAreKept(t *testing.T) {
	var e Estimates
	for i := range keepJobs + 5 {
		e.TaskDone(int64(i), time.Hour, time.Minute, t0.Add(time.Duration(i)*time.Second))
	}
	if len(e.Jobs) != keepJobs {
		t.Fatalf("kept %d jobs, want %d", len(e.Jobs), keepJobs)
	}
	for i := range 5 {
		if _, ok := e.Jobs[int64(i)]; ok {
			t.Errorf("job %d, among the oldest, is still kept", i)
		}
	}
	if slow := e.TooSlowFor(); len(slow) != keepJobs || slow[0] != 5 {
		t.Errorf("TooSlowFor = %d jobs %v; want %d from 5", len(slow), slow, keepJobs)
	}
}

func TestAJobIsForgottenLongAfterItsLastTask(t *testing.T) {
	var e Estimates
	e.Observe(t0, 0)
	e.TaskDone(1, time.Hour, time.Minute, t0) // too slow
	e.TaskDone(2, time.Hour, time.Minute, t0.Add(ForgetAfter))
	e.Observe(t0.Add(ForgetAfter), 0)
	if got := e.TooSlowFor(); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("TooSlowFor = %v, want [1 2]", got)
	}
	e.Observe(t0.Add(ForgetAfter+time.Minute), 0)
	if got := e.TooSlowFor(); !slices.Equal(got, []int64{2}) {
		t.Errorf("TooSlowFor = %v, want [2]: job 1's last task is older than %v, so it is tried again", got, ForgetAfter)
	}
}
