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
// The waiting jobs are locked, so neither a cancel nor another funder can
// act on them meanwhile. The budget is not: if another transaction spent
// it between reading and recording, the ledger refuses the batch (writing
// nothing) and the plan is made again on the balance as it now is.
func (s *Service) fundWaitingJobs(ctx context.Context, tx store.Tx, projectIDs []int64, now time.Time) error {
	for _, projectID := range projectIDs {
		waiting, err := tx.JobListWaiting(ctx, projectID)
		if err != nil {
			return err
		}
		if len(waiting) == 0 {
			continue
		}
		for attempt := 1; ; attempt++ {
			budget, err := tx.LedgerBalance(ctx, payouts.ProjectBudget(projectID))
			if err != nil {
				return err
			}
			funded, escrows, err := fundable(waiting, budget)
			if err != nil || len(funded) == 0 {
				return err
			}
			_, err = tx.LedgerRecordMany(ctx, escrows, now)
			if workunits.ErrorCode(err) == workunits.EINSUFFICIENT && attempt < fundAttempts {
				continue // spent meanwhile by another transaction; nothing was written
			}
			if workunits.ErrorCode(err) == workunits.EINSUFFICIENT {
				s.log.Warn("waiting jobs stay unfunded: the budget keeps being spent meanwhile", "project", projectID)
				break
			}
			if err != nil {
				return fmt.Errorf("funding %d waiting jobs of project %d: %w", len(funded), projectID, err)
			}
			if err := tx.JobActivateMany(ctx, funded); err != nil {
				return err
			}
			s.log.Info("waiting jobs funded", "project", projectID, "jobs", funded)
			break
		}
	}
	return nil
}

// fundAttempts bounds how often fundWaitingJobs plans again when the
// budget was spent under it.
const fundAttempts = 3

// fundable is the longest run of waiting jobs, in order, that budget
// covers, and the escrow transactions that fund them.
func fundable(waiting []workunits.Job, budget int64) (ids []int64, escrows []payouts.Transaction, err error) {
	for _, j := range waiting {
		escrow, err := payouts.EscrowFor(j.UnitCount, j.Policy.MaxTotalReplicas, j.RewardMicros)
		if err != nil {
			return nil, nil, fmt.Errorf("funding waiting job %d: %w", j.ID, err)
		}
		if escrow > budget {
			break
		}
		budget -= escrow
		ids = append(ids, j.ID)
		if escrow > 0 {
			escrows = append(escrows, payouts.Escrow(j.ID, j.ProjectID, escrow))
		}
	}
	return ids, escrows, nil
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
