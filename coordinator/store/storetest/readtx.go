package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testInReadTx(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("RefusesWrites", func(t *testing.T) {
		s := setup(t, newStore)
		err := s.InReadTx(t.Context(), func(tx store.Tx) error {
			_, err := tx.ProjectInsert(t.Context(), store.ProjectInsertParams{Name: "p", KeyHash: "written", Now: t0})
			return err
		})
		if err == nil {
			t.Errorf("ProjectInsert in a read-only transaction succeeded")
		}
		err = s.InTx(t.Context(), func(tx store.Tx) error {
			_, err := tx.ProjectGetByKeyHash(t.Context(), "written")
			return err
		})
		wantCode(t, err, workunits.ENOTFOUND)
	})

	// A read-only transaction answers while a writer holds rows and has not
	// committed: it sees what was committed, and the rows the writer has
	// claimed too, since it claims none itself.
	t.Run("NeitherWaitsNorLocks", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		var idle workunits.Job
		inTx(t, s, func(tx store.Tx, f *factory) error {
			h := f.Host(f.Contributor().ID)
			job = f.Job(jobSpec{})
			f.UpdateTasks(leased(job.Tasks[0][0], h.ID, t0))
			idle = f.BareJob() // nothing to do: finishable
			return nil
		})
		due := t0.Add(time.Hour)
		claimed, release, writerDone := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			writerDone <- s.InTx(t.Context(), func(tx store.Tx) error {
				units, err := tx.TaskUnitsOverdue(t.Context(), due, 10)
				if err != nil {
					return err
				}
				jobs, err := tx.JobListFinishable(t.Context(), []int64{idle.ID})
				if err != nil {
					return err
				}
				if !slices.Equal(units, job.UnitIDs()) || !slices.Equal(jobs, []int64{idle.ID}) {
					t.Errorf("the writer claimed units %v and jobs %v, want %v and [%d]", units, jobs, job.UnitIDs(), idle.ID)
				}
				if _, err := tx.ProjectInsert(t.Context(), store.ProjectInsertParams{Name: "p", KeyHash: "uncommitted", Now: t0}); err != nil {
					return err
				}
				close(claimed)
				<-release
				return nil
			})
		}()
		select {
		case <-claimed:
		case err := <-writerDone:
			t.Fatalf("writer: %v", err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		err := s.InReadTx(ctx, func(tx store.Tx) error {
			units, err := tx.TaskUnitsOverdue(ctx, due, 10)
			if err != nil {
				return err
			}
			if !slices.Equal(units, job.UnitIDs()) {
				t.Errorf("TaskUnitsOverdue = %v, want the unit the writer holds %v", units, job.UnitIDs())
			}
			jobs, err := tx.JobListFinishable(ctx, []int64{idle.ID})
			if err != nil {
				return err
			}
			if !slices.Equal(jobs, []int64{idle.ID}) {
				t.Errorf("JobListFinishable = %v, want the job the writer holds [%d]", jobs, idle.ID)
			}
			_, err = tx.ProjectGetByKeyHash(ctx, "uncommitted")
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		})
		close(release)
		if err != nil {
			t.Errorf("InReadTx while a writer is open: %v", err)
		}
		if err := <-writerDone; err != nil {
			t.Fatalf("writer: %v", err)
		}
	})
}
