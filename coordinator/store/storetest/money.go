package storetest

import (
	"cmp"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// move is a money queue row of job's task i (its first replica) for c.
func move(kind store.MoneyKind, job jobFixture, i int, c workunits.Contributor, fee int64) store.MoneyMove {
	return store.MoneyMove{Kind: kind, TaskID: job.Tasks[i][0].ID, JobID: job.Job.ID, ContributorID: c.ID, AmountMicros: 7, FeeMicros: fee}
}

// withoutSeq clears what the store assigns, to compare with what was queued.
func withoutSeq(moves []store.MoneyMove) []store.MoneyMove {
	out := slices.Clone(moves)
	for i := range out {
		out[i].Seq = 0
	}
	return out
}

func testMoneyQueue(t *testing.T, newStore func(*testing.T) store.Store) {
	// Rows come back in the order they were queued, whatever their tasks:
	// a task's reserve, queued first, is recorded before its post.
	t.Run("TakeInQueueOrder", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		var want []store.MoneyMove
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Contributor()
			job = f.Job(jobSpec{Units: 3, Reward: 7})
			first := []store.MoneyMove{move(store.MoneyReserve, job, 2, c, 0), move(store.MoneyReserve, job, 0, c, 0)}
			then := []store.MoneyMove{move(store.MoneyPost, job, 2, c, 1), move(store.MoneyReserve, job, 1, c, 0), move(store.MoneyVoid, job, 0, c, 0)}
			want = append(first, then...)
			if err := tx.MoneyQueueAdd(t.Context(), first); err != nil {
				return err
			}
			return tx.MoneyQueueAdd(t.Context(), then)
		})
		take := func(limit int) []store.MoneyMove {
			var got []store.MoneyMove
			inTx(t, s, func(tx store.Tx, f *factory) (err error) {
				got, err = tx.MoneyQueueTake(t.Context(), limit)
				return err
			})
			return got
		}
		// Taken in a transaction that rolls back, rows stay queued.
		errRollback := errors.New("roll back")
		err := s.InTx(t.Context(), func(tx store.Tx) error {
			if got, err := tx.MoneyQueueTake(t.Context(), 10); err != nil || len(got) != len(want) {
				t.Errorf("MoneyQueueTake = %v, %v; want %d rows", got, err, len(want))
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatalf("InTx = %v, want the rollback", err)
		}
		got := append(take(2), take(10)...)
		if !slices.Equal(withoutSeq(got), want) {
			t.Errorf("MoneyQueueTake = %+v, want %+v", got, want)
		}
		if !slices.IsSortedFunc(got, func(a, b store.MoneyMove) int { return cmp.Compare(a.Seq, b.Seq) }) || got[0].Seq <= 0 ||
			len(slices.CompactFunc(slices.Clone(got), func(a, b store.MoneyMove) bool { return a.Seq == b.Seq })) != len(got) {
			t.Errorf("seqs of %+v are not increasing", got)
		}
		if got := take(10); len(got) != 0 {
			t.Errorf("MoneyQueueTake of an empty queue = %+v", got)
		}
		// Seqs are never reused: a row queued now comes after every one taken.
		var again []store.MoneyMove
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			if err := tx.MoneyQueueAdd(t.Context(), []store.MoneyMove{move(store.MoneyPost, job, 1, f.Contributor(), 0)}); err != nil {
				return err
			}
			again, err = tx.MoneyQueueTake(t.Context(), 10)
			return err
		})
		if len(again) != 1 || again[0].Seq <= got[len(got)-1].Seq {
			t.Errorf("a row queued after others were taken = %+v, want a seq after %d", again, got[len(got)-1].Seq)
		}
	})

	// A task has at most one row of each kind.
	t.Run("OneOfEachKind", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		var c workunits.Contributor
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c = f.Contributor()
			job = f.Job(jobSpec{Units: 1, Reward: 7})
			return tx.MoneyQueueAdd(t.Context(), []store.MoneyMove{move(store.MoneyReserve, job, 0, c, 0), move(store.MoneyPost, job, 0, c, 0)})
		})
		if err := s.InTx(t.Context(), func(tx store.Tx) error {
			return tx.MoneyQueueAdd(t.Context(), []store.MoneyMove{move(store.MoneyPost, job, 0, c, 0)})
		}); err == nil {
			t.Errorf("a second post of one task was queued")
		}
	})

	t.Run("QueuedRowHoldsJobOpen", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Contributor()
			job = f.Job(jobSpec{Units: 1, Reward: 7, Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}})
			u := job.Units[0]
			u.State = workunits.UnitDone
			f.UpdateUnits(u)
			return tx.MoneyQueueAdd(t.Context(), []store.MoneyMove{move(store.MoneyVoid, job, 0, c, 0)})
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
			t.Errorf("JobListFinishable with a void queued = %v, want none", got)
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			_, err := tx.MoneyQueueTake(t.Context(), 1)
			return err
		})
		if got := finishable(); !slices.Equal(got, []int64{job.Job.ID}) {
			t.Errorf("JobListFinishable once paid = %v, want [%d]", got, job.Job.ID)
		}
	})

	// A refused row is out of the queue, keeps its seq and its job open,
	// and comes back once, when its retry time has come.
	t.Run("Refused", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		var queued store.MoneyMove
		var refused []store.RefusedMoneyMove
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Contributor()
			job = f.Job(jobSpec{Units: 3, Reward: 7, Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}})
			var done []workunits.Unit
			for _, u := range job.Units {
				u.State = workunits.UnitDone
				done = append(done, u)
			}
			f.UpdateUnits(done...)
			queued = move(store.MoneyReserve, job, 1, c, 0)
			post := move(store.MoneyPost, job, 2, c, 3)
			post.Seq = 12
			reserve := move(store.MoneyReserve, job, 0, c, 0)
			reserve.Seq = 5
			refused = []store.RefusedMoneyMove{
				{MoneyMove: post, Reason: "conflict: key used", Attempts: 3, RefusedAt: t0, RetryAt: t0.Add(2 * time.Minute)},
				{MoneyMove: reserve, Reason: "insufficient_funds: escrow short", Attempts: 1, RefusedAt: t0, RetryAt: t0.Add(time.Minute)},
			}
			if err := tx.MoneyQueueAdd(t.Context(), []store.MoneyMove{queued}); err != nil {
				return err
			}
			return tx.MoneyRefusedAdd(t.Context(), refused)
		})
		slices.Reverse(refused) // in seq order
		finishable := func() bool {
			var ids []int64
			inTx(t, s, func(tx store.Tx, f *factory) (err error) {
				ids, err = tx.JobListFinishable(t.Context(), []int64{job.Job.ID})
				return err
			})
			return len(ids) > 0
		}
		takeRefused := func(now time.Time) []store.RefusedMoneyMove {
			var got []store.RefusedMoneyMove
			inTx(t, s, func(tx store.Tx, f *factory) (err error) {
				got, err = tx.MoneyRefusedTake(t.Context(), now, 10)
				return err
			})
			return got
		}
		wantRefused := func(what string, got, want []store.RefusedMoneyMove) {
			t.Helper()
			if !slices.EqualFunc(got, want, func(a, b store.RefusedMoneyMove) bool {
				return a.MoneyMove == b.MoneyMove && a.Reason == b.Reason && a.Attempts == b.Attempts &&
					sameMS(a.RefusedAt, b.RefusedAt) && sameMS(a.RetryAt, b.RetryAt)
			}) {
				t.Errorf("%s = %+v, want %+v", what, got, want)
			}
		}

		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.MoneyQueueTake(t.Context(), 10)
			if err != nil {
				return err
			}
			if !slices.Equal(withoutSeq(got), []store.MoneyMove{queued}) {
				t.Errorf("MoneyQueueTake = %+v, want only the queued row %+v", got, queued)
			}
			list, err := tx.MoneyRefusedList(t.Context(), 10)
			wantRefused("MoneyRefusedList", list, refused)
			return err
		})
		if finishable() {
			t.Errorf("JobListFinishable with refused rows lists the job")
		}
		if got := takeRefused(t0.Add(time.Minute - time.Millisecond)); len(got) != 0 {
			t.Errorf("MoneyRefusedTake before any retry time = %+v", got)
		}
		// Taken in a transaction that rolls back, rows stay refused.
		errRollback := errors.New("roll back")
		if err := s.InTx(t.Context(), func(tx store.Tx) error {
			got, err := tx.MoneyRefusedTake(t.Context(), t0.Add(time.Hour), 10)
			wantRefused("MoneyRefusedTake", got, refused)
			if err != nil {
				return err
			}
			return errRollback
		}); !errors.Is(err, errRollback) {
			t.Fatalf("InTx = %v, want the rollback", err)
		}
		wantRefused("MoneyRefusedTake at the first retry time", takeRefused(t0.Add(time.Minute)), refused[:1])
		wantRefused("MoneyRefusedTake later", takeRefused(t0.Add(time.Hour)), refused[1:])
		if got := takeRefused(t0.Add(time.Hour)); len(got) != 0 {
			t.Errorf("MoneyRefusedTake once all are taken = %+v", got)
		}
		if !finishable() {
			t.Errorf("JobListFinishable once every row is off the books does not list the job")
		}
	})

	t.Run("Payable", func(t *testing.T) {
		s := setup(t, newStore)
		payable := func(now time.Time) bool {
			t.Helper()
			var ok bool
			if err := s.InReadTx(t.Context(), func(tx store.Tx) (err error) {
				ok, err = tx.MoneyPayable(t.Context(), now)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if payable(t0) {
			t.Errorf("MoneyPayable with nothing queued = true")
		}
		m := store.MoneyMove{Seq: 1, Kind: store.MoneyReserve, TaskID: 1, JobID: 1, ContributorID: 1, AmountMicros: 7}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			return tx.MoneyRefusedAdd(t.Context(), []store.RefusedMoneyMove{{MoneyMove: m, Reason: "r", Attempts: 1,
				RefusedAt: t0, RetryAt: t0.Add(time.Minute)}})
		})
		if payable(t0.Add(time.Minute - time.Millisecond)) {
			t.Errorf("MoneyPayable with a refused row not yet due = true")
		}
		if !payable(t0.Add(time.Minute)) {
			t.Errorf("MoneyPayable with a refused row due = false")
		}
		m.TaskID = 2
		inTx(t, s, func(tx store.Tx, f *factory) error { return tx.MoneyQueueAdd(t.Context(), []store.MoneyMove{m}) })
		if !payable(t0) {
			t.Errorf("MoneyPayable with a row queued = false")
		}
	})
}
