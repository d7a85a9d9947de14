package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// lease runs one TaskLease in its own transaction.
func lease(t *testing.T, s store.Store, hostID int64, max int, now time.Time) []store.Lease {
	t.Helper()
	var ls []store.Lease
	inTx(t, s, func(tx store.Tx, f *factory) (err error) {
		ls, err = tx.TaskLease(t.Context(), store.TaskLeaseParams{HostID: hostID, Max: max, Now: now})
		return err
	})
	return sortedLeases(ls)
}

// leasedUnits fails the test if ls holds two tasks of one unit and returns
// the units leased.
func leasedUnits(t *testing.T, ls []store.Lease) map[int64]bool {
	t.Helper()
	units := map[int64]bool{}
	for _, l := range ls {
		if units[l.UnitID] {
			t.Errorf("two tasks of unit %d in one host's leases: %+v", l.UnitID, ls)
		}
		units[l.UnitID] = true
	}
	return units
}

func testTaskLease(t *testing.T, newStore func(*testing.T) store.Store) {
	deadline := 90*time.Second + 250*time.Millisecond
	now := t0.Add(10*time.Minute + 123456*time.Nanosecond) // leases are stored to the millisecond

	t.Run("Lease", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		var a, b, c workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			a, b, c = f.Host(f.Contributor().ID), f.Host(f.Contributor().ID), f.Host(f.Contributor().ID)
			job = f.Job(jobSpec{Units: 3, Policy: workunits.Policy{MinQuorum: 2, TargetReplicas: 2, Deadline: deadline}})
			return nil
		})
		units := map[int64]workunits.Unit{}
		for _, u := range job.Units {
			units[u.ID] = u
		}

		first := lease(t, s, a.ID, 2, now)
		if len(first) != 2 {
			t.Fatalf("host a leased %d tasks with Max 2, want 2", len(first))
		}
		for _, l := range first {
			u := units[l.UnitID]
			if l.TaskID == 0 || u.ID == 0 || l.JobID != job.Job.ID || l.AppName != "sim" ||
				l.ModuleSHA256 != job.Version.ModuleSHA256 || !bytes.Equal(l.Input, u.Input) ||
				!sameMS(l.DeadlineAt, now.Add(deadline)) {
				t.Errorf("lease = %+v, want a task of one of the job's units with job %d, app sim, module %s, input %s, deadline %v",
					l, job.Job.ID, job.Version.ModuleSHA256, u.Input, ms(now).Add(deadline))
			}
		}
		held := leasedUnits(t, first)

		inTx(t, s, func(tx store.Tx, f *factory) error {
			var ids []int64
			for _, l := range first {
				ids = append(ids, l.TaskID)
			}
			got, err := tx.TaskGetMany(t.Context(), ids)
			if err != nil {
				return err
			}
			var want []workunits.Task
			for _, l := range first {
				want = append(want, workunits.Task{ID: l.TaskID, UnitID: l.UnitID, HostID: a.ID, State: workunits.TaskInProgress,
					ValidateState: workunits.ValidatePending, CreatedAt: t0, SentAt: now, DeadlineAt: ms(now).Add(deadline)})
			}
			wantTasks(t, "leased tasks", sortedTasks(got), want)
			return nil
		})

		// Host a gets the one unit it does not hold, never a second replica.
		second := lease(t, s, a.ID, 10, now)
		if len(second) != 1 || held[second[0].UnitID] {
			t.Errorf("host a's second lease = %+v, want the one task of the unit it does not hold yet", second)
		}
		if again := lease(t, s, a.ID, 10, now); len(again) != 0 {
			t.Errorf("host a's third lease = %+v, want none: it holds a task of every unit", again)
		}

		// Host b gets the other replica of every unit.
		other := lease(t, s, b.ID, 10, now)
		if len(other) != 3 {
			t.Errorf("host b leased %d tasks, want 3", len(other))
		}
		leasedUnits(t, other)
		taken := map[int64]bool{}
		for _, l := range append(append(first, second...), other...) {
			if taken[l.TaskID] {
				t.Errorf("task %d leased twice", l.TaskID)
			}
			taken[l.TaskID] = true
		}
		if len(taken) != 6 {
			t.Errorf("%d distinct tasks leased, want all 6", len(taken))
		}
		if rest := lease(t, s, c.ID, 10, now); len(rest) != 0 {
			t.Errorf("host c leased %+v, want none: every task is out", rest)
		}
	})

	t.Run("SkippedJobsAreNotLeased", func(t *testing.T) {
		s := setup(t, newStore)
		var older, newer jobFixture
		var h workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			h = f.Host(f.Contributor().ID)
			policy := workunits.Policy{MinQuorum: 1, TargetReplicas: 1, Deadline: deadline}
			older = f.Job(jobSpec{Units: 2, Policy: policy})
			newer = f.Job(jobSpec{Units: 2, Policy: policy})
			return nil
		})
		var got []store.Lease
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			got, err = tx.TaskLease(t.Context(), store.TaskLeaseParams{HostID: h.ID, Max: 10, SkipJobs: []int64{older.Job.ID}, Now: now})
			return err
		})
		if len(got) != 2 {
			t.Fatalf("leased %d tasks skipping the older job, want the newer job's 2", len(got))
		}
		for _, l := range got {
			if l.JobID != newer.Job.ID {
				t.Errorf("leased task %d of job %d, which the host asked to skip", l.TaskID, l.JobID)
			}
		}
		// Without the skip, the older job's tasks are there to lease.
		if rest := lease(t, s, h.ID, 10, now); len(rest) != 2 || rest[0].JobID != older.Job.ID {
			t.Errorf("leased %+v without skipping, want the older job's 2 tasks", rest)
		}
	})

	t.Run("OneReplicaPerHostInOneCall", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		var h workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			h = f.Host(f.Contributor().ID)
			job = f.Job(jobSpec{Units: 1, Policy: workunits.Policy{MinQuorum: 3, TargetReplicas: 5}})
			return nil
		})
		if ls := lease(t, s, h.ID, 10, now); len(ls) != 1 || ls[0].UnitID != job.Units[0].ID {
			t.Errorf("lease of a unit with 5 replicas = %+v, want exactly one task", ls)
		}
	})

	t.Run("ReplicaAfterReportNotToSameHost", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		var h workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			h = f.Host(f.Contributor().ID)
			job = f.Job(jobSpec{Units: 1, Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}})
			return nil
		})
		if ls := lease(t, s, h.ID, 1, now); len(ls) != 1 {
			t.Fatalf("first lease = %+v, want one task", ls)
		}
		// The host's task ended in error; the replacement must go elsewhere.
		inTx(t, s, func(tx store.Tx, f *factory) error {
			f.UpdateTasks(reported(job.Tasks[0][0], h.ID, workunits.OutcomeError, workunits.ValidatePending, time.Second))
			return tx.TaskInsertMany(t.Context(), []int64{job.Units[0].ID}, now)
		})
		if ls := lease(t, s, h.ID, 10, now); len(ls) != 0 {
			t.Errorf("lease of a replacement to the host that failed the unit = %+v, want none", ls)
		}
	})

	t.Run("FinishedJobNotLeased", func(t *testing.T) {
		s := setup(t, newStore)
		var h workunits.Host
		var open jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			h = f.Host(f.Contributor().ID)
			done := f.Job(jobSpec{Units: 2})
			open = f.Job(jobSpec{Units: 1, CreatedAt: t0.Add(time.Minute)})
			return tx.JobFinish(t.Context(), done.Job.ID, t0.Add(time.Hour))
		})
		ls := lease(t, s, h.ID, 10, now)
		if len(ls) != 1 || ls[0].JobID != open.Job.ID {
			t.Errorf("lease = %+v, want one task of the active job %d only", ls, open.Job.ID)
		}
	})

	t.Run("MaxNotPositive", func(t *testing.T) {
		s := setup(t, newStore)
		var h workunits.Host
		var job jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			h = f.Host(f.Contributor().ID)
			job = f.Job(jobSpec{Units: 2})
			return nil
		})
		for _, max := range []int{0, -1} {
			if ls := lease(t, s, h.ID, max, now); len(ls) != 0 {
				t.Errorf("TaskLease(Max %d) = %+v, want none", max, ls)
			}
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			tasks, err := tx.TaskListByUnits(t.Context(), job.UnitIDs())
			for _, tk := range tasks {
				if tk.State != workunits.TaskUnsent || tk.HostID != 0 {
					t.Errorf("task %d is %q on host %d, want unsent", tk.ID, tk.State, tk.HostID)
				}
			}
			return err
		})
	})

	// Replicas that check each other must come from different people: a
	// contributor's second host gets no replica of a unit the first holds.
	t.Run("OneReplicaPerContributor", func(t *testing.T) {
		s := setup(t, newStore)
		var mine, other, stranger workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Contributor()
			mine, other, stranger = f.Host(c.ID), f.Host(c.ID), f.Host(f.Contributor().ID)
			f.Job(jobSpec{Units: 1, Policy: workunits.Policy{MinQuorum: 2, TargetReplicas: 2}})
			return nil
		})
		if ls := lease(t, s, mine.ID, 5, now); len(ls) != 1 {
			t.Fatalf("first host leased %d tasks, want 1", len(ls))
		}
		if ls := lease(t, s, other.ID, 5, now); len(ls) != 0 {
			t.Errorf("the same contributor's second host leased %+v, want nothing", ls)
		}
		if ls := lease(t, s, stranger.ID, 5, now); len(ls) != 1 {
			t.Errorf("another contributor's host leased %d tasks, want the second replica", len(ls))
		}
	})

	// Within a project, a replacement replica of an older job goes out
	// before a newer job's tasks, even though it was created after them:
	// otherwise one missed deadline holds a job back until every later job
	// is handed out. (Across projects, fair share decides: fairshare.go.)
	t.Run("OldestJobFirst", func(t *testing.T) {
		s := setup(t, newStore)
		var older, newer jobFixture
		var a, b, c workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			a, b, c = f.Host(f.Contributor().ID), f.Host(f.Contributor().ID), f.Host(f.Contributor().ID)
			one := workunits.Policy{MinQuorum: 1, TargetReplicas: 1}
			p := f.Project().ID
			older = f.Job(jobSpec{ProjectID: p, Units: 1, Policy: one, CreatedAt: t0})
			newer = f.Job(jobSpec{ProjectID: p, Units: 2, Policy: one, CreatedAt: t0.Add(time.Minute)})
			return nil
		})
		if ls := lease(t, s, a.ID, 1, now); len(ls) != 1 || ls[0].JobID != older.Job.ID {
			t.Fatalf("first lease = %+v, want the older job %d's task", ls, older.Job.ID)
		}
		// Host a missed the deadline: the unit gets a replacement replica.
		inTx(t, s, func(tx store.Tx, f *factory) error {
			f.UpdateTasks(reported(older.Tasks[0][0], a.ID, workunits.OutcomeNoReply, workunits.ValidatePending, 0))
			return tx.TaskInsertMany(t.Context(), []int64{older.Units[0].ID}, now)
		})
		if ls := lease(t, s, b.ID, 1, now); len(ls) != 1 || ls[0].JobID != older.Job.ID {
			t.Errorf("lease after the replacement = %+v, want the older job %d's replacement before newer job %d's tasks",
				ls, older.Job.ID, newer.Job.ID)
		}
		if ls := lease(t, s, c.ID, 5, now); len(ls) != 2 {
			t.Errorf("last lease = %+v, want the newer job's remaining tasks", ls)
		}
	})
}
