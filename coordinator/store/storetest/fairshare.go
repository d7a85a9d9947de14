package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// fairJob inserts a job of the given priority and state with units units,
// one replica each, as a submission does.
func (f *factory) fairJob(projectID int64, priority int, state workunits.JobState, units int) workunits.Job {
	f.t.Helper()
	v := f.AppVersion(projectID, "sim")
	job, err := f.tx.JobInsert(f.ctx, workunits.Job{ProjectID: projectID, AppVersionID: v.ID,
		Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}.WithDefaults(), State: state,
		UnitCount: units, CreatedAt: t0, Priority: priority})
	f.fail("inserting job", err)
	inputs := make([][]byte, units)
	for i := range inputs {
		inputs[i] = unitInput(i)
	}
	us, err := f.tx.UnitInsertMany(f.ctx, job.ID, inputs)
	f.fail("inserting units", err)
	ids := make([]int64, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	f.fail("inserting tasks", f.tx.TaskInsertMany(f.ctx, ids, t0))
	return job
}

// sharedProject inserts a project with the given share.
func (f *factory) sharedProject(share int) workunits.Project {
	f.t.Helper()
	n := serial.Add(1)
	p, err := f.tx.ProjectInsert(f.ctx, store.ProjectInsertParams{Name: fmt.Sprintf("project %d", n),
		KeyHash: fmt.Sprintf("project-key-%d", n), Now: t0, Share: share})
	f.fail("inserting project", err)
	return p
}

// leasesByProject leases n times max tasks to host and counts them by
// project, given each job's project.
func leasesByProject(t *testing.T, s store.Store, host int64, n, max int, projectOf map[int64]int64) map[int64]int {
	t.Helper()
	got := map[int64]int{}
	for range n {
		for _, l := range lease(t, s, host, max, t0) {
			p, ok := projectOf[l.JobID]
			if !ok {
				t.Fatalf("leased task %d of job %d, which is not one of %v", l.TaskID, l.JobID, projectOf)
			}
			got[p]++
		}
	}
	return got
}

func testFairShare(t *testing.T, newStore func(*testing.T) store.Store) {
	// Two projects with shares 3:1 and plenty of work split the tasks 3:1,
	// however the leases are sized.
	t.Run("SplitByShare", func(t *testing.T) {
		for _, max := range []int{1, 4, 7} {
			t.Run(fmt.Sprintf("max=%d", max), func(t *testing.T) {
				s := setup(t, newStore)
				var host workunits.Host
				var big, small workunits.Project
				projectOf := map[int64]int64{}
				inTx(t, s, func(tx store.Tx, f *factory) error {
					host = f.Host(f.Contributor().ID)
					big, small = f.sharedProject(300), f.sharedProject(100)
					for _, p := range []workunits.Project{big, small} {
						for range 2 {
							projectOf[f.fairJob(p.ID, 0, workunits.JobActive, 150).ID] = p.ID
						}
					}
					return nil
				})
				rounds := 160 / max
				got := leasesByProject(t, s, host.ID, rounds, max, projectOf)
				total := got[big.ID] + got[small.ID]
				if total != rounds*max {
					t.Fatalf("leased %d tasks, want %d", total, rounds*max)
				}
				// Stride scheduling is exact but for one lease's worth.
				if want := total * 3 / 4; got[big.ID] < want-max || got[big.ID] > want+max {
					t.Errorf("share 300 project got %d of %d tasks, share 100 project %d; want 3:1 (%d) within %d",
						got[big.ID], total, got[small.ID], want, max)
				}
			})
		}
	})

	// Within a project: higher priority first, then the older job.
	t.Run("PriorityWithinProject", func(t *testing.T) {
		s := setup(t, newStore)
		var host workunits.Host
		var want []int64
		inTx(t, s, func(tx store.Tx, f *factory) error {
			host = f.Host(f.Contributor().ID)
			p := f.Project().ID
			low := f.fairJob(p, -5, workunits.JobActive, 2)
			mid1 := f.fairJob(p, 0, workunits.JobActive, 2)
			high := f.fairJob(p, 10, workunits.JobActive, 2)
			mid2 := f.fairJob(p, 0, workunits.JobActive, 2)
			want = []int64{high.ID, high.ID, mid1.ID, mid1.ID, mid2.ID, mid2.ID, low.ID, low.ID}
			return nil
		})
		var got []int64
		for range len(want) + 1 {
			for _, l := range lease(t, s, host.ID, 1, t0) {
				got = append(got, l.JobID)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("jobs leased in order %v, want %v (priority 10, then the two at 0 oldest first, then -5)", got, want)
		}
		// One lease takes across jobs in the same order.
		s = newStore(t)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			host = f.Host(f.Contributor().ID)
			p := f.Project().ID
			low := f.fairJob(p, -1, workunits.JobActive, 2)
			high := f.fairJob(p, 1, workunits.JobActive, 2)
			want = []int64{high.ID, high.ID, low.ID}
			return nil
		})
		got = got[:0]
		for _, l := range lease(t, s, host.ID, 3, t0) {
			got = append(got, l.JobID)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("a lease of 3 took jobs %v, want both tasks of the high-priority job and one of the other: %v", got, want)
		}
	})

	// A project with nothing to lease (no active job, only waiting or
	// finished ones, or only tasks this host may not take) does not hold
	// back another's work, whatever its share.
	t.Run("IdleProjectDoesNotBlock", func(t *testing.T) {
		s := setup(t, newStore)
		var host workunits.Host
		var busy workunits.Job
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Contributor()
			host = f.Host(c.ID)
			f.fairJob(f.sharedProject(workunits.MaxShare).ID, 0, workunits.JobWaiting, 5)
			done := f.fairJob(f.sharedProject(workunits.MaxShare).ID, 0, workunits.JobActive, 0)
			if err := tx.JobFinish(t.Context(), done.ID, t0); err != nil {
				return err
			}
			// Two replicas of one unit: once host has one, its project has
			// nothing more for this contributor.
			blocked := f.Job(jobSpec{ProjectID: f.sharedProject(workunits.MaxShare).ID,
				Policy: workunits.Policy{MinQuorum: 2, TargetReplicas: 2}})
			f.UpdateTasks(leased(blocked.Tasks[0][0], host.ID, t0.Add(time.Hour)))
			busy = f.fairJob(f.sharedProject(1).ID, 0, workunits.JobActive, 10)
			return nil
		})
		ls := lease(t, s, host.ID, 6, t0)
		if len(ls) != 6 {
			t.Fatalf("leased %d tasks, want 6 of the one project with work", len(ls))
		}
		for _, l := range ls {
			if l.JobID != busy.ID {
				t.Errorf("leased task %d of job %d, want only job %d's", l.TaskID, l.JobID, busy.ID)
			}
		}
	})

	// A waiting job's tasks are not leased until the job is activated.
	t.Run("WaitingNotLeased", func(t *testing.T) {
		s := setup(t, newStore)
		var host workunits.Host
		var waiting workunits.Job
		inTx(t, s, func(tx store.Tx, f *factory) error {
			host = f.Host(f.Contributor().ID)
			waiting = f.fairJob(f.Project().ID, 0, workunits.JobWaiting, 3)
			return nil
		})
		if ls := lease(t, s, host.ID, 5, t0); len(ls) != 0 {
			t.Fatalf("leased %+v of a waiting job, want nothing", ls)
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			return tx.JobActivateMany(t.Context(), []int64{waiting.ID, waiting.ID})
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			j, err := tx.JobGet(t.Context(), waiting.ID)
			if err == nil && j.State != workunits.JobActive {
				t.Errorf("activated job is %s, want active", j.State)
			}
			return err
		})
		if ls := lease(t, s, host.ID, 5, t0); len(ls) != 3 {
			t.Errorf("leased %d tasks after activation, want the job's 3", len(ls))
		}
	})

	// A project that starts work late joins at the others' pass: it gets
	// its share from then on, not everything until it has caught up.
	t.Run("NewProjectStartsAtMinimum", func(t *testing.T) {
		s := setup(t, newStore)
		var host workunits.Host
		projectOf := map[int64]int64{}
		var a, b workunits.Project
		inTx(t, s, func(tx store.Tx, f *factory) error {
			host = f.Host(f.Contributor().ID)
			a, b = f.sharedProject(100), f.sharedProject(100)
			projectOf[f.fairJob(a.ID, 0, workunits.JobActive, 200).ID] = a.ID
			projectOf[f.fairJob(b.ID, 0, workunits.JobActive, 200).ID] = b.ID
			return nil
		})
		leasesByProject(t, s, host.ID, 20, 5, projectOf)
		var late workunits.Project
		inTx(t, s, func(tx store.Tx, f *factory) error {
			late = f.sharedProject(100)
			projectOf[f.fairJob(late.ID, 0, workunits.JobActive, 100).ID] = late.ID
			return nil
		})
		got := leasesByProject(t, s, host.ID, 10, 3, projectOf)
		for _, p := range []workunits.Project{a, b, late} {
			if n := got[p.ID]; n < 10-3 || n > 10+3 {
				t.Errorf("after a third project joined, 30 tasks went %d/%d/%d; want about 10 each",
					got[a.ID], got[b.ID], got[late.ID])
				break
			}
		}
	})

	t.Run("ShareAndPriorityStored", func(t *testing.T) {
		s := setup(t, newStore)
		ctx := t.Context()
		inTx(t, s, func(tx store.Tx, f *factory) error {
			if p := f.Project(); p.Share != workunits.DefaultShare {
				t.Errorf("new project's share = %d, want the default %d", p.Share, workunits.DefaultShare)
			}
			p := f.sharedProject(7)
			if err := tx.ProjectShareSet(ctx, p.ID, 250); err != nil {
				return err
			}
			got, err := tx.ProjectGet(ctx, p.ID)
			if err != nil {
				return err
			}
			if got.Share != 250 {
				t.Errorf("share after ProjectShareSet(250) = %d", got.Share)
			}
			for _, bad := range []int{0, -3, workunits.MaxShare + 1} {
				if err := tx.ProjectShareSet(ctx, p.ID, bad); workunits.ErrorCode(err) != workunits.EINVALID {
					t.Errorf("ProjectShareSet(%d) = %v, want EINVALID", bad, err)
				}
			}
			if err := tx.ProjectShareSet(ctx, p.ID+1000, 5); workunits.ErrorCode(err) != workunits.ENOTFOUND {
				t.Errorf("ProjectShareSet of a missing project = %v, want ENOTFOUND", err)
			}
			j := f.fairJob(p.ID, -42, workunits.JobWaiting, 1)
			if got, err := tx.JobGet(ctx, j.ID); err != nil || got.Priority != -42 || got.State != workunits.JobWaiting {
				t.Errorf("JobGet = %+v, %v; want priority -42, waiting", got, err)
			}
			return nil
		})
	})

	// Waiting jobs are listed per project, highest priority, then oldest.
	t.Run("JobListWaiting", func(t *testing.T) {
		s := setup(t, newStore)
		ctx := t.Context()
		inTx(t, s, func(tx store.Tx, f *factory) error {
			p, other := f.Project().ID, f.Project().ID
			a := f.fairJob(p, 0, workunits.JobWaiting, 1)
			b := f.fairJob(p, 3, workunits.JobWaiting, 1)
			f.fairJob(p, 9, workunits.JobActive, 1)
			f.fairJob(other, 9, workunits.JobWaiting, 1)
			c := f.fairJob(p, 0, workunits.JobWaiting, 1)
			got, err := tx.JobListWaiting(ctx, p)
			if err != nil {
				return err
			}
			var ids []int64
			for _, j := range got {
				ids = append(ids, j.ID)
			}
			if want := []int64{b.ID, a.ID, c.ID}; !slices.Equal(ids, want) {
				t.Errorf("JobListWaiting = %v, want %v", ids, want)
			}
			return nil
		})
	})
}
