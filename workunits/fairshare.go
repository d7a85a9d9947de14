package workunits

import (
	"cmp"
	"slices"
)

// Fair share: each project with work is handed tasks in proportion to its
// share, by stride scheduling. A project has a pass, a virtual time that
// advances by its stride (StrideScale / share) for every task it is
// leased; the project with the lowest pass goes next. A project that has
// been idle rejoins at the lowest pass of those with work, so it neither
// banks credit while idle nor pays for what it used long ago.
const (
	DefaultShare = 100
	MaxShare     = 1_000_000

	DefaultPriority = 0
	MinPriority     = -1000
	MaxPriority     = 1000

	// StrideScale is the pass one task costs a project of share 1. At
	// MaxShare a stride is still 1,000, so rounding skews shares by at most
	// 0.1 %; at share 1 a pass overflows after 9 billion tasks.
	StrideScale = 1_000_000_000
)

// ValidateShare refuses a share that is not a positive weight.
func ValidateShare(share int) error {
	if share < 1 || share > MaxShare {
		return Errorf(EINVALID, "share must be between 1 and %d, got %d", MaxShare, share)
	}
	return nil
}

// ValidatePriority refuses a job priority out of range.
func ValidatePriority(priority int) error {
	if priority < MinPriority || priority > MaxPriority {
		return Errorf(EINVALID, "priority must be between %d and %d, got %d", MinPriority, MaxPriority, priority)
	}
	return nil
}

// Stride is the pass one task costs a project with the given share.
func Stride(share int) int64 {
	return StrideScale / int64(max(share, 1))
}

// ProjectPass is a project competing for tasks: its share and its pass.
type ProjectPass struct {
	ProjectID int64
	Share     int
	Pass      int64
}

// Allotment is how many tasks of a lease go to one project.
type Allotment struct {
	ProjectID int64
	Tasks     int
}

// AllotTasks splits n tasks among projects by stride scheduling: task by
// task, to the project with the lowest pass (then the lowest id), whose
// pass then advances by its stride. It returns every project, in the order
// each would be served next (the first to get a task first; those getting
// none after, by pass), so a lease that finds a project short of tasks can
// fill up from the next ones.
func AllotTasks(projects []ProjectPass, n int) []Allotment {
	type state struct {
		ProjectPass
		tasks, firstPick int
	}
	st := make([]state, len(projects))
	for i, p := range projects {
		st[i] = state{ProjectPass: p, firstPick: -1}
	}
	less := func(a, b *state) bool {
		return a.Pass < b.Pass || a.Pass == b.Pass && a.ProjectID < b.ProjectID
	}
	for pick := range n {
		if len(st) == 0 {
			break
		}
		min := &st[0]
		for i := range st[1:] {
			if less(&st[i+1], min) {
				min = &st[i+1]
			}
		}
		if min.firstPick < 0 {
			min.firstPick = pick
		}
		min.tasks++
		min.Pass += Stride(min.Share)
	}
	slices.SortFunc(st, func(a, b state) int {
		switch {
		case a.firstPick >= 0 && b.firstPick >= 0:
			return cmp.Compare(a.firstPick, b.firstPick)
		case a.firstPick >= 0:
			return -1
		case b.firstPick >= 0:
			return 1
		}
		return cmp.Or(cmp.Compare(a.Pass, b.Pass), cmp.Compare(a.ProjectID, b.ProjectID))
	})
	out := make([]Allotment, len(st))
	for i, s := range st {
		out[i] = Allotment{ProjectID: s.ProjectID, Tasks: s.tasks}
	}
	return out
}

// CompareLeaseOrder orders a project's jobs for leasing: higher priority
// first, then the older job (lower id).
func CompareLeaseOrder(a, b Job) int {
	return cmp.Or(cmp.Compare(b.Priority, a.Priority), cmp.Compare(a.ID, b.ID))
}
