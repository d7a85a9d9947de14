package store

import (
	"cmp"
	"context"
	"slices"

	"github.com/nightshift-platform/nightshift/workunits"
)

// FairshareTx is the part of Tx behind fair-share leasing and jobs that
// wait for money. TaskLease hands tasks out in proportion to the shares of
// the projects with work (workunits.AllotTasks), and within a project by
// job priority, then age.
type FairshareTx interface {
	// ProjectShareSet sets a project's share (workunits.ValidateShare).
	ProjectShareSet(ctx context.Context, projectID int64, share int) error
	// JobListWaiting returns a project's waiting jobs, highest priority
	// first, then oldest, and locks them for this transaction: a job being
	// funded cannot be cancelled meanwhile (its escrow would be set aside
	// for a job that returns nothing), nor funded twice.
	JobListWaiting(ctx context.Context, projectID int64) ([]workunits.Job, error)
	// JobActivateMany moves waiting jobs to active, so their tasks are
	// leased; jobs no longer waiting are left as they are. A project that
	// had no leasable work joins the fair share at the lowest pass of the
	// projects that have (as JobInsert does for an active job).
	JobActivateMany(ctx context.Context, ids []int64) error
}

// LeasableJob is an active job with an unsent task, with what fair-share
// leasing needs of its project.
type LeasableJob struct {
	JobID     int64
	ProjectID int64
	Priority  int
	Share     int
	Pass      int64 // the project's
}

// PassAdvance is what a lease adds to a project's pass.
type PassAdvance struct {
	ProjectID int64
	Delta     int64
}

// JobTake asks for up to Limit tasks of one job.
type JobTake struct {
	JobID int64
	Limit int
}

// LeaseFairShare is the part of TaskLease the drivers share: it takes up
// to max tasks from jobs in fair share. It allots max among the jobs'
// projects (workunits.AllotTasks), takes each project's allotment from its
// jobs in priority then age order, and then fills any shortfall (a project
// whose tasks this host may not have, or that ran dry) from the projects
// next in line. take takes up to Limit tasks of each job asked, at most one
// job per project at a time, and says how many it took of each; a job
// that gives fewer than asked is not asked again. Usually the first call
// is the only one, so a driver can answer it in one statement.
//
// It returns what to add to each project's pass, in project id order (the
// order drivers lock them in). With only one project in the running it
// returns none: passes only matter relative to each other, and leaving them
// alone keeps a lone project's lease from writing a row every other lease
// must wait for.
func LeaseFairShare(jobs []LeasableJob, max int, take func([]JobTake) ([]int, error)) ([]PassAdvance, error) {
	byProject := map[int64][]workunits.Job{}
	var projects []workunits.ProjectPass
	for _, j := range jobs {
		if _, seen := byProject[j.ProjectID]; !seen {
			projects = append(projects, workunits.ProjectPass{ProjectID: j.ProjectID, Share: j.Share, Pass: j.Pass})
		}
		byProject[j.ProjectID] = append(byProject[j.ProjectID], workunits.Job{ID: j.JobID, Priority: j.Priority})
	}
	for _, js := range byProject {
		slices.SortFunc(js, workunits.CompareLeaseOrder)
	}
	taken := map[int64]int{}
	total := 0
	// fill takes, while any project wants more and has jobs left, the
	// next job's worth of each, and drops the jobs found dry.
	fill := func(order []int64, want map[int64]int) error {
		for {
			var asks []JobTake
			var from []int64
			for _, p := range order {
				if want[p] > 0 && len(byProject[p]) > 0 {
					asks = append(asks, JobTake{JobID: byProject[p][0].ID, Limit: want[p]})
					from = append(from, p)
				}
			}
			if len(asks) == 0 {
				return nil
			}
			got, err := take(asks)
			if err != nil {
				return err
			}
			for i, p := range from {
				n := got[i]
				taken[p] += n
				total += n
				want[p] -= n
				if n < asks[i].Limit {
					byProject[p] = byProject[p][1:]
				}
			}
		}
	}
	allotted := workunits.AllotTasks(projects, max)
	order := make([]int64, len(allotted))
	want := make(map[int64]int, len(allotted))
	for i, a := range allotted {
		order[i], want[a.ProjectID] = a.ProjectID, a.Tasks
	}
	if err := fill(order, want); err != nil {
		return nil, err
	}
	// The shortfall, from one project at a time so as not to take more
	// than max.
	for _, p := range order {
		if total >= max {
			break
		}
		if err := fill([]int64{p}, map[int64]int{p: max - total}); err != nil {
			return nil, err
		}
	}
	if len(projects) < 2 {
		return nil, nil
	}
	var adv []PassAdvance
	for _, p := range projects {
		if n := taken[p.ProjectID]; n > 0 {
			adv = append(adv, PassAdvance{ProjectID: p.ProjectID, Delta: int64(n) * workunits.Stride(p.Share)})
		}
	}
	slices.SortFunc(adv, func(a, b PassAdvance) int { return cmp.Compare(a.ProjectID, b.ProjectID) })
	return adv, nil
}
