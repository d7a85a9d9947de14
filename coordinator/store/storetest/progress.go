package storetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testProgress(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("JobList", func(t *testing.T) {
		s := setup(t, newStore)
		var ids []int64 // project A's jobs, oldest first
		var projectA int64
		inTx(t, s, func(tx store.Tx, f *factory) error {
			projectA = f.Project().ID
			for i := range 4 {
				ids = append(ids, f.Job(jobSpec{ProjectID: projectA, CreatedAt: t0.Add(time.Duration(i) * time.Minute)}).Job.ID)
			}
			f.Job(jobSpec{}) // another project's
			return tx.JobFinish(t.Context(), ids[1], t0.Add(time.Hour))
		})
		tests := []struct {
			name string
			p    store.JobListParams
			want []int64
		}{
			{"all, newest first", store.JobListParams{Limit: 10}, []int64{ids[3], ids[2], ids[1], ids[0]}},
			{"first page", store.JobListParams{Limit: 2}, []int64{ids[3], ids[2]}},
			{"next page", store.JobListParams{BeforeID: ids[2], Limit: 2}, []int64{ids[1], ids[0]}},
			{"past the end", store.JobListParams{BeforeID: ids[0], Limit: 2}, nil},
			{"done only", store.JobListParams{State: workunits.JobDone, Limit: 10}, []int64{ids[1]}},
			{"active after a cursor", store.JobListParams{State: workunits.JobActive, BeforeID: ids[3], Limit: 10}, []int64{ids[2], ids[0]}},
			{"no such state", store.JobListParams{State: "nosuch", Limit: 10}, nil},
		}
		for _, tt := range tests {
			tt.p.ProjectID = projectA
			var got []workunits.Job
			if err := s.InReadTx(t.Context(), func(tx store.Tx) (err error) {
				got, err = tx.JobList(t.Context(), tt.p)
				return err
			}); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			gotIDs := make([]int64, 0, len(got))
			for _, j := range got {
				gotIDs = append(gotIDs, j.ID)
				if j.ProjectID != projectA {
					t.Errorf("%s: job %d of project %d listed for project %d", tt.name, j.ID, j.ProjectID, projectA)
				}
			}
			if fmt.Sprint(gotIDs) != fmt.Sprint(tt.want) {
				t.Errorf("%s: JobList = %v, want %v", tt.name, gotIDs, tt.want)
			}
			for _, j := range got {
				if j.ID == ids[1] && (j.State != workunits.JobDone || !sameMS(j.FinishedAt, t0.Add(time.Hour))) {
					t.Errorf("%s: finished job listed as %+v", tt.name, j)
				}
			}
		}
	})

	t.Run("UnitListAndFinishedAt", func(t *testing.T) {
		s := setup(t, newStore)
		var job, other jobFixture
		done, failed := t0.Add(20*time.Minute+7*time.Microsecond), t0.Add(50*time.Minute)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			job, other = f.Job(jobSpec{Units: 5}), f.Job(jobSpec{Units: 2})
			u1 := job.Units[1]
			u1.State, u1.CanonicalTaskID, u1.FinishedAt = workunits.UnitDone, job.Tasks[1][0].ID, done
			u3 := job.Units[3]
			u3.State, u3.Error, u3.FinishedAt = workunits.UnitFailed, "too many errors", failed
			o := other.Units[0]
			o.State, o.FinishedAt = workunits.UnitFailed, failed
			f.UpdateUnits(u1, u3, o)
			// A unit finishes once: a later update keeps the first time.
			u1.FinishedAt = t0.Add(5 * time.Hour)
			f.UpdateUnits(u1)
			return nil
		})
		want := map[int]workunits.Unit{}
		for _, u := range job.Units {
			want[u.Seq] = u
		}
		w1 := want[1]
		w1.State, w1.CanonicalTaskID, w1.FinishedAt = workunits.UnitDone, job.Tasks[1][0].ID, ms(done)
		want[1] = w1
		w3 := want[3]
		w3.State, w3.Error, w3.FinishedAt = workunits.UnitFailed, "too many errors", ms(failed)
		want[3] = w3

		tests := []struct {
			name string
			p    store.UnitListParams
			want []int
		}{
			{"first page", store.UnitListParams{AfterSeq: -1, Limit: 2}, []int{0, 1}},
			{"next page", store.UnitListParams{AfterSeq: 1, Limit: 2}, []int{2, 3}},
			{"last page", store.UnitListParams{AfterSeq: 3, Limit: 2}, []int{4}},
			{"past the end", store.UnitListParams{AfterSeq: 4, Limit: 2}, nil},
			{"open", store.UnitListParams{State: workunits.UnitOpen, AfterSeq: -1, Limit: 10}, []int{0, 2, 4}},
			{"open after a cursor", store.UnitListParams{State: workunits.UnitOpen, AfterSeq: 0, Limit: 1}, []int{2}},
			{"done", store.UnitListParams{State: workunits.UnitDone, AfterSeq: -1, Limit: 10}, []int{1}},
			{"failed", store.UnitListParams{State: workunits.UnitFailed, AfterSeq: -1, Limit: 10}, []int{3}},
			{"failed after it", store.UnitListParams{State: workunits.UnitFailed, AfterSeq: 3, Limit: 10}, nil},
		}
		for _, tt := range tests {
			tt.p.JobID = job.Job.ID
			var got []workunits.Unit
			if err := s.InReadTx(t.Context(), func(tx store.Tx) (err error) {
				got, err = tx.UnitList(t.Context(), tt.p)
				return err
			}); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if len(got) != len(tt.want) {
				t.Errorf("%s: UnitList returned %d units, want seqs %v: %+v", tt.name, len(got), tt.want, got)
				continue
			}
			for i, u := range got {
				if !sameUnit(u, want[tt.want[i]]) {
					t.Errorf("%s: unit %d:\ngot  %+v\nwant %+v", tt.name, i, u, want[tt.want[i]])
				}
			}
		}

		err := s.InReadTx(t.Context(), func(tx store.Tx) error {
			for _, seq := range []int{1, 3, 4} {
				u, err := tx.UnitGetBySeq(t.Context(), job.Job.ID, seq)
				if err != nil {
					return err
				}
				if !sameUnit(u, want[seq]) {
					t.Errorf("UnitGetBySeq(%d):\ngot  %+v\nwant %+v", seq, u, want[seq])
				}
			}
			_, err := tx.UnitGetBySeq(t.Context(), job.Job.ID, 5)
			wantCode(t, err, workunits.ENOTFOUND)
			_, err = tx.UnitGetBySeq(t.Context(), 4242, 0)
			wantCode(t, err, workunits.ENOTFOUND)

			for _, c := range []struct {
				since time.Time
				want  int
			}{{t0, 2}, {ms(done), 2}, {ms(done).Add(time.Millisecond), 1}, {failed, 1}, {failed.Add(time.Millisecond), 0}} {
				n, err := tx.UnitCountFinishedSince(t.Context(), job.Job.ID, c.since)
				if err != nil {
					return err
				}
				if n != c.want {
					t.Errorf("UnitCountFinishedSince(%v) = %d, want %d", c.since, n, c.want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("TaskOutputGet", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			job = f.Job(jobSpec{Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 3}})
			h := f.Host(f.Contributor().ID)
			ts := job.Tasks[0]
			return tx.TaskUpdateMany(t.Context(), []workunits.Task{
				reported(ts[0], h.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second),
				reported(ts[1], h.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second),
			}, map[int64][]byte{ts[0].ID: []byte("canonical bytes\x00\xff"), ts[1].ID: nil})
		})
		err := s.InReadTx(t.Context(), func(tx store.Tx) error {
			for _, c := range []struct {
				task int64
				want []byte
			}{{job.Tasks[0][0].ID, []byte("canonical bytes\x00\xff")}, {job.Tasks[0][1].ID, nil}, {job.Tasks[0][2].ID, nil}} {
				got, err := tx.TaskOutputGet(t.Context(), c.task)
				if err != nil {
					return err
				}
				if !bytes.Equal(got, c.want) {
					t.Errorf("TaskOutputGet(%d) = %q, want %q", c.task, got, c.want)
				}
			}
			_, err := tx.TaskOutputGet(t.Context(), 4242)
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("TaskErrorList", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		var host workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			job = f.Job(jobSpec{Units: 3, Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 2, MaxErrorReplicas: 5}})
			other := f.Job(jobSpec{})
			host = f.Host(f.Contributor().ID)
			failedAt := func(tk workunits.Task, minutes int, stderr string) workunits.Task {
				tk = reported(tk, host.ID, workunits.OutcomeError, workunits.ValidatePending, time.Second)
				tk.ReceivedAt, tk.Stderr = t0.Add(time.Duration(minutes)*time.Minute), stderr
				return tk
			}
			f.UpdateTasks(
				failedAt(job.Tasks[0][0], 1, "oldest"),
				failedAt(job.Tasks[2][1], 5, "newest"),
				failedAt(job.Tasks[1][0], 3, "middle"),
				reported(job.Tasks[1][1], host.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second),
				failedAt(other.Tasks[0][0], 9, "another job's"),
			)
			return nil
		})
		all := []store.TaskError{
			{TaskID: job.Tasks[2][1].ID, UnitSeq: 2, HostID: host.ID, ReceivedAt: t0.Add(5 * time.Minute), Stderr: "newest"},
			{TaskID: job.Tasks[1][0].ID, UnitSeq: 1, HostID: host.ID, ReceivedAt: t0.Add(3 * time.Minute), Stderr: "middle"},
			{TaskID: job.Tasks[0][0].ID, UnitSeq: 0, HostID: host.ID, ReceivedAt: t0.Add(1 * time.Minute), Stderr: "oldest"},
		}
		for _, limit := range []int{10, 2} {
			var got []store.TaskError
			if err := s.InReadTx(t.Context(), func(tx store.Tx) (err error) {
				got, err = tx.TaskErrorList(t.Context(), job.Job.ID, limit)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			want := all[:min(limit, len(all))]
			if len(got) != len(want) {
				t.Errorf("TaskErrorList(limit %d) = %+v, want %+v", limit, got, want)
				continue
			}
			for i := range got {
				g, w := got[i], want[i]
				if g.TaskID != w.TaskID || g.UnitSeq != w.UnitSeq || g.HostID != w.HostID || !sameMS(g.ReceivedAt, w.ReceivedAt) || g.Stderr != w.Stderr {
					t.Errorf("TaskErrorList(limit %d)[%d] = %+v, want %+v", limit, i, g, w)
				}
			}
		}
	})
}

// sameUnit compares units field by field, times to the millisecond.
func sameUnit(a, b workunits.Unit) bool {
	return a.ID == b.ID && a.JobID == b.JobID && a.Seq == b.Seq && bytes.Equal(a.Input, b.Input) && a.State == b.State &&
		a.CanonicalTaskID == b.CanonicalTaskID && a.Error == b.Error && sameMS(a.FinishedAt, b.FinishedAt)
}
