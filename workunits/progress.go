package workunits

import "time"

// Pace is how fast a job's units finish, in units per hour, and when the
// rest will be finished at that pace.
type Pace struct {
	LastHour float64 // over the hour before now, or the job's age if shorter
	Lifetime float64 // from the job's creation to now, or to when it finished
	// ETA is how long the open units will take at the last hour's pace;
	// KnownETA is false when that cannot be said: nothing finished in the
	// last hour, or the job is not running.
	ETA      time.Duration
	KnownETA bool
}

// PaceInput is what JobPace needs to know about a job.
type PaceInput struct {
	CreatedAt        time.Time
	FinishedAt       time.Time // zero while the job runs
	Running          bool      // the job is handing out work: only then do open units move
	Finished         int       // units done or failed
	FinishedLastHour int       // of those, finished after Now minus an hour
	Open             int
	Now              time.Time
}

// PaceWindow is the span the recent pace is measured over.
const PaceWindow = time.Hour

// JobPace computes a job's throughput and ETA. A window shorter than the
// job's age is used while the job is young, so a job ten minutes old that
// finished ten units runs at sixty an hour, not ten.
func JobPace(in PaceInput) Pace {
	var p Pace
	end := in.Now
	if !in.FinishedAt.IsZero() && in.FinishedAt.Before(end) {
		end = in.FinishedAt
	}
	if age := end.Sub(in.CreatedAt); age > 0 {
		p.Lifetime = float64(in.Finished) / age.Hours()
	}
	if window := min(PaceWindow, in.Now.Sub(in.CreatedAt)); window > 0 {
		p.LastHour = float64(in.FinishedLastHour) / window.Hours()
	}
	switch {
	case in.Open == 0:
		p.KnownETA = true
	case in.Running && p.LastHour > 0:
		p.ETA = time.Duration(float64(in.Open) / p.LastHour * float64(time.Hour)).Round(time.Second)
		p.KnownETA = true
	}
	return p
}

// StderrTail is the end of a failing task's stderr, where an app says why
// it failed, cut to at most n bytes of valid UTF-8.
func StderrTail(stderr string, n int) string { return tail(stderr, n) }
