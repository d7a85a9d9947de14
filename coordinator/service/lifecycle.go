package service

import (
	"context"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Webhook events, one per way a job ends.
const (
	EventJobDone      = "job.done"      // every unit finished and at least one has a result
	EventJobFailed    = "job.failed"    // every unit finished and none has a result
	EventJobCancelled = "job.cancelled" // its project cancelled it
)

// cancelReason is the error of the units a cancellation ended.
const cancelReason = "job cancelled"

// CancelJob stops a project's job: unsent tasks are withdrawn, open units
// end (failed, "job cancelled"), and the hosts running its tasks are told
// to stop at their next contact (CancelledTasks). Tasks already found
// valid are paid as usual; reported tasks not yet judged become unchecked
// and their reservations are voided. The escrow left goes back to the
// project's budget once nothing more can be paid, at once if nothing is
// owed, otherwise when the payer has recorded the job's last money row. Cancelling a
// cancelled job changes nothing; a done job cannot be cancelled. A waiting
// job, not yet funded, is cancelled the same way and owes nothing.
func (s *Service) CancelJob(ctx context.Context, projectID, jobID int64) (JobStatus, error) {
	var res store.JobCancelResult
	var changed bool
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		now := s.now()
		job, err := tx.JobGetForUpdate(ctx, jobID)
		if err == nil && job.ProjectID != projectID {
			err = workunits.Errorf(workunits.ENOTFOUND, "job %d not found", jobID)
		}
		if err != nil {
			return err
		}
		switch job.State {
		case workunits.JobCancelled:
			return nil
		case workunits.JobDone:
			return workunits.Errorf(workunits.ECONFLICT, "job %d is already done; only an unfinished job can be cancelled", jobID)
		}
		if res, err = tx.JobCancel(ctx, jobID, cancelReason); err != nil {
			return err
		}
		changed = true
		if err := s.voidUnchecked(ctx, tx, job, res.Unchecked); err != nil {
			return err
		}
		if err := tx.WebhookDeliveryAddMany(ctx, []store.WebhookEvent{{JobID: jobID, Event: EventJobCancelled, At: now}}); err != nil {
			return err
		}
		return s.settleCancelled(ctx, tx, []int64{jobID}, now)
	})
	if err != nil {
		return JobStatus{}, fmt.Errorf("cancelling job %d: %w", jobID, err)
	}
	if changed {
		s.log.Info("job cancelled", "project", projectID, "job", jobID, "units_ended", res.UnitsEnded, "tasks_withdrawn", res.TasksWithdrawn,
			"results_voided", len(res.Unchecked))
	}
	return s.Job(ctx, projectID, jobID)
}

// voidUnchecked queues a void for each of a paying job's tasks that a
// cancel left unchecked: each was reserved when its success was reported.
func (s *Service) voidUnchecked(ctx context.Context, tx store.Tx, job workunits.Job, unchecked []workunits.Task) error {
	if job.RewardMicros <= 0 || len(unchecked) == 0 {
		return nil
	}
	moves, hostIDs := make([]store.MoneyMove, len(unchecked)), make([]int64, len(unchecked))
	for i, t := range unchecked {
		moves[i] = store.MoneyMove{Kind: store.MoneyVoid, TaskID: t.ID, JobID: job.ID, AmountMicros: job.RewardMicros}
		hostIDs[i] = t.HostID
	}
	return s.queueMoney(ctx, tx, moves, hostIDs)
}

// settleCancelled returns the escrow left of those of the given jobs that
// are cancelled and owe nothing more, and marks them finished.
func (s *Service) settleCancelled(ctx context.Context, tx store.Tx, jobIDs []int64, now time.Time) error {
	if len(jobIDs) == 0 {
		return nil
	}
	ready, err := tx.JobListSettleable(ctx, jobIDs)
	if err != nil || len(ready) == 0 {
		return err
	}
	jobs, err := tx.JobGetMany(ctx, ready)
	if err != nil {
		return err
	}
	if err := tx.JobSettleMany(ctx, ready, now); err != nil {
		return err
	}
	return s.releaseEscrow(ctx, tx, jobs, now, "cancelled")
}

// settleBatch bounds the cancelled jobs one settling transaction handles.
const settleBatch = 500

// SettleCancelledJobs returns the escrow of cancelled jobs that owe
// nothing more. The payer does it too when it records a cancelled job's
// last money row; this catches a cancellation that raced with that payment. Like
// FinishJobs, it looks in a read-only transaction first.
func (s *Service) SettleCancelledJobs(ctx context.Context) error {
	var unsettled []int64
	if err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		unsettled, err = tx.JobListUnsettled(ctx, settleBatch)
		return err
	}); err != nil {
		return fmt.Errorf("looking for cancelled jobs to settle: %w", err)
	}
	if len(unsettled) == 0 {
		return nil
	}
	if err := s.store.InTx(ctx, func(tx store.Tx) error { return s.settleCancelled(ctx, tx, unsettled, s.now()) }); err != nil {
		return fmt.Errorf("settling cancelled jobs: %w", err)
	}
	return nil
}

// CancelledTasks lists the tasks a host holds whose job was cancelled: it
// is to stop them and report nothing.
func (s *Service) CancelledTasks(ctx context.Context, hostID int64) ([]int64, error) {
	var ids []int64
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		ids, err = tx.TaskListCancelled(ctx, hostID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing cancelled tasks of host %d: %w", hostID, err)
	}
	return ids, nil
}

// ignoreCancelled tells whether a host's report of task t, of job j, is to
// be taken and thrown away: the job was cancelled, so the task earns
// nothing and its output is not wanted. A task of another host is still
// not found.
func ignoreCancelled(t workunits.Task, j workunits.Job, hostID int64) (bool, error) {
	if j.State != workunits.JobCancelled {
		return false, nil
	}
	if t.HostID != hostID {
		return true, workunits.Errorf(workunits.ENOTFOUND, "task %d is not assigned to this host", t.ID)
	}
	return true, nil
}

// RetireJob deletes what a finished (done or cancelled) job no longer
// needs: its units' inputs and its outputs, and gives back the input blobs
// its units read (store.LifecycleTx.InputBlobsRelease): the project loses
// a blob no other of its unretired jobs reads, and a blob nobody holds or
// reads any more is deleted. The job, its counts and its ledger entries stay; its results
// are gone (EGONE) from then on. Retiring twice keeps the first time.
func (s *Service) RetireJob(ctx context.Context, projectID, jobID int64) (JobStatus, error) {
	var deleted []string
	err := s.store.InTx(ctx, func(tx store.Tx) error {
		job, err := tx.JobGetForUpdate(ctx, jobID)
		if err == nil && job.ProjectID != projectID {
			err = workunits.Errorf(workunits.ENOTFOUND, "job %d not found", jobID)
		}
		if err != nil {
			return err
		}
		if job.State != workunits.JobDone && job.State != workunits.JobCancelled {
			return workunits.Errorf(workunits.ECONFLICT, "job %d is %s; only a finished (done or cancelled) job can be retired", jobID, job.State)
		}
		if err := tx.JobRetire(ctx, jobID, s.now()); err != nil {
			return err
		}
		// The project gives back the input blobs the job's units read,
		// unless another of its live jobs reads them; a blob no project
		// holds and no live job reads is deleted.
		deleted, err = tx.InputBlobsRelease(ctx, projectID, jobID)
		return err
	})
	if err != nil {
		return JobStatus{}, fmt.Errorf("retiring job %d: %w", jobID, err)
	}
	s.log.Info("job retired", "project", projectID, "job", jobID, "blobs_deleted", len(deleted))
	return s.Job(ctx, projectID, jobID)
}

// notRetired refuses to read the data of a retired job.
func notRetired(ctx context.Context, tx store.Tx, jobID int64) error {
	l, err := tx.JobLifecycleGet(ctx, jobID)
	if err != nil {
		return err
	}
	if !l.RetiredAt.IsZero() {
		return workunits.Errorf(workunits.EGONE, "job %d was retired at %s; its inputs and results are deleted",
			jobID, l.RetiredAt.Format(time.RFC3339))
	}
	return nil
}

// enqueueFinished enqueues, in the transaction that finishes the jobs, the
// event of each that has a webhook: job.failed when no unit has a result,
// job.done otherwise.
func (s *Service) enqueueFinished(ctx context.Context, tx store.Tx, jobIDs []int64, now time.Time) error {
	hooked, err := tx.WebhookJobs(ctx, jobIDs)
	if err != nil || len(hooked) == 0 {
		return err
	}
	events := make([]store.WebhookEvent, len(hooked))
	for i, id := range hooked {
		p, err := tx.JobProgress(ctx, id)
		if err != nil {
			return err
		}
		events[i] = store.WebhookEvent{JobID: id, Event: finishedEvent(p), At: now}
	}
	return tx.WebhookDeliveryAddMany(ctx, events)
}

// finishedEvent is the event of a job that finished with these counts.
func finishedEvent(p store.JobProgress) string {
	if p.Units[workunits.UnitDone] == 0 {
		return EventJobFailed
	}
	return EventJobDone
}

// jobDetails loads what a job's status shows besides the job itself.
func jobDetails(ctx context.Context, tx store.Tx, jobID int64) (escrow int64, p store.JobProgress, l store.JobLifecycle, err error) {
	if p, err = tx.JobProgress(ctx, jobID); err != nil {
		return
	}
	if escrow, err = tx.LedgerBalance(ctx, payouts.JobEscrow(jobID)); err != nil {
		return
	}
	l, err = tx.JobLifecycleGet(ctx, jobID)
	return
}
