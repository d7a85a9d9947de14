package service

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// fundWaitingJobs sets aside the escrow of the given projects' waiting
// jobs, highest priority then oldest first, while the budget covers the
// next one, and activates them, in the caller's transaction. It stops at
// the first job the budget cannot cover rather than skipping it, so that a
// large job is not held back for ever by smaller ones behind it.
//
// Concurrent callers may pick the same job: its escrow's ledger key makes
// the second recording a no-op, and the ledger refuses to overdraw the
// budget, in which case the jobs wait for the next funding.
func (s *Service) fundWaitingJobs(ctx context.Context, tx store.Tx, projectIDs []int64, now time.Time) error {
	for _, projectID := range projectIDs {
		waiting, err := tx.JobListWaiting(ctx, projectID)
		if err != nil {
			return err
		}
		if len(waiting) == 0 {
			continue
		}
		budget, err := tx.LedgerBalance(ctx, payouts.ProjectBudget(projectID))
		if err != nil {
			return err
		}
		var funded []int64
		var escrows []payouts.Transaction
		for _, j := range waiting {
			escrow, err := payouts.EscrowFor(j.UnitCount, j.Policy.MaxTotalReplicas, j.RewardMicros)
			if err != nil {
				return fmt.Errorf("funding waiting job %d: %w", j.ID, err)
			}
			if escrow > budget {
				break
			}
			budget -= escrow
			funded = append(funded, j.ID)
			if escrow > 0 {
				escrows = append(escrows, payouts.Escrow(j.ID, projectID, escrow))
			}
		}
		if len(funded) == 0 {
			continue
		}
		if _, err := tx.LedgerRecordMany(ctx, escrows, now); err != nil {
			if workunits.ErrorCode(err) == workunits.EINSUFFICIENT {
				// Spent meanwhile by another transaction; nothing was written.
				s.log.Info("waiting jobs stay unfunded: the budget was spent meanwhile", "project", projectID)
				continue
			}
			return fmt.Errorf("funding %d waiting jobs of project %d: %w", len(funded), projectID, err)
		}
		if err := tx.JobActivateMany(ctx, funded); err != nil {
			return err
		}
		s.log.Info("waiting jobs funded", "project", projectID, "jobs", funded)
	}
	return nil
}

// releasedProjects returns, in order, the projects of the jobs that got
// escrow back.
func releasedProjects(jobs []workunits.Job, left map[payouts.Account]int64) []int64 {
	var ids []int64
	for _, j := range jobs {
		if left[payouts.JobEscrow(j.ID)] > 0 {
			ids = append(ids, j.ProjectID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}
