package service

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Listing limits: a page holds DefaultListLimit items unless asked for up
// to MaxListLimit.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// Progress reports show the latest RecentErrors failing tasks, each with
// the last StderrTailBytes of its stderr.
const (
	RecentErrors    = 5
	StderrTailBytes = 2 << 10
)

// ListableJobStates are the states GET /jobs filters by.
var ListableJobStates = []workunits.JobState{workunits.JobWaiting, workunits.JobActive, workunits.JobDone, workunits.JobCancelled}

// ListableUnitStates are the states GET /jobs/{id}/units filters by.
var ListableUnitStates = []workunits.UnitState{workunits.UnitOpen, workunits.UnitDone, workunits.UnitFailed}

// ProgressStats is what a job's progress adds to its counts: pace, ETA
// and the latest failures.
type ProgressStats struct {
	Pace         workunits.Pace
	Errors       int               // tasks whose app failed
	RecentErrors []store.TaskError // latest first, stderr cut to StderrTailBytes
	Now          time.Time         // when it was measured: the ETA counts from here
}

// progressStats reads, in tx, what jobProgress adds to the counts p. It
// costs two index lookups whatever the job's size.
func (s *Service) progressStats(ctx context.Context, tx store.Tx, job workunits.Job, p store.JobProgress) (ProgressStats, error) {
	now := s.now()
	recent, err := tx.UnitCountFinishedSince(ctx, job.ID, now.Add(-workunits.PaceWindow))
	if err != nil {
		return ProgressStats{}, err
	}
	errs, err := tx.TaskErrorList(ctx, job.ID, RecentErrors)
	if err != nil {
		return ProgressStats{}, err
	}
	for i := range errs {
		errs[i].Stderr = workunits.StderrTail(errs[i].Stderr, StderrTailBytes)
	}
	finished := 0
	for st, n := range p.Units {
		if st != workunits.UnitOpen {
			finished += n
		}
	}
	pace := workunits.JobPace(workunits.PaceInput{CreatedAt: job.CreatedAt, FinishedAt: job.FinishedAt,
		Running: job.State == workunits.JobActive, Finished: finished, FinishedLastHour: recent,
		Open: p.Units[workunits.UnitOpen], Now: now})
	return ProgressStats{Pace: pace, Errors: p.Outcomes[workunits.OutcomeError], RecentErrors: errs, Now: now}, nil
}

// checkLimit refuses a page size outside 1..MaxListLimit.
func checkLimit(limit int) error {
	if limit < 1 || limit > MaxListLimit {
		return workunits.Errorf(workunits.EINVALID, "limit must be between 1 and %d, got %d", MaxListLimit, limit)
	}
	return nil
}

func checkState[S ~string](state S, allowed []S) error {
	if state == "" || slices.Contains(allowed, state) {
		return nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return workunits.Errorf(workunits.EINVALID, "state must be one of %s, got %q", strings.Join(names, ", "), state)
}

// JobListRequest asks for a page of a project's jobs, newest first.
type JobListRequest struct {
	State    workunits.JobState // "": any
	BeforeID int64              // 0: from the newest
	Limit    int
}

// JobListPage is a page of a project's jobs, newest first, with the reward
// each still holds in escrow.
type JobListPage struct {
	Jobs    []workunits.Job
	Escrows map[int64]int64 // by job id
	More    bool            // more jobs follow the last one
}

// JobList returns a page of a project's jobs, newest first.
func (s *Service) JobList(ctx context.Context, projectID int64, req JobListRequest) (JobListPage, error) {
	var page JobListPage
	if err := checkLimit(req.Limit); err != nil {
		return page, err
	}
	if err := checkState(req.State, ListableJobStates); err != nil {
		return page, err
	}
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		page.Jobs, err = tx.JobList(ctx, store.JobListParams{ProjectID: projectID, State: req.State, BeforeID: req.BeforeID, Limit: req.Limit + 1})
		if err != nil {
			return err
		}
		if len(page.Jobs) > req.Limit {
			page.Jobs, page.More = page.Jobs[:req.Limit], true
		}
		accounts := make([]payouts.Account, len(page.Jobs))
		for i, j := range page.Jobs {
			accounts[i] = payouts.JobEscrow(j.ID)
		}
		balances, err := tx.LedgerBalanceMany(ctx, accounts)
		page.Escrows = make(map[int64]int64, len(page.Jobs))
		for _, j := range page.Jobs {
			page.Escrows[j.ID] = balances[payouts.JobEscrow(j.ID)]
		}
		return err
	})
	if err != nil {
		return JobListPage{}, fmt.Errorf("listing jobs: %w", err)
	}
	return page, nil
}

// UnitListRequest asks for a page of a job's units in seq order.
type UnitListRequest struct {
	State    workunits.UnitState // "": any
	AfterSeq int                 // -1: from the first
	Limit    int
}

// UnitListPage is a page of a job's units in seq order, with the input
// refs of those cut from blobs.
type UnitListPage struct {
	Units []workunits.Unit
	Refs  map[int64]workunits.InputRef // by unit id; only units cut from a blob
	More  bool                         // more units follow the last one
}

// UnitList returns a page of a project's job's units and whether more
// follow it. Another project's job is not found.
func (s *Service) UnitList(ctx context.Context, projectID, jobID int64, req UnitListRequest) (UnitListPage, error) {
	var page UnitListPage
	if err := checkLimit(req.Limit); err != nil {
		return page, err
	}
	if err := checkState(req.State, ListableUnitStates); err != nil {
		return page, err
	}
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		if _, err = s.projectJob(ctx, tx, projectID, jobID); err != nil {
			return err
		}
		page.Units, err = tx.UnitList(ctx, store.UnitListParams{JobID: jobID, State: req.State, AfterSeq: req.AfterSeq, Limit: req.Limit + 1})
		if err != nil {
			return err
		}
		if len(page.Units) > req.Limit {
			page.Units, page.More = page.Units[:req.Limit], true
		}
		if len(page.Units) == 0 {
			return nil
		}
		ids := make([]int64, len(page.Units))
		for i, u := range page.Units {
			ids[i] = u.ID
		}
		page.Refs, err = tx.UnitInputRefMany(ctx, ids)
		return err
	})
	if err != nil {
		return UnitListPage{}, err
	}
	return page, nil
}

// UnitDetail is a unit with its canonical output and its tasks.
type UnitDetail struct {
	Unit     workunits.Unit
	InputRef *workunits.InputRef // for a unit cut from a blob
	Output   []byte              // nil until validated
	Tasks    []workunits.Task
}

// Unit returns one unit of a project's job, its canonical output and its
// tasks in id order, each task's stderr cut to StderrTailBytes.
func (s *Service) Unit(ctx context.Context, projectID, jobID int64, seq int) (UnitDetail, error) {
	var d UnitDetail
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		if d.Unit, err = s.projectUnit(ctx, tx, projectID, jobID, seq); err != nil {
			return err
		}
		if err := notRetired(ctx, tx, jobID); err != nil {
			return err
		}
		refs, err := tx.UnitInputRefMany(ctx, []int64{d.Unit.ID})
		if err != nil {
			return err
		}
		if r, ok := refs[d.Unit.ID]; ok {
			d.InputRef = &r
		}
		if d.Unit.CanonicalTaskID != 0 {
			if d.Output, err = tx.TaskOutputGet(ctx, d.Unit.CanonicalTaskID); err != nil {
				return err
			}
		}
		d.Tasks, err = tx.TaskListByUnits(ctx, []int64{d.Unit.ID})
		return err
	})
	slices.SortFunc(d.Tasks, func(a, b workunits.Task) int { return cmp.Compare(a.ID, b.ID) })
	for i := range d.Tasks {
		d.Tasks[i].Stderr = workunits.StderrTail(d.Tasks[i].Stderr, StderrTailBytes)
	}
	return d, err
}

// UnitOutput returns the canonical output of a unit of a project's job;
// a unit not validated (yet) has none and is reported as not found.
func (s *Service) UnitOutput(ctx context.Context, projectID, jobID int64, seq int) ([]byte, error) {
	var out []byte
	err := s.store.InReadTx(ctx, func(tx store.Tx) error {
		u, err := s.projectUnit(ctx, tx, projectID, jobID, seq)
		if err != nil {
			return err
		}
		if err := notRetired(ctx, tx, jobID); err != nil {
			return err
		}
		if u.CanonicalTaskID == 0 {
			return workunits.Errorf(workunits.ENOTFOUND, "unit %d of job %d has no canonical output (it is %s)", seq, jobID, u.State)
		}
		out, err = tx.TaskOutputGet(ctx, u.CanonicalTaskID)
		return err
	})
	return out, err
}

func (s *Service) projectUnit(ctx context.Context, tx store.Tx, projectID, jobID int64, seq int) (workunits.Unit, error) {
	if _, err := s.projectJob(ctx, tx, projectID, jobID); err != nil {
		return workunits.Unit{}, err
	}
	return tx.UnitGetBySeq(ctx, jobID, seq)
}
