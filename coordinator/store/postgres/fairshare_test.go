package postgres

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// TestFairShareAcrossCoordinators: several coordinators on one database
// lease at once from two projects with shares 3:1. No task goes out twice,
// none is lost, and the split follows the shares.
func TestFairShareAcrossCoordinators(t *testing.T) {
	ctx := t.Context()
	cfg := newSchema(t)
	const coordinators, hostsEach, units = 3, 4, 400
	stores := make([]*Store, coordinators)
	for i := range stores {
		stores[i] = openIn(t, cfg.Copy())
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	var hosts []int64
	projectOf := map[int64]int64{}
	var big, small int64
	if err := stores[0].InTx(ctx, func(tx store.Tx) error {
		for i := range coordinators * hostsEach {
			key := fmt.Sprintf("c%d", i)
			c, err := tx.ContributorInsert(ctx, store.ContributorInsertParams{Name: key, KeyHash: key, Now: now})
			if err != nil {
				return err
			}
			h, err := tx.HostInsert(ctx, store.HostInsertParams{ContributorID: c.ID, Name: key, Platform: "test", Cores: 1, TokenHash: key, Now: now})
			if err != nil {
				return err
			}
			hosts = append(hosts, h.ID)
		}
		if err := tx.BlobPut(ctx, "m", []byte("module")); err != nil {
			return err
		}
		for i, share := range []int{300, 100} {
			key := fmt.Sprintf("p%d", i)
			p, err := tx.ProjectInsert(ctx, store.ProjectInsertParams{Name: key, KeyHash: key, Now: now, Share: share})
			if err != nil {
				return err
			}
			if share == 300 {
				big = p.ID
			} else {
				small = p.ID
			}
			v, err := tx.AppVersionInsert(ctx, store.AppVersionInsertParams{ProjectID: p.ID, AppName: "sim", ModuleSHA256: "m", Now: now})
			if err != nil {
				return err
			}
			j, err := tx.JobInsert(ctx, workunits.Job{ProjectID: p.ID, AppVersionID: v.ID,
				Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}.WithDefaults(), State: workunits.JobActive, UnitCount: units, CreatedAt: now})
			if err != nil {
				return err
			}
			projectOf[j.ID] = p.ID
			inputs := make([][]byte, units)
			for i := range inputs {
				inputs[i] = []byte("in")
			}
			us, err := tx.UnitInsertMany(ctx, j.ID, inputs)
			if err != nil {
				return err
			}
			ids := make([]int64, len(us))
			for i, u := range us {
				ids[i] = u.ID
			}
			if err := tx.TaskInsertMany(ctx, ids, now); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// 12 hosts × 10 leases × 3 tasks = 360 of the 800 tasks, so both
	// projects have work throughout.
	const rounds, batch = 10, 3
	var mu sync.Mutex
	seen := map[int64]int64{} // task → host
	perProject := map[int64]int{}
	var wg sync.WaitGroup
	for i, h := range hosts {
		s := stores[i%coordinators]
		wg.Go(func() {
			for range rounds {
				var ls []store.Lease
				if err := s.InTx(ctx, func(tx store.Tx) (err error) {
					ls, err = tx.TaskLease(ctx, store.TaskLeaseParams{HostID: h, Max: batch, Now: now})
					return err
				}); err != nil {
					t.Errorf("host %d: %v", h, err)
					return
				}
				mu.Lock()
				for _, l := range ls {
					if other, dup := seen[l.TaskID]; dup {
						t.Errorf("task %d leased to hosts %d and %d", l.TaskID, other, h)
					}
					seen[l.TaskID] = h
					perProject[projectOf[l.JobID]]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total := perProject[big] + perProject[small]
	if total != len(hosts)*rounds*batch {
		t.Errorf("leased %d tasks, want %d", total, len(hosts)*rounds*batch)
	}
	// Concurrent leases may read the same passes and both serve the
	// project behind, so allow some slack around 3:1 (270 of 360).
	if want := total * 3 / 4; perProject[big] < want-total/20 || perProject[big] > want+total/20 {
		t.Errorf("share 300 project got %d of %d tasks, share 100 project %d; want about %d", perProject[big], total, perProject[small], want)
	}
	var inProgress int
	if err := stores[0].pool.QueryRow(ctx, `SELECT count(*) FROM tasks WHERE state = 'in_progress'`).Scan(&inProgress); err != nil {
		t.Fatal(err)
	}
	if inProgress != total {
		t.Errorf("%d tasks in progress, want the %d leased", inProgress, total)
	}
}
