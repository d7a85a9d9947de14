package storetest

import (
	"bytes"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testJobs(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("InsertGet", func(t *testing.T) {
		s := setup(t, newStore)
		policy := workunits.Policy{MinQuorum: 3, TargetReplicas: 4, MaxErrorReplicas: 2, MaxTotalReplicas: 9,
			Deadline: 90*time.Second + 250*time.Millisecond}
		created := t0.Add(42 * time.Microsecond) // stored to the millisecond
		var inserted workunits.Job
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			p := f.Project()
			v := f.AppVersion(p.ID, "sim")
			inserted, err = tx.JobInsert(t.Context(), workunits.Job{ProjectID: p.ID, AppVersionID: v.ID, Policy: policy,
				RewardMicros: 1_250_000, State: workunits.JobActive, UnitCount: 3, CreatedAt: created})
			return err
		})
		if inserted.ID == 0 {
			t.Fatalf("JobInsert returned no id: %+v", inserted)
		}
		want := inserted
		want.CreatedAt = ms(created)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.JobGet(t.Context(), inserted.ID)
			if err != nil {
				return err
			}
			if !sameJob(got, want) {
				t.Errorf("JobGet = %+v, want %+v", got, want)
			}
			if got.Policy != policy || got.RewardMicros != 1_250_000 || got.State != workunits.JobActive ||
				got.UnitCount != 3 || !got.FinishedAt.IsZero() {
				t.Errorf("JobGet = %+v, want policy %+v, reward 1250000, state %q, 3 units, no FinishedAt",
					got, policy, workunits.JobActive)
			}
			return nil
		})
	})

	t.Run("GetUnknown", func(t *testing.T) {
		s := setup(t, newStore)
		err := s.InTx(t.Context(), func(tx store.Tx) error {
			_, err := tx.JobGet(t.Context(), 4242)
			return err
		})
		wantCode(t, err, workunits.ENOTFOUND)
	})

	t.Run("Finish", func(t *testing.T) {
		s := setup(t, newStore)
		var job, other jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			job, other = f.Job(jobSpec{}), f.Job(jobSpec{})
			return nil
		})
		finished := t0.Add(3*time.Hour + 7*time.Microsecond)
		inTx(t, s, func(tx store.Tx, f *factory) error { return tx.JobFinish(t.Context(), job.Job.ID, finished) })
		// A job that is no longer active keeps the time it finished at.
		inTx(t, s, func(tx store.Tx, f *factory) error {
			return tx.JobFinish(t.Context(), job.Job.ID, finished.Add(time.Hour))
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.JobGet(t.Context(), job.Job.ID)
			if err != nil {
				return err
			}
			if got.State != workunits.JobDone || !sameMS(got.FinishedAt, finished) {
				t.Errorf("finished job: state %q, FinishedAt %v; want %q, %v", got.State, got.FinishedAt, workunits.JobDone, ms(finished))
			}
			got, err = tx.JobGet(t.Context(), other.Job.ID)
			if err != nil {
				return err
			}
			if got.State != workunits.JobActive || !got.FinishedAt.IsZero() {
				t.Errorf("other job: state %q, FinishedAt %v; want %q and none", got.State, got.FinishedAt, workunits.JobActive)
			}
			return nil
		})
	})

	t.Run("FinishMany", func(t *testing.T) {
		s := setup(t, newStore)
		var jobs [4]jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			for i := range jobs {
				jobs[i] = f.Job(jobSpec{})
			}
			return tx.JobFinish(t.Context(), jobs[0].Job.ID, t0)
		})
		later := t0.Add(time.Hour)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			if err := tx.JobFinishMany(t.Context(), nil, later); err != nil {
				return err
			}
			return tx.JobFinishMany(t.Context(), []int64{jobs[0].Job.ID, jobs[1].Job.ID, jobs[2].Job.ID, 1 << 40}, later)
		})
		wantFinished := []time.Time{t0, later, later, {}} // the first kept its time; the last is still active
		inTx(t, s, func(tx store.Tx, f *factory) error {
			for i, j := range jobs {
				got, err := tx.JobGet(t.Context(), j.Job.ID)
				if err != nil {
					return err
				}
				active := wantFinished[i].IsZero()
				if (got.State == workunits.JobActive) != active || !sameMS(got.FinishedAt, wantFinished[i]) {
					t.Errorf("job %d: state %q, FinishedAt %v; want finished at %v (zero: still active)", i, got.State, got.FinishedAt, wantFinished[i])
				}
			}
			return nil
		})
	})

	t.Run("ListFinishable", func(t *testing.T) {
		s := setup(t, newStore)
		var running, open, idle, finished jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			h := f.Host(f.Contributor().ID)
			one := workunits.Policy{MinQuorum: 1, TargetReplicas: 1}
			running, open, idle, finished = f.Job(jobSpec{Units: 1, Policy: one}), f.Job(jobSpec{Units: 1, Policy: one}),
				f.Job(jobSpec{Units: 1, Policy: one}), f.Job(jobSpec{Units: 1, Policy: one})
			// running: its unit is done but a late replica is still out.
			f.UpdateTasks(leased(running.Tasks[0][0], h.ID, t0.Add(time.Hour)))
			done := func(j jobFixture) workunits.Unit {
				u := j.Units[0]
				u.State = workunits.UnitDone
				return u
			}
			f.UpdateUnits(done(running), done(idle), done(finished))
			return tx.JobFinish(t.Context(), finished.Job.ID, t0)
		})
		all := []int64{running.Job.ID, open.Job.ID, idle.Job.ID, finished.Job.ID, 1 << 40}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.JobListFinishable(t.Context(), all)
			if err != nil {
				return err
			}
			if want := []int64{idle.Job.ID}; !slices.Equal(got, want) {
				t.Errorf("JobListFinishable = %v, want %v", got, want)
			}
			active, err := tx.JobListActive(t.Context())
			if err != nil {
				return err
			}
			if want := []int64{running.Job.ID, open.Job.ID, idle.Job.ID}; !slices.Equal(active, want) {
				t.Errorf("JobListActive = %v, want %v", active, want)
			}
			jobs, err := tx.JobGetMany(t.Context(), []int64{idle.Job.ID, running.Job.ID, idle.Job.ID})
			if err != nil {
				return err
			}
			if len(jobs) != 2 || jobs[0].ID != running.Job.ID || jobs[1].ID != idle.Job.ID {
				t.Errorf("JobGetMany = %+v, want jobs %d and %d", jobs, running.Job.ID, idle.Job.ID)
			}
			_, err = tx.JobGetMany(t.Context(), []int64{idle.Job.ID, 1 << 40})
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		})
	})

	t.Run("Progress", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			h := f.Host(f.Contributor().ID)
			job = f.Job(jobSpec{Units: 3, Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 3}})
			other := f.Job(jobSpec{Units: 2}) // must not be counted
			f.UpdateTasks(reported(other.Tasks[0][0], h.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Hour))
			f.UpdateUnits(withState(other.Units[0], workunits.UnitFailed))

			ts := job.Tasks
			f.UpdateTasks(
				reported(ts[0][0], h.ID, workunits.OutcomeSuccess, workunits.ValidateValid, 1500*time.Millisecond),
				reported(ts[0][1], h.ID, workunits.OutcomeSuccess, workunits.ValidateInvalid, 2*time.Second),
				reported(ts[0][2], h.ID, workunits.OutcomeError, workunits.ValidatePending, 500*time.Millisecond),
				reported(ts[1][0], h.ID, workunits.OutcomeSuccess, workunits.ValidatePending, 250*time.Millisecond),
				leased(ts[1][1], h.ID, t0.Add(time.Hour)),
				reported(ts[2][0], h.ID, workunits.OutcomeNoReply, workunits.ValidatePending, 0),
				reported(ts[2][1], h.ID, workunits.OutcomeSuccess, workunits.ValidateInconclusive, 3*time.Millisecond),
			)
			u := job.Units[0]
			u.State, u.CanonicalTaskID = workunits.UnitDone, ts[0][0].ID
			f.UpdateUnits(u, withState(job.Units[2], workunits.UnitFailed))
			return nil
		})
		want := store.JobProgress{
			Units: map[workunits.UnitState]int{workunits.UnitDone: 1, workunits.UnitOpen: 1, workunits.UnitFailed: 1},
			Tasks: map[workunits.TaskState]int{workunits.TaskOver: 6, workunits.TaskInProgress: 1, workunits.TaskUnsent: 2},
			Outcomes: map[workunits.Outcome]int{workunits.OutcomeSuccess: 4, workunits.OutcomeError: 1,
				workunits.OutcomeNoReply: 1},
			// Failed tasks have no validation to count.
			Validations: map[workunits.ValidateState]int{workunits.ValidateValid: 1, workunits.ValidateInvalid: 1,
				workunits.ValidatePending: 1, workunits.ValidateInconclusive: 1},
			CPUTime: 1500*time.Millisecond + 2*time.Second + 500*time.Millisecond + 250*time.Millisecond + 3*time.Millisecond,
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.JobProgress(t.Context(), job.Job.ID)
			if err != nil {
				return err
			}
			if !maps.Equal(nonZero(got.Units), want.Units) {
				t.Errorf("Units = %v, want %v", got.Units, want.Units)
			}
			if !maps.Equal(nonZero(got.Tasks), want.Tasks) {
				t.Errorf("Tasks = %v, want %v", got.Tasks, want.Tasks)
			}
			if !maps.Equal(nonZero(got.Outcomes), want.Outcomes) {
				t.Errorf("Outcomes = %v, want %v", got.Outcomes, want.Outcomes)
			}
			if !maps.Equal(nonZero(got.Validations), want.Validations) {
				t.Errorf("Validations = %v, want %v", got.Validations, want.Validations)
			}
			if got.CPUTime != want.CPUTime {
				t.Errorf("CPUTime = %v, want %v", got.CPUTime, want.CPUTime)
			}
			return nil
		})
	})

	t.Run("ResultList", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			job = f.Job(jobSpec{Units: 5})
			return nil
		})
		results := func(afterSeq, limit int) []store.UnitResult {
			t.Helper()
			var rs []store.UnitResult
			inTx(t, s, func(tx store.Tx, f *factory) (err error) {
				rs, err = tx.JobResultList(t.Context(), job.Job.ID, afterSeq, limit)
				return err
			})
			return rs
		}

		pages := []struct {
			afterSeq, limit int
			wantSeqs        []int
		}{
			{-1, 2, []int{0, 1}},
			{1, 2, []int{2, 3}},
			{3, 10, []int{4}},
			{4, 10, nil},
			{0, 3, []int{1, 2, 3}},
		}
		for _, pg := range pages {
			rs := results(pg.afterSeq, pg.limit)
			var seqs []int
			for _, r := range rs {
				seqs = append(seqs, r.Seq)
				if !bytes.Equal(r.Input, unitInput(r.Seq)) || r.State != workunits.UnitOpen || r.Output != nil || r.Error != "" {
					t.Errorf("unit %d before validation = %+v, want input %s, state %q, no output, no error",
						r.Seq, r, unitInput(r.Seq), workunits.UnitOpen)
				}
			}
			if !slices.Equal(seqs, pg.wantSeqs) {
				t.Errorf("JobResultList(after %d, limit %d) seqs = %v, want %v", pg.afterSeq, pg.limit, seqs, pg.wantSeqs)
			}
		}

		// Unit 0 validated with an output, unit 1 with an empty output,
		// unit 2 failed; unit 3 has an output that is not canonical yet.
		inTx(t, s, func(tx store.Tx, f *factory) error {
			ts := job.Tasks
			if err := tx.TaskUpdateMany(t.Context(), []workunits.Task{ts[0][0], ts[1][1], ts[3][0]}, map[int64][]byte{
				ts[0][0].ID: []byte("42\n"), ts[1][1].ID: {}, ts[3][0].ID: []byte("not yet"),
			}); err != nil {
				return err
			}
			u0, u1 := job.Units[0], job.Units[1]
			u0.State, u0.CanonicalTaskID = workunits.UnitDone, ts[0][0].ID
			u1.State, u1.CanonicalTaskID = workunits.UnitDone, ts[1][1].ID
			u2 := withState(job.Units[2], workunits.UnitFailed)
			u2.Error = "too many errors"
			f.UpdateUnits(u0, u1, u2)
			return nil
		})
		rs := results(-1, 10)
		if len(rs) != 5 {
			t.Fatalf("JobResultList returned %d units, want 5", len(rs))
		}
		tests := []struct {
			state  workunits.UnitState
			output []byte
			err    string
		}{
			{workunits.UnitDone, []byte("42\n"), ""},
			{workunits.UnitDone, []byte{}, ""},
			{workunits.UnitFailed, nil, "too many errors"},
			{workunits.UnitOpen, nil, ""},
			{workunits.UnitOpen, nil, ""},
		}
		for i, tt := range tests {
			r := rs[i]
			if r.Seq != i || r.State != tt.state || r.Error != tt.err || !bytes.Equal(r.Output, tt.output) {
				t.Errorf("result %d = {Seq %d State %q Error %q Output %q}, want {Seq %d State %q Error %q Output %q}",
					i, r.Seq, r.State, r.Error, r.Output, i, tt.state, tt.err, tt.output)
			}
			if tt.output == nil && r.Output != nil {
				t.Errorf("result %d: Output = %q, want nil: no canonical task", i, r.Output)
			}
		}
	})
}

func testUnits(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("InsertMany", func(t *testing.T) {
		s := setup(t, newStore)
		inputs := [][]byte{[]byte(`{"a":1}`), []byte(`{"a":2}`), []byte(`{"a":3}`)}
		var job workunits.Job
		var inserted []workunits.Unit
		inTx(t, s, func(tx store.Tx, f *factory) (err error) {
			job = f.BareJob()
			inserted, err = tx.UnitInsertMany(t.Context(), job.ID, inputs)
			return err
		})
		if len(inserted) != len(inputs) {
			t.Fatalf("UnitInsertMany returned %d units, want %d", len(inserted), len(inputs))
		}
		ids := map[int64]bool{}
		for i, u := range inserted {
			if u.ID == 0 || ids[u.ID] || u.JobID != job.ID || u.Seq != i || !bytes.Equal(u.Input, inputs[i]) ||
				u.State != workunits.UnitOpen || u.CanonicalTaskID != 0 || u.Error != "" {
				t.Errorf("unit %d = %+v, want a new id, job %d, seq %d, input %s, state %q", i, u, job.ID, i, inputs[i], workunits.UnitOpen)
			}
			ids[u.ID] = true
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.UnitGetManyForUpdate(t.Context(), []int64{inserted[2].ID, inserted[0].ID, inserted[2].ID + 1000})
			if err != nil {
				return err
			}
			want := []workunits.Unit{inserted[0], inserted[2]}
			if !equalUnits(got, want) {
				t.Errorf("UnitGetManyForUpdate = %+v, want %+v", got, want)
			}
			return nil
		})
	})

	t.Run("UpdateMany", func(t *testing.T) {
		s := setup(t, newStore)
		var job, other jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			job, other = f.Job(jobSpec{Units: 4}), f.Job(jobSpec{Units: 2})
			return nil
		})
		openCount := func(j jobFixture) int {
			t.Helper()
			var n int
			inTx(t, s, func(tx store.Tx, f *factory) error {
				p, err := tx.JobProgress(t.Context(), j.Job.ID)
				n = p.Units[workunits.UnitOpen]
				return err
			})
			return n
		}
		if n := openCount(job); n != 4 {
			t.Errorf("open units before = %d, want 4", n)
		}
		want := slices.Clone(job.Units)
		want[0].State, want[0].CanonicalTaskID = workunits.UnitDone, job.Tasks[0][1].ID
		want[1].State, want[1].Error = workunits.UnitFailed, "no quorum after 6 replicas"
		inTx(t, s, func(tx store.Tx, f *factory) error {
			f.UpdateUnits(want[0], want[1])
			return nil
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.UnitGetManyForUpdate(t.Context(), job.UnitIDs())
			if err != nil {
				return err
			}
			if !equalUnits(got, want) {
				t.Errorf("units after UnitUpdateMany = %+v, want %+v", got, want)
			}
			return nil
		})
		if n := openCount(job); n != 2 {
			t.Errorf("open units after = %d, want 2", n)
		}
		if n := openCount(other); n != 2 {
			t.Errorf("open units of the other job = %d, want 2", n)
		}
	})
}

func withState(u workunits.Unit, st workunits.UnitState) workunits.Unit {
	u.State = st
	return u
}

func sameJob(a, b workunits.Job) bool {
	return a.ID == b.ID && a.ProjectID == b.ProjectID && a.AppVersionID == b.AppVersionID && a.Policy == b.Policy &&
		a.RewardMicros == b.RewardMicros && a.State == b.State && a.UnitCount == b.UnitCount &&
		sameMS(a.CreatedAt, b.CreatedAt) && sameMS(a.FinishedAt, b.FinishedAt)
}

// equalUnits compares units in id order.
func equalUnits(got, want []workunits.Unit) bool {
	got = sortedBy(got, func(u workunits.Unit) int64 { return u.ID })
	want = sortedBy(want, func(u workunits.Unit) int64 { return u.ID })
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.JobID != w.JobID || g.Seq != w.Seq || !bytes.Equal(g.Input, w.Input) || g.State != w.State ||
			g.CanonicalTaskID != w.CanonicalTaskID || g.Error != w.Error {
			return false
		}
	}
	return true
}
