package service

import (
	"context"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Limits on one worker request.
const (
	MaxLeasePerRequest   = 64
	MaxReportsPerRequest = 256
)

// LeaseTasks hands up to max tasks to a host.
func (s *Service) LeaseTasks(ctx context.Context, hostID int64, max int) ([]store.Lease, error) {
	if max < 1 || max > MaxLeasePerRequest {
		return nil, workunits.Errorf(workunits.EINVALID, "max_tasks must be between 1 and %d, got %d", MaxLeasePerRequest, max)
	}
	var leases []store.Lease
	err := s.store.InTx(ctx, func(tx store.Tx) (err error) {
		leases, err = tx.TaskLease(ctx, store.TaskLeaseParams{HostID: hostID, Max: max, Now: s.now()})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("leasing tasks to host %d: %w", hostID, err)
	}
	return leases, nil
}

// ReportResults takes a host's reports all together or not at all: if any
// report is refused, nothing is stored and the error names that task.
func (s *Service) ReportResults(ctx context.Context, hostID int64, reports []workunits.Report) error {
	if len(reports) == 0 {
		return workunits.Errorf(workunits.EINVALID, "reports: at least one report is needed")
	}
	if len(reports) > MaxReportsPerRequest {
		return workunits.Errorf(workunits.EINVALID, "reports: at most %d per request, got %d", MaxReportsPerRequest, len(reports))
	}
	ids := make([]int64, len(reports))
	seen := map[int64]bool{}
	for i, r := range reports {
		if err := r.Validate(); err != nil {
			return err
		}
		if seen[r.TaskID] {
			return workunits.Errorf(workunits.EINVALID, "task %d is reported twice in one request", r.TaskID)
		}
		seen[r.TaskID] = true
		ids[i] = r.TaskID
	}
	now := s.now()
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		tasks, err := tx.TaskGetMany(ctx, ids)
		if err != nil {
			return err
		}
		byID := make(map[int64]workunits.Task, len(tasks))
		for _, t := range tasks {
			byID[t.ID] = t
		}
		updated := make([]workunits.Task, 0, len(reports))
		outputs := map[int64][]byte{}
		unitIDs := make([]int64, 0, len(reports))
		for _, r := range reports {
			t, ok := byID[r.TaskID]
			if !ok {
				return workunits.Errorf(workunits.ENOTFOUND, "task %d is not assigned to this host", r.TaskID)
			}
			t, err := workunits.ApplyReport(t, hostID, r, now)
			if err != nil {
				return err
			}
			updated = append(updated, t)
			if r.Outcome == workunits.OutcomeSuccess {
				outputs[t.ID] = r.Output
			}
			unitIDs = append(unitIDs, t.UnitID)
		}
		if err := tx.TaskUpdateMany(ctx, updated); err != nil {
			return err
		}
		if err := tx.TaskOutputSetMany(ctx, outputs); err != nil {
			return err
		}
		return s.advanceUnits(ctx, tx, unitIDs, now)
	})
	if err != nil {
		return fmt.Errorf("taking reports from host %d: %w", hostID, err)
	}
	return nil
}

// sweepBatch bounds the units one sweep transaction advances, so the
// single writer is never held for long.
const sweepBatch = 500

// SweepOverdue expires tasks past their deadline and issues replacements.
// It returns how many units it advanced.
func (s *Service) SweepOverdue(ctx context.Context) (int, error) {
	total := 0
	for {
		var n int
		err := s.store.InTx(ctx, func(tx store.Tx) error {
			now := s.now()
			units, err := tx.TaskUnitsOverdue(ctx, now, sweepBatch)
			if err != nil {
				return err
			}
			n = len(units)
			return s.advanceUnits(ctx, tx, units, now)
		})
		if err != nil {
			return total, fmt.Errorf("sweeping overdue tasks: %w", err)
		}
		total += n
		if n < sweepBatch {
			return total, nil
		}
	}
}

// RunSweeper calls SweepOverdue every interval until ctx ends.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := s.SweepOverdue(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Error("deadline sweep failed", "err", err)
			} else if n > 0 {
				s.log.Info("deadline sweep", "units_advanced", n)
			}
		}
	}
}

// advanceUnits runs workunits.Advance on each unit and stores the plans:
// task and unit changes, new replicas, a reward for each newly valid task,
// and the end of every job whose last unit finished.
func (s *Service) advanceUnits(ctx context.Context, tx store.Tx, unitIDs []int64, now time.Time) error {
	if len(unitIDs) == 0 {
		return nil
	}
	unitIDs = dedupe(unitIDs)
	units, err := tx.UnitGetManyForUpdate(ctx, unitIDs)
	if err != nil {
		return err
	}
	tasks, err := tx.TaskListByUnits(ctx, unitIDs)
	if err != nil {
		return err
	}
	tasksByUnit := map[int64][]workunits.Task{}
	for _, t := range tasks {
		tasksByUnit[t.UnitID] = append(tasksByUnit[t.UnitID], t)
	}
	jobs := map[int64]workunits.Job{}
	var (
		changedUnits []workunits.Unit
		changedTasks []workunits.Task
		newReplicas  []int64
		valid        []workunits.Task
		validJob     []int64
		finishedJobs = map[int64]bool{}
	)
	for _, u := range units {
		job, ok := jobs[u.JobID]
		if !ok {
			if job, err = tx.JobGet(ctx, u.JobID); err != nil {
				return err
			}
			jobs[u.JobID] = job
		}
		plan := workunits.Advance(u, tasksByUnit[u.ID], job.Policy, now)
		unitChanged := plan.Unit.State != u.State || plan.Unit.CanonicalTaskID != u.CanonicalTaskID || plan.Unit.Error != u.Error
		if unitChanged {
			changedUnits = append(changedUnits, plan.Unit)
		}
		// A finished unit's last running replica (reported late, or
		// expired) may be what the job was waiting for.
		if plan.Unit.State.Terminal() && (unitChanged || len(plan.Changed) > 0) {
			finishedJobs[u.JobID] = true
		}
		changedTasks = append(changedTasks, plan.Changed...)
		for range plan.NewTasks {
			newReplicas = append(newReplicas, u.ID)
		}
		for _, t := range plan.NewlyValid {
			valid = append(valid, t)
			validJob = append(validJob, u.JobID)
		}
	}
	if err := tx.TaskUpdateMany(ctx, changedTasks); err != nil {
		return err
	}
	if err := tx.UnitUpdateMany(ctx, changedUnits); err != nil {
		return err
	}
	if err := tx.TaskInsertMany(ctx, newReplicas, now); err != nil {
		return err
	}
	if err := s.payValid(ctx, tx, valid, validJob, jobs, now); err != nil {
		return err
	}
	for jobID := range finishedJobs {
		if err := s.finishJobIfDone(ctx, tx, jobs[jobID], now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) payValid(ctx context.Context, tx store.Tx, valid []workunits.Task, jobOf []int64, jobs map[int64]workunits.Job, now time.Time) error {
	if len(valid) == 0 {
		return nil
	}
	hostIDs := make([]int64, len(valid))
	for i, t := range valid {
		hostIDs[i] = t.HostID
	}
	contributorOf, err := tx.HostContributorMany(ctx, dedupe(hostIDs))
	if err != nil {
		return err
	}
	for i, t := range valid {
		job := jobs[jobOf[i]]
		if job.RewardMicros == 0 {
			continue
		}
		if _, err := tx.LedgerRecord(ctx, payouts.Reward(t.ID, job.ID, contributorOf[t.HostID], job.RewardMicros), now); err != nil {
			// Escrow covers every task a unit may ever have, so this is a
			// bug, not the host's fault: keep the code (and account names)
			// out of the answer, and let the report be retried.
			return fmt.Errorf("paying task %d: %s", t.ID, err)
		}
	}
	return nil
}

// finishJobIfDone marks a job done once no unit is open and no replica is
// still running (a late replica that proves valid is paid from the escrow),
// then returns the unused escrow to the project.
func (s *Service) finishJobIfDone(ctx context.Context, tx store.Tx, job workunits.Job, now time.Time) error {
	if job.State != workunits.JobActive {
		return nil
	}
	open, err := tx.JobOpenUnitCount(ctx, job.ID)
	if err != nil || open > 0 {
		return err
	}
	running, err := tx.JobTaskInProgressCount(ctx, job.ID)
	if err != nil || running > 0 {
		return err
	}
	if err := tx.JobFinish(ctx, job.ID, now); err != nil {
		return err
	}
	left, err := tx.LedgerBalance(ctx, payouts.JobEscrow(job.ID))
	if err != nil {
		return err
	}
	if left > 0 {
		if _, err := tx.LedgerRecord(ctx, payouts.Release(job.ID, job.ProjectID, left), now); err != nil {
			return err
		}
	}
	s.log.Info("job finished", "job", job.ID, "escrow_returned_micros", left)
	return nil
}

func dedupe(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
