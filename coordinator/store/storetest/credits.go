package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

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

	// A refused credit is out of the queue, keeps its job open, and comes
	// back once, when its retry time has come.
	t.Run("Refused", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		var queued store.Credit
		var refused []store.RefusedCredit
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Contributor()
			job = f.Job(jobSpec{Units: 3, Reward: 7, Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}})
			var done []workunits.Unit
			for _, u := range job.Units {
				u.State = workunits.UnitDone
				done = append(done, u)
			}
			f.UpdateUnits(done...)
			credit := func(i int) store.Credit {
				return store.Credit{TaskID: job.Tasks[i][0].ID, JobID: job.Job.ID, ContributorID: c.ID, AmountMicros: 7}
			}
			queued = credit(1)
			refused = []store.RefusedCredit{
				{Credit: credit(2), Reason: "conflict: key used", Attempts: 3, RefusedAt: t0, RetryAt: t0.Add(2 * time.Minute)},
				{Credit: credit(0), Reason: "insufficient_funds: escrow short", Attempts: 1, RefusedAt: t0, RetryAt: t0.Add(time.Minute)},
			}
			if err := tx.CreditQueueAdd(t.Context(), []store.Credit{queued}); err != nil {
				return err
			}
			return tx.CreditRefusedAdd(t.Context(), refused)
		})
		slices.Reverse(refused) // oldest task first
		finishable := func() bool {
			var ids []int64
			inTx(t, s, func(tx store.Tx, f *factory) (err error) {
				ids, err = tx.JobListFinishable(t.Context(), []int64{job.Job.ID})
				return err
			})
			return len(ids) > 0
		}
		takeRefused := func(now time.Time) []store.RefusedCredit {
			var got []store.RefusedCredit
			inTx(t, s, func(tx store.Tx, f *factory) (err error) {
				got, err = tx.CreditRefusedTake(t.Context(), now, 10)
				return err
			})
			return got
		}
		wantRefused := func(what string, got, want []store.RefusedCredit) {
			t.Helper()
			if !slices.EqualFunc(got, want, func(a, b store.RefusedCredit) bool {
				return a.Credit == b.Credit && a.Reason == b.Reason && a.Attempts == b.Attempts &&
					sameMS(a.RefusedAt, b.RefusedAt) && sameMS(a.RetryAt, b.RetryAt)
			}) {
				t.Errorf("%s = %+v, want %+v", what, got, want)
			}
		}

		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.CreditQueueTake(t.Context(), 10)
			if err != nil {
				return err
			}
			if !slices.Equal(got, []store.Credit{queued}) {
				t.Errorf("CreditQueueTake = %+v, want only the queued credit %+v", got, queued)
			}
			list, err := tx.CreditRefusedList(t.Context(), 10)
			wantRefused("CreditRefusedList", list, refused)
			return err
		})
		if finishable() {
			t.Errorf("JobListFinishable with refused credits lists the job")
		}
		if got := takeRefused(t0.Add(time.Minute - time.Millisecond)); len(got) != 0 {
			t.Errorf("CreditRefusedTake before any retry time = %+v", got)
		}
		// Taken in a transaction that rolls back, credits stay refused.
		errRollback := errors.New("roll back")
		if err := s.InTx(t.Context(), func(tx store.Tx) error {
			got, err := tx.CreditRefusedTake(t.Context(), t0.Add(time.Hour), 10)
			wantRefused("CreditRefusedTake", got, refused)
			if err != nil {
				return err
			}
			return errRollback
		}); !errors.Is(err, errRollback) {
			t.Fatalf("InTx = %v, want the rollback", err)
		}
		wantRefused("CreditRefusedTake at the first retry time", takeRefused(t0.Add(time.Minute)), refused[:1])
		wantRefused("CreditRefusedTake later", takeRefused(t0.Add(time.Hour)), refused[1:])
		if got := takeRefused(t0.Add(time.Hour)); len(got) != 0 {
			t.Errorf("CreditRefusedTake once all are taken = %+v", got)
		}
		if !finishable() {
			t.Errorf("JobListFinishable once every credit is off the books does not list the job")
		}
	})

	t.Run("Payable", func(t *testing.T) {
		s := setup(t, newStore)
		payable := func(now time.Time) bool {
			t.Helper()
			var ok bool
			if err := s.InReadTx(t.Context(), func(tx store.Tx) (err error) {
				ok, err = tx.CreditPayable(t.Context(), now)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if payable(t0) {
			t.Errorf("CreditPayable with no credits = true")
		}
		credit := store.Credit{TaskID: 1, JobID: 1, ContributorID: 1, AmountMicros: 7}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			return tx.CreditRefusedAdd(t.Context(), []store.RefusedCredit{{Credit: credit, Reason: "r", Attempts: 1,
				RefusedAt: t0, RetryAt: t0.Add(time.Minute)}})
		})
		if payable(t0.Add(time.Minute - time.Millisecond)) {
			t.Errorf("CreditPayable with a refused credit not yet due = true")
		}
		if !payable(t0.Add(time.Minute)) {
			t.Errorf("CreditPayable with a refused credit due = false")
		}
		credit.TaskID = 2
		inTx(t, s, func(tx store.Tx, f *factory) error { return tx.CreditQueueAdd(t.Context(), []store.Credit{credit}) })
		if !payable(t0) {
			t.Errorf("CreditPayable with a credit queued = false")
		}
	})
}
