package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testTasks(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("InsertMany", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		created := t0.Add(5*time.Minute + 3*time.Microsecond)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			job = f.Job(jobSpec{Units: 3, Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}})
			// Two more replicas of unit 0, one of unit 2, none of unit 1.
			if err := tx.TaskInsertMany(t.Context(), []int64{job.Units[0].ID, job.Units[2].ID, job.Units[0].ID}, created); err != nil {
				return err
			}
			return tx.TaskInsertMany(t.Context(), nil, created)
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			tasks, err := tx.TaskListByUnits(t.Context(), job.UnitIDs())
			if err != nil {
				return err
			}
			perUnit := map[int64]int{}
			seen := map[int64]bool{}
			for _, tk := range tasks {
				perUnit[tk.UnitID]++
				if seen[tk.ID] {
					t.Errorf("task id %d listed twice", tk.ID)
				}
				seen[tk.ID] = true
				if tk.ID == job.Tasks[0][0].ID || tk.ID == job.Tasks[1][0].ID || tk.ID == job.Tasks[2][0].ID {
					continue // the job's first replicas, checked below
				}
				want := workunits.Task{ID: tk.ID, UnitID: tk.UnitID, State: workunits.TaskUnsent,
					ValidateState: workunits.ValidatePending, CreatedAt: created}
				wantTasks(t, "new task", []workunits.Task{tk}, []workunits.Task{want})
			}
			want := map[int64]int{job.Units[0].ID: 3, job.Units[1].ID: 1, job.Units[2].ID: 2}
			for u, n := range want {
				if perUnit[u] != n {
					t.Errorf("unit %d has %d tasks, want %d", u, perUnit[u], n)
				}
			}
			var unit1 []workunits.Task
			for _, tk := range tasks {
				if tk.UnitID == job.Units[1].ID {
					unit1 = append(unit1, tk)
				}
			}
			first := workunits.Task{ID: job.Tasks[1][0].ID, UnitID: job.Units[1].ID, State: workunits.TaskUnsent,
				ValidateState: workunits.ValidatePending, CreatedAt: t0}
			wantTasks(t, "unit 1", unit1, []workunits.Task{first})
			return nil
		})
	})

	t.Run("GetManyListByUnits", func(t *testing.T) {
		s := setup(t, newStore)
		var job, other jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			job, other = f.Job(jobSpec{Units: 3}), f.Job(jobSpec{Units: 1})
			return nil
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			want := []workunits.Task{job.Tasks[0][1], job.Tasks[2][0], other.Tasks[0][0]}
			got, err := tx.TaskGetMany(t.Context(), []int64{other.Tasks[0][0].ID, job.Tasks[2][0].ID, 999999, job.Tasks[0][1].ID})
			if err != nil {
				return err
			}
			wantTasks(t, "TaskGetMany", sortedTasks(got), sortedTasks(want))

			got, err = tx.TaskListByUnits(t.Context(), []int64{job.Units[2].ID, job.Units[0].ID})
			if err != nil {
				return err
			}
			want = slices.Concat(job.Tasks[0], job.Tasks[2])
			wantTasks(t, "TaskListByUnits", sortedTasks(got), sortedTasks(want))

			got, err = tx.TaskGetMany(t.Context(), nil)
			if err != nil {
				return err
			}
			if len(got) != 0 {
				t.Errorf("TaskGetMany(nil) = %+v, want none", got)
			}
			return nil
		})
	})

	t.Run("UpdateMany", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		var host workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			host = f.Host(f.Contributor().ID)
			job = f.Job(jobSpec{Units: 1, Policy: workunits.Policy{MinQuorum: 3}})
			return nil
		})
		ts := job.Tasks[0]
		full := ts[0]
		full.HostID = host.ID
		full.State = workunits.TaskOver
		full.Outcome = workunits.OutcomeSuccess
		full.ValidateState = workunits.ValidateValid
		full.SentAt = t0.Add(time.Minute + 111*time.Microsecond)
		full.DeadlineAt = t0.Add(61*time.Minute + 999*time.Microsecond)
		full.ReceivedAt = t0.Add(30*time.Minute + 500*time.Millisecond)
		full.OutputSHA256 = workunits.Hash([]byte("42\n"))
		full.CPUTime = 12*time.Second + 345678*time.Microsecond
		full.Stderr = "warning: réseau lent ⚠\nline 2"

		failed := reported(ts[1], host.ID, workunits.OutcomeError, workunits.ValidatePending, time.Second)
		failed.Stderr = "panic: out of memory"

		// A task withdrawn before it was sent keeps no host and no times.
		withdrawn := ts[2]
		withdrawn.State, withdrawn.Outcome = workunits.TaskOver, workunits.OutcomeNotNeeded

		inTx(t, s, func(tx store.Tx, f *factory) error {
			f.UpdateTasks(full, failed, withdrawn)
			return nil
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.TaskGetMany(t.Context(), taskIDs(ts))
			if err != nil {
				return err
			}
			wantTasks(t, "after TaskUpdateMany", sortedTasks(got), []workunits.Task{full, failed, withdrawn})
			return tx.TaskUpdateMany(t.Context(), nil, nil)
		})

		// A zero host and zero times are stored as absent and read back as zero.
		cleared := ts[0]
		inTx(t, s, func(tx store.Tx, f *factory) error {
			f.UpdateTasks(cleared)
			return nil
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.TaskGetMany(t.Context(), []int64{cleared.ID})
			if err != nil {
				return err
			}
			wantTasks(t, "after clearing", got, []workunits.Task{cleared})
			return nil
		})
	})

	t.Run("UpdateManyWithOutputs", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			job = f.Job(jobSpec{Units: 3, Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}})
			return nil
		})
		large := bytes.Repeat([]byte{0, 1, 2, 0xff}, workunits.MaxOutputSize/4)
		outputs := [][]byte{large, {}, nil} // nil: a success with no output at all
		inTx(t, s, func(tx store.Tx, f *factory) error {
			set := map[int64][]byte{}
			var units []workunits.Unit
			var tasks []workunits.Task
			for i, out := range outputs {
				set[job.Tasks[i][0].ID] = out
				tasks = append(tasks, job.Tasks[i][0])
				u := job.Units[i]
				u.State, u.CanonicalTaskID = workunits.UnitDone, job.Tasks[i][0].ID
				units = append(units, u)
			}
			if err := tx.TaskUpdateMany(t.Context(), tasks, set); err != nil {
				return err
			}
			f.UpdateUnits(units...)
			// An update without outputs keeps the stored ones.
			return tx.TaskUpdateMany(t.Context(), tasks, nil)
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			rs, err := tx.JobResultList(t.Context(), job.Job.ID, -1, 10)
			if err != nil {
				return err
			}
			if len(rs) != len(outputs) {
				t.Fatalf("JobResultList returned %d units, want %d", len(rs), len(outputs))
			}
			for i, r := range rs {
				if !bytes.Equal(r.Output, outputs[i]) {
					t.Errorf("unit %d: output of %d bytes, want %d bytes", i, len(r.Output), len(outputs[i]))
				}
			}
			return nil
		})
	})

	t.Run("UnitsOverdue", func(t *testing.T) {
		s := setup(t, newStore)
		now := t0.Add(2 * time.Hour)
		var job jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			h1, h2 := f.Host(f.Contributor().ID), f.Host(f.Contributor().ID)
			job = f.Job(jobSpec{Units: 6})
			ts := job.Tasks
			f.UpdateTasks(
				leased(ts[0][0], h1.ID, now.Add(-time.Minute)),                                              // overdue
				leased(ts[1][0], h1.ID, now),                                                                // due exactly now: overdue
				leased(ts[2][0], h1.ID, now.Add(time.Millisecond)),                                          // not yet
				reported(ts[3][0], h1.ID, workunits.OutcomeSuccess, workunits.ValidatePending, time.Second), // over, deadline long past
				leased(ts[4][0], h1.ID, now.Add(-time.Hour)),                                                // overdue, twice on one unit
				leased(ts[4][1], h2.ID, now.Add(-time.Second)),
				// unit 5: unsent tasks have no deadline
			)
			return nil
		})
		overdue := func(limit int) []int64 {
			t.Helper()
			var ids []int64
			inTx(t, s, func(tx store.Tx, f *factory) (err error) {
				ids, err = tx.TaskUnitsOverdue(t.Context(), now, limit)
				return err
			})
			slices.Sort(ids)
			return ids
		}
		want := []int64{job.Units[0].ID, job.Units[1].ID, job.Units[4].ID}
		if got := overdue(100); !slices.Equal(got, want) {
			t.Errorf("TaskUnitsOverdue = %v, want units %v", got, want)
		}
		if got := overdue(2); len(got) != 2 || !isSubset(got, want) {
			t.Errorf("TaskUnitsOverdue(limit 2) = %v, want 2 of %v", got, want)
		}
	})
}

func isSubset(sub, of []int64) bool {
	for _, id := range sub {
		if !slices.Contains(of, id) {
			return false
		}
	}
	return true
}
