// Package pace learns how fast this PC gets research work done, so that the
// worker takes on only tasks it can finish before their deadlines.
//
// Two things are learnt. How long a job's task runs here while it may run
// (the gate open), from the tasks of that job done so far: tasks of one job
// are alike, those of different jobs need not be. And what share of the
// wall clock it may run (Available): the gate open while the worker runs,
// and the worker running at all, recent days weighing most. A task needs
// its running time divided by that share; a job whose tasks would miss
// their deadline is not asked for. The package is pure: the agent feeds it
// and keeps it on disk.
package pace

import (
	"math"
	"slices"
	"time"
)

const (
	// HalfLife is how fast old behaviour is forgotten: a PC used
	// differently from this week on is judged by it within days.
	HalfLife = 24 * time.Hour
	// Margin is the share of a deadline a task may be expected to use; the
	// rest covers reporting and a guess on the short side.
	Margin = 0.9
	// minAvailable keeps a PC that has not been free lately from dividing
	// by zero; it then declines every job it knows.
	minAvailable = 0.01
	// runWeight is how much the latest task moves a job's running time.
	runWeight = 0.3
	// keepJobs bounds the jobs remembered, the latest kept.
	keepJobs = 200
	// ForgetAfter is how long a job with no task done here is remembered.
	// A job judged too slow once is then tried again (the PC, or its
	// owner's habits, may have changed), and finished jobs stop being
	// named in work requests.
	ForgetAfter = 3 * HalfLife
)

// Estimates is what has been learnt. The zero value knows nothing and
// assumes the PC always available until told otherwise.
type Estimates struct {
	Available float64           `json:"available"`  // share of wall time tasks may run, 0–1
	UpdatedAt time.Time         `json:"updated_at"` // of Available
	Jobs      map[int64]JobPace `json:"jobs"`
}

// JobPace is what a job's tasks take here.
type JobPace struct {
	RunSeconds    float64   `json:"run_seconds"`    // gate-open wall time per task, smoothed
	WindowSeconds float64   `json:"window_seconds"` // from lease to deadline, as last given
	Tasks         int       `json:"tasks"`          // tasks measured
	LastAt        time.Time `json:"last_at"`
}

// Observe adds the time since the last update, during which tasks could run
// for open of it. Time the worker was not running (the PC off, the worker
// stopped) is passed as a span with open zero, so it counts as unavailable.
func (e *Estimates) Observe(now time.Time, open time.Duration) {
	if e.UpdatedAt.IsZero() {
		e.Available, e.UpdatedAt = 1, now
	}
	span := now.Sub(e.UpdatedAt)
	if span <= 0 {
		return
	}
	share := min(max(open.Seconds()/span.Seconds(), 0), 1)
	// The weight of a span grows with its length, so that many short
	// updates move the average as much as one long one.
	w := 1 - math.Exp2(-span.Seconds()/HalfLife.Seconds())
	e.Available += w * (share - e.Available)
	e.UpdatedAt = now
	for id, p := range e.Jobs {
		if now.Sub(p.LastAt) > ForgetAfter {
			delete(e.Jobs, id)
		}
	}
}

// TaskDone records a task of job that ran for run (gate-open wall time)
// and was given window from its lease to its deadline.
func (e *Estimates) TaskDone(job int64, run, window time.Duration, now time.Time) {
	if e.Jobs == nil {
		e.Jobs = map[int64]JobPace{}
	}
	p, known := e.Jobs[job]
	if known {
		p.RunSeconds += runWeight * (run.Seconds() - p.RunSeconds)
	} else {
		p.RunSeconds = run.Seconds()
	}
	p.WindowSeconds, p.LastAt = window.Seconds(), now
	p.Tasks++
	e.Jobs[job] = p
	e.forgetOldest()
}

// Expected is how long a task of job should take from lease to result at
// the current availability; ok is false for a job not measured yet.
func (e *Estimates) Expected(job int64) (time.Duration, bool) {
	p, ok := e.Jobs[job]
	if !ok {
		return 0, false
	}
	return time.Duration(p.RunSeconds / e.Share() * float64(time.Second)), true
}

// Fits reports whether a task of job is expected to finish within Margin of
// its deadline. A job not measured yet fits: one task teaches its pace.
func (e *Estimates) Fits(job int64) bool {
	want, ok := e.Expected(job)
	if !ok {
		return true
	}
	return want.Seconds() <= Margin*e.Jobs[job].WindowSeconds
}

// TooSlowFor lists the jobs whose tasks this PC would not finish in time,
// in order, for the worker to tell the coordinator not to send.
func (e *Estimates) TooSlowFor() []int64 {
	var out []int64
	for id := range e.Jobs {
		if !e.Fits(id) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Share is the share of wall time tasks are expected to be able to run.
func (e *Estimates) Share() float64 {
	if e.UpdatedAt.IsZero() {
		return 1
	}
	return max(e.Available, minAvailable)
}

func (e *Estimates) forgetOldest() {
	for len(e.Jobs) > keepJobs {
		var oldest int64
		var at time.Time
		for id, p := range e.Jobs {
			if at.IsZero() || p.LastAt.Before(at) {
				oldest, at = id, p.LastAt
			}
		}
		delete(e.Jobs, oldest)
	}
}
