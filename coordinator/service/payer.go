package service

import (
	"context"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
)

// payBatch bounds the rewards one payment transaction posts.
const payBatch = 10_000

// PayCredits pays queued credits from their jobs' escrow, a batch per
// transaction, then retries refused credits that are due, and finishes the
// jobs whose last credit that was. It returns how many tasks it paid.
// Coordinators paying at once take different credits, and the ledger key
// of each reward ("reward:task:<id>") would refuse a second payment
// anyway.
//
// A reward the ledger refuses (its escrow short, its key already used for
// other entries) is set aside with the reason and retried later, backing
// off; the credits behind it are paid meanwhile. Escrow covers every task
// a unit may ever have, so a refusal means the ledger was changed by hand
// or a bug: it is logged, listed by RefusedCredits, and keeps its job open.
func (s *Service) PayCredits(ctx context.Context) (int, error) {
	// Most calls find nothing to pay: look without the write lock first. A
	// credit queued just after is paid by the next call.
	var payable bool
	if err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		payable, err = tx.CreditPayable(ctx, s.now())
		return err
	}); err != nil {
		return 0, fmt.Errorf("looking for credits to pay: %w", err)
	}
	if !payable {
		return 0, nil
	}
	queued := func(ctx context.Context, tx store.Tx, _ time.Time) ([]store.RefusedCredit, error) {
		credits, err := tx.CreditQueueTake(ctx, payBatch)
		out := make([]store.RefusedCredit, len(credits))
		for i, c := range credits {
			out[i].Credit = c
		}
		return out, err
	}
	refused := func(ctx context.Context, tx store.Tx, now time.Time) ([]store.RefusedCredit, error) {
		return tx.CreditRefusedTake(ctx, now, payBatch)
	}
	total := 0
	for _, take := range []func(context.Context, store.Tx, time.Time) ([]store.RefusedCredit, error){queued, refused} {
		for {
			taken, paid, err := s.payCredits(ctx, take)
			total += paid
			if err != nil {
				return total, fmt.Errorf("paying credits: %w", err)
			}
			if taken < payBatch {
				break
			}
		}
	}
	return total, nil
}

// payCredits pays the credits take returns in one transaction, sets aside
// those the ledger refuses, and returns how many it took and paid.
func (s *Service) payCredits(ctx context.Context, take func(context.Context, store.Tx, time.Time) ([]store.RefusedCredit, error)) (taken, paid int, err error) {
	var refused []store.RefusedCredit
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		now := s.now()
		credits, err := take(ctx, tx, now)
		if err != nil {
			return err
		}
		taken, paid, refused = len(credits), 0, nil
		rewards := make([]payouts.Transaction, len(credits))
		for i, c := range credits {
			rewards[i] = payouts.Reward(c.TaskID, c.JobID, c.ContributorID, c.AmountMicros)
		}
		recorded, refusals, err := store.LedgerRecordEach(ctx, tx, rewards, now)
		if err != nil {
			return fmt.Errorf("paying %d valid tasks: %w", len(rewards), err)
		}
		var settled []int64 // jobs with a credit off their books
		for i, c := range credits {
			if refusals[i] != nil {
				c.Reason, c.Attempts, c.RetryAt = refusals[i].Error(), c.Attempts+1, now.Add(retryDelay(c.Attempts+1))
				if c.RefusedAt.IsZero() {
					c.RefusedAt = now
				}
				refused = append(refused, c)
				continue
			}
			if recorded[i] { // false: paid before, under the same key
				paid++
			}
			settled = append(settled, c.JobID)
		}
		if err := tx.CreditRefusedAdd(ctx, refused); err != nil {
			return err
		}
		if err := s.finishJobs(ctx, tx, dedupe(settled), now); err != nil {
			return err
		}
		return s.settleCancelled(ctx, tx, dedupe(settled), now)
	})
	if err != nil {
		return 0, 0, err
	}
	if len(refused) > 0 {
		c := refused[0]
		s.log.Warn("the ledger refused rewards; set aside to retry", "credits", len(refused),
			"task", c.TaskID, "job", c.JobID, "attempts", c.Attempts, "reason", c.Reason, "retry_at", c.RetryAt)
	}
	return taken, paid, nil
}

// retryDelay is how long a credit refused for the n-th time waits: a
// minute, doubling, at most an hour.
func retryDelay(n int) time.Duration {
	d := time.Minute
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// MaxRefusedList bounds one listing of refused credits.
const MaxRefusedList = 1000

// RefusedCredits lists up to limit credits the ledger refused, oldest task
// first, for an operator to see what is owed and why.
func (s *Service) RefusedCredits(ctx context.Context, limit int) ([]store.RefusedCredit, error) {
	if limit <= 0 || limit > MaxRefusedList {
		limit = MaxRefusedList
	}
	var out []store.RefusedCredit
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		out, err = tx.CreditRefusedList(ctx, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing refused credits: %w", err)
	}
	return out, nil
}
