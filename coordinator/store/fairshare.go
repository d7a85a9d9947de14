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
	// first, then oldest. It locks nothing: activating a job is guarded by
	// its state and its escrow by the ledger's key.
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

// LeaseFairShare is the part of TaskLease the drivers share: it takes up
// to max tasks from jobs in fair share. It allots max among the jobs'
// projects (workunits.AllotTasks), takes each project's allotment from its
// jobs in priority then age order, and then fills any shortfall (a project
// whose tasks this host may not have, or that ran dry) from the projects
// next in line. take takes up to limit tasks of one job and says how many
// it took.
//
// It returns what to add to each project's pass, in project id order (the
// order drivers lock them in). With only one project in the running it
// returns none: passes only matter relative to each other, and leaving them
// alone keeps a lone project's lease from writing a row every other lease
// must wait for.
func LeaseFairShare(jobs []LeasableJob, max int, take func(jobID int64, limit int) (int, error)) ([]PassAdvance, error) {
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
	// fill takes up to want tasks from a project's jobs, dropping the jobs
	// it finds dry so a second round does not ask them again.
	fill := func(projectID int64, want int) error {
		js := byProject[projectID]
		for len(js) > 0 && want > 0 {
			n, err := take(js[0].ID, want)
			if err != nil {
				return err
			}
			taken[projectID] += n
			total += n
			if n < want {
				js = js[1:]
			}
			want -= n
		}
		byProject[projectID] = js
		return nil
	}
	allotted := workunits.AllotTasks(projects, max)
	for _, a := range allotted {
		if err := fill(a.ProjectID, a.Tasks); err != nil {
			return nil, err
		}
	}
	for _, a := range allotted {
		if total >= max {
			break
		}
		if err := fill(a.ProjectID, max-total); err != nil {
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
