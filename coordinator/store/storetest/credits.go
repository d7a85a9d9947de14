package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testCreditQueue(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("TakeInTaskOrder", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		var want []store.Credit
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Contributor()
			job = f.Job(jobSpec{Units: 3, Reward: 7})
			for i := 2; i >= 0; i-- { // queued out of order
				want = append(want, store.Credit{TaskID: job.Tasks[i][0].ID, JobID: job.Job.ID, ContributorID: c.ID, AmountMicros: 7})
			}
			return tx.CreditQueueAdd(t.Context(), want)
		})
		slices.Reverse(want)
		take := func(limit int) []store.Credit {
			var got []store.Credit
			inTx(t, s, func(tx store.Tx, f *factory) (err error) {
				got, err = tx.CreditQueueTake(t.Context(), limit)
				return err
			})
			return got
		}
		// Taken in a transaction that rolls back, credits stay queued.
		errRollback := errors.New("roll back")
		err := s.InTx(t.Context(), func(tx store.Tx) error {
			if got, err := tx.CreditQueueTake(t.Context(), 10); err != nil || len(got) != 3 {
				t.Errorf("CreditQueueTake = %v, %v; want 3 credits", got, err)
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("InTx = %v, want the rollback", err)
		}
		if got := take(2); !slices.Equal(got, want[:2]) {
			t.Errorf("CreditQueueTake(2) = %+v, want %+v", got, want[:2])
		}
		if got := take(10); !slices.Equal(got, want[2:]) {
			t.Errorf("CreditQueueTake(10) = %+v, want %+v", got, want[2:])
		}
		if got := take(10); len(got) != 0 {
			t.Errorf("CreditQueueTake of an empty queue = %+v", got)
		}
	})

	t.Run("QueuedCreditHoldsJobOpen", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Contributor()
			job = f.Job(jobSpec{Units: 1, Reward: 7, Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}})
			u := job.Units[0]
			u.State = workunits.UnitDone
			f.UpdateUnits(u)
			return tx.CreditQueueAdd(t.Context(), []store.Credit{{TaskID: job.Tasks[0][0].ID, JobID: job.Job.ID, ContributorID: c.ID, AmountMicros: 7}})
		})
		finishable := func() []int64 {
			var ids []int64
			inTx(t, s, func(tx store.Tx, f *factory) (err error) {
				ids, err = tx.JobListFinishable(t.Context(), []int64{job.Job.ID})
				return err
			})
			return ids
		}
		if got := finishable(); len(got) != 0 {
			t.Errorf("JobListFinishable with a credit queued = %v, want none", got)
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			_, err := tx.CreditQueueTake(t.Context(), 1)
			return err
		})
		if got := finishable(); !slices.Equal(got, []int64{job.Job.ID}) {
			t.Errorf("JobListFinishable once paid = %v, want [%d]", got, job.Job.ID)
		}
	})
}
