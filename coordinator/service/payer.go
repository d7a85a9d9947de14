package service

import (
	"context"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// payBatch bounds the money rows one payment transaction records.
const payBatch = 10_000

// PayCredits records the queued steps of tasks' rewards (reserve, post,
// void) in the ledger, a batch per transaction, in queue order, then
// retries refused ones that are due, and finishes the jobs whose last row
// that was. It returns how many ledger transactions it recorded.
// Coordinators paying at once take different rows, and the ledger key of
// each step ("reserve:task:<id>", "post:task:<id>", "void:task:<id>")
// would refuse a second one anyway.
//
// A step the ledger refuses (its escrow or pending balance short, its key
// already used for other entries) is set aside with the reason and
// retried later, backing off; the rows behind it are recorded meanwhile,
// except the post or void of a task whose reserve was just refused, which
// waits with it. Escrow covers every task a unit may ever have, so a
// refusal means the ledger was changed by hand or a bug: it is logged,
// listed by RefusedMoney, and keeps its job open.
func (s *Service) PayCredits(ctx context.Context) (int, error) {
	// Most calls find nothing to pay: look without the write lock first. A
	// row queued just after is recorded by the next call.
	var payable bool
	if err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		payable, err = tx.MoneyPayable(ctx, s.now())
		return err
	}); err != nil {
		return 0, fmt.Errorf("looking for money to record: %w", err)
	}
	if !payable {
		return 0, nil
	}
	queued := func(ctx context.Context, tx store.Tx, _ time.Time) ([]store.RefusedMoneyMove, error) {
		moves, err := tx.MoneyQueueTake(ctx, payBatch)
		out := make([]store.RefusedMoneyMove, len(moves))
		for i, m := range moves {
			out[i].MoneyMove = m
		}
		return out, err
	}
	refused := func(ctx context.Context, tx store.Tx, now time.Time) ([]store.RefusedMoneyMove, error) {
		return tx.MoneyRefusedTake(ctx, now, payBatch)
	}
	total := 0
	for _, take := range []func(context.Context, store.Tx, time.Time) ([]store.RefusedMoneyMove, error){queued, refused} {
		for {
			taken, recorded, err := s.payMoney(ctx, take)
			total += recorded
			if err != nil {
				return total, fmt.Errorf("recording money: %w", err)
			}
			if taken < payBatch {
				break
			}
		}
	}
	return total, nil
}

// moneyTransaction is the ledger transaction a money queue row records;
// projectOf maps the jobs of clawbacks to their projects, which the money
// goes back to.
func moneyTransaction(m store.MoneyMove, projectOf map[int64]int64) payouts.Transaction {
	switch m.Kind {
	case store.MoneyClawback:
		return payouts.Clawback(m.TaskID, m.ContributorID, projectOf[m.JobID], m.AmountMicros)
	case store.MoneyReserve:
		return payouts.Reserve(m.TaskID, m.JobID, m.ContributorID, m.AmountMicros)
	case store.MoneyPost:
		return payouts.Post(m.TaskID, m.ContributorID, m.AmountMicros, m.FeeMicros)
	case store.MoneyVoid:
		return payouts.Void(m.TaskID, m.JobID, m.ContributorID, m.AmountMicros)
	}
	return payouts.Transaction{Memo: fmt.Sprintf("unknown money kind %q", m.Kind)} // refused: no key
}

// payMoney records the rows take returns in one transaction, sets aside
// those the ledger refuses, and returns how many it took and recorded.
// Reserves are recorded first, then posts and voids, each in queue order:
// a reserve only draws on escrow, which covers it, so this changes no
// outcome but lets a post or void whose reserve was refused wait for it
// instead of drawing on the contributor's other reservations.
func (s *Service) payMoney(ctx context.Context, take func(context.Context, store.Tx, time.Time) ([]store.RefusedMoneyMove, error)) (taken, recorded int, err error) {
	var refused []store.RefusedMoneyMove
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		now := s.now()
		moves, err := take(ctx, tx, now)
		if err != nil {
			return err
		}
		taken, recorded, refused = len(moves), 0, nil
		projectOf, err := clawbackProjects(ctx, tx, moves)
		if err != nil {
			return err
		}
		refusals := make([]error, len(moves))
		record := func(idx []int) error {
			txs := make([]payouts.Transaction, len(idx))
			for j, i := range idx {
				txs[j] = moneyTransaction(moves[i].MoneyMove, projectOf)
			}
			rec, ref, err := store.LedgerRecordEach(ctx, tx, txs, now)
			if err != nil {
				return fmt.Errorf("recording %d money rows: %w", len(txs), err)
			}
			for j, i := range idx {
				refusals[i] = ref[j]
				if rec[j] { // false: recorded before, under the same key
					recorded++
				}
			}
			return nil
		}
		var reserves, judged []int
		for i, m := range moves {
			if m.Kind == store.MoneyReserve {
				reserves = append(reserves, i)
			} else {
				judged = append(judged, i)
			}
		}
		if err := record(reserves); err != nil {
			return err
		}
		unreserved := map[int64]error{}
		for _, i := range reserves {
			if refusals[i] != nil {
				unreserved[moves[i].TaskID] = refusals[i]
			}
		}
		ready := judged[:0:0]
		for _, i := range judged {
			if why, ok := unreserved[moves[i].TaskID]; ok {
				refusals[i] = workunits.Errorf(workunits.ErrorCode(why), "its reserve was refused: %v", why)
				continue
			}
			ready = append(ready, i)
		}
		if err := record(ready); err != nil {
			return err
		}
		var settled []int64 // jobs with a row off their books
		for i, m := range moves {
			if refusals[i] != nil {
				m.Reason, m.Attempts, m.RetryAt = refusals[i].Error(), m.Attempts+1, now.Add(retryDelay(m.Attempts+1))
				if m.RefusedAt.IsZero() {
					m.RefusedAt = now
				}
				refused = append(refused, m)
				continue
			}
			settled = append(settled, m.JobID)
		}
		if err := tx.MoneyRefusedAdd(ctx, refused); err != nil {
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
		m := refused[0]
		s.log.Warn("the ledger refused money rows; set aside to retry", "rows", len(refused), "kind", m.Kind,
			"task", m.TaskID, "job", m.JobID, "attempts", m.Attempts, "reason", m.Reason, "retry_at", m.RetryAt)
	}
	return taken, recorded, nil
}

// retryDelay is how long a row refused for the n-th time waits: a minute,
// doubling, at most an hour.
func retryDelay(n int) time.Duration {
	d := time.Minute
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}

// MaxRefusedList bounds one listing of refused money rows.
const MaxRefusedList = 1000

// RefusedMoney lists up to limit money rows the ledger refused, in queue
// order, for an operator to see what is owed and why.
func (s *Service) RefusedMoney(ctx context.Context, limit int) ([]store.RefusedMoneyMove, error) {
	if limit <= 0 || limit > MaxRefusedList {
		limit = MaxRefusedList
	}
	var out []store.RefusedMoneyMove
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		out, err = tx.MoneyRefusedList(ctx, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listing refused money rows: %w", err)
	}
	return out, nil
}

// clawbackProjects maps the jobs of the clawbacks among moves to their
// projects.
func clawbackProjects(ctx context.Context, tx store.Tx, moves []store.RefusedMoneyMove) (map[int64]int64, error) {
	var jobIDs []int64
	for _, m := range moves {
		if m.Kind == store.MoneyClawback {
			jobIDs = append(jobIDs, m.JobID)
		}
	}
	if len(jobIDs) == 0 {
		return nil, nil
	}
	jobs, err := tx.JobGetMany(ctx, dedupe(jobIDs))
	if err != nil {
		return nil, err
	}
	out := make(map[int64]int64, len(jobs))
	for _, j := range jobs {
		out[j.ID] = j.ProjectID
	}
	return out, nil
}
