package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testClawbacks(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("TaskListByHostSince", func(t *testing.T) {
		s := setup(t, newStore)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Contributor()
			h, other := f.Host(c.ID), f.Host(f.Contributor().ID)
			job := f.Job(jobSpec{Units: 3})
			ok0 := reported(job.Tasks[0][0], h.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second)
			failed := reported(job.Tasks[1][0], h.ID, workunits.OutcomeError, workunits.ValidatePending, time.Second)
			late := reported(job.Tasks[2][0], h.ID, workunits.OutcomeSuccess, workunits.ValidatePending, time.Second)
			late.ReceivedAt = t0.Add(2 * time.Hour)
			theirs := reported(job.Tasks[0][1], other.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second)
			f.UpdateTasks(ok0, failed, late, theirs)

			for _, tt := range []struct {
				since time.Time
				want  []int64
			}{
				{time.Time{}, []int64{ok0.ID, late.ID}},
				{ok0.ReceivedAt, []int64{ok0.ID, late.ID}},
				{ok0.ReceivedAt.Add(time.Millisecond), []int64{late.ID}},
				{late.ReceivedAt.Add(time.Millisecond), nil},
			} {
				got, err := tx.TaskListByHostSince(f.ctx, h.ID, tt.since)
				if err != nil {
					return err
				}
				var ids []int64
				for _, ht := range got {
					ids = append(ids, ht.Task.ID)
					if ht.JobID != job.Job.ID || ht.Task.HostID != h.ID {
						t.Errorf("since %v: %+v, want job %d, host %d", tt.since, ht, job.Job.ID, h.ID)
					}
				}
				if !slices.Equal(ids, tt.want) {
					t.Errorf("since %v: tasks %v, want %v (successes of this host only)", tt.since, ids, tt.want)
				}
			}
			return nil
		})
	})

	t.Run("RequestedThenDone", func(t *testing.T) {
		s := setup(t, newStore)
		var hostID, first, second int64
		inTx(t, s, func(tx store.Tx, f *factory) error {
			hostID = f.Host(f.Contributor().ID).ID
			var err error
			if first, err = tx.ClawbackInsert(f.ctx, store.Clawback{HostID: hostID, Reason: "auto", RequestedAt: t0}); err != nil {
				return err
			}
			second, err = tx.ClawbackInsert(f.ctx, store.Clawback{HostID: hostID, Since: t0.Add(-time.Hour), Reason: "operator", RequestedAt: t0})
			return err
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			pending, err := tx.ClawbackListPending(f.ctx, 10)
			if err != nil {
				return err
			}
			if len(pending) != 2 || pending[0].ID != first || !pending[0].Since.IsZero() || pending[1].Since != t0.Add(-time.Hour) {
				t.Errorf("pending = %+v, want both, oldest first", pending)
			}
			done := pending[0]
			done.DoneAt, done.Since, done.TasksInvalidated, done.UnitsReopened, done.UnitsFailed, done.AmountMicros = t0.Add(time.Minute), t0.Add(-2*time.Hour), 3, 1, 1, 2000
			return tx.ClawbackFinish(f.ctx, done)
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			pending, err := tx.ClawbackListPending(f.ctx, 10)
			if err != nil {
				return err
			}
			if len(pending) != 1 || pending[0].ID != second {
				t.Errorf("pending after one is done = %+v, want only %d", pending, second)
			}
			list, err := tx.ClawbackList(f.ctx, hostID)
			if err != nil {
				return err
			}
			want := store.Clawback{ID: first, HostID: hostID, Since: t0.Add(-2 * time.Hour), Reason: "auto", RequestedAt: t0,
				DoneAt: t0.Add(time.Minute), TasksInvalidated: 3, UnitsReopened: 1, UnitsFailed: 1, AmountMicros: 2000}
			if len(list) != 2 || list[0].ID != second || list[1] != want {
				t.Errorf("list = %+v, want newest first, the done one %+v", list, want)
			}
			return nil
		})
	})
}
