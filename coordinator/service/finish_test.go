package service

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// jobCallCounter counts the store calls that finishing jobs makes, in
// every transaction of the store it wraps.
type jobCallCounter struct {
	store.Store
	n atomic.Int64
}

func (c *jobCallCounter) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return c.Store.InTx(ctx, func(tx store.Tx) error { return fn(&jobCallTx{Tx: tx, n: &c.n}) })
}

func (c *jobCallCounter) InReadTx(ctx context.Context, fn func(store.Tx) error) error {
	return c.Store.InReadTx(ctx, func(tx store.Tx) error { return fn(&jobCallTx{Tx: tx, n: &c.n}) })
}

type jobCallTx struct {
	store.Tx
	n *atomic.Int64
}

func (t *jobCallTx) JobGet(ctx context.Context, id int64) (workunits.Job, error) {
	t.n.Add(1)
	return t.Tx.JobGet(ctx, id)
}

func (t *jobCallTx) JobGetMany(ctx context.Context, ids []int64) ([]workunits.Job, error) {
	t.n.Add(1)
	return t.Tx.JobGetMany(ctx, ids)
}

func (t *jobCallTx) JobFinish(ctx context.Context, id int64, now time.Time) error {
	t.n.Add(1)
	return t.Tx.JobFinish(ctx, id, now)
}

func (t *jobCallTx) JobFinishMany(ctx context.Context, ids []int64, now time.Time) error {
	t.n.Add(1)
	return t.Tx.JobFinishMany(ctx, ids, now)
}

func (t *jobCallTx) LedgerBalance(ctx context.Context, a payouts.Account) (int64, error) {
	t.n.Add(1)
	return t.Tx.LedgerBalance(ctx, a)
}

func (t *jobCallTx) LedgerBalanceMany(ctx context.Context, as []payouts.Account) (map[payouts.Account]int64, error) {
	t.n.Add(1)
	return t.Tx.LedgerBalanceMany(ctx, as)
}

func (t *jobCallTx) LedgerRecordMany(ctx context.Context, txs []payouts.Transaction, now time.Time) ([]bool, error) {
	t.n.Add(1)
	return t.Tx.LedgerRecordMany(ctx, txs, now)
}

// TestFinishJobsInBatches: finishing many jobs at once costs the same few
// store calls as finishing one, and returns every job's unused escrow.
func TestFinishJobsInBatches(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		ctx := t.Context()
		const jobs, funding = 20, 100_000
		if _, err := b.svc.FundProject(ctx, b.project.ID, funding, "g"); err != nil {
			t.Fatal(err)
		}
		ids := make([]int64, jobs)
		for i := range ids {
			st, err := b.svc.SubmitJob(ctx, b.project.ID, JobRequest{App: "app", Inputs: [][]byte{[]byte(`{}`)}, RewardMicros: 10})
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = st.Job.ID
		}
		// Every unit done with no task out, as a sweep that gave up on
		// them would leave them: nothing was paid, everything comes back.
		b.inTx(t, func(tx store.Tx) error {
			units, err := tx.UnitGetManyForUpdate(ctx, ids) // a fresh store numbers one-unit jobs' units as the jobs
			if err != nil {
				return err
			}
			for i := range units {
				if units[i].JobID != units[i].ID {
					t.Fatalf("unit %+v is not its job's only unit", units[i])
				}
				units[i].State = workunits.UnitFailed
			}
			return tx.UnitUpdateMany(ctx, units)
		})
		counter := &jobCallCounter{Store: b.svc.store}
		b.svc.store = counter
		if err := b.svc.FinishJobs(ctx); err != nil {
			t.Fatal(err)
		}
		if n := counter.n.Load(); n > 8 {
			t.Errorf("finishing %d jobs made %d store calls, want a few whatever the number of jobs", jobs, n)
		}
		for _, id := range ids {
			if st, err := b.svc.Job(ctx, b.project.ID, id); err != nil || st.Job.State != workunits.JobDone || st.Escrow != 0 {
				t.Errorf("job %d = %s with %d in escrow (%v), want done with none", id, st.Job.State, st.Escrow, err)
			}
		}
		if got := b.balance(t, payouts.ProjectBudget(b.project.ID)); got != funding {
			t.Errorf("budget = %d, want all %d back", got, funding)
		}
	})
}
