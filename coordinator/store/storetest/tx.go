package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testInTx(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("RollbackOnError", func(t *testing.T) {
		s := setup(t, newStore)
		tests := []struct {
			name string
			err  error
		}{
			{"PlainError", errors.New("boom")},
			{"CodedError", workunits.Errorf(workunits.ECONFLICT, "clash")},
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				key := fmt.Sprintf("rolled-back-%d", i)
				blob := []byte(key)
				var p workunits.Project
				err := s.InTx(t.Context(), func(tx store.Tx) (err error) {
					if p, err = tx.ProjectInsert(t.Context(), store.ProjectInsertParams{Name: "gone", KeyHash: key, Now: t0}); err != nil {
						return err
					}
					if err := tx.BlobPut(t.Context(), workunits.Hash(blob), blob); err != nil {
						return err
					}
					if _, err := store.LedgerRecord(t.Context(), tx, payouts.Fund(p.ID, 100, key), t0); err != nil {
						return err
					}
					return tt.err
				})
				if !errors.Is(err, tt.err) {
					t.Errorf("InTx = %v, want fn's error %v", err, tt.err)
				}
				if got, want := workunits.ErrorCode(err), workunits.ErrorCode(tt.err); got != want {
					t.Errorf("InTx error code = %q, want fn's %q", got, want)
				}
				lookups := []struct {
					name string
					get  func(store.Tx) error
				}{
					{"ProjectGet", func(tx store.Tx) error { _, err := tx.ProjectGet(t.Context(), p.ID); return err }},
					{"ProjectGetByKeyHash", func(tx store.Tx) error { _, err := tx.ProjectGetByKeyHash(t.Context(), key); return err }},
					{"BlobGet", func(tx store.Tx) error { _, err := tx.BlobGet(t.Context(), workunits.Hash(blob)); return err }},
				}
				for _, l := range lookups {
					err := s.InTx(t.Context(), l.get)
					if workunits.ErrorCode(err) != workunits.ENOTFOUND {
						t.Errorf("%s after rollback: error %v, want %q", l.name, err, workunits.ENOTFOUND)
					}
				}
				wantAudit(t, s, 0, 0)
			})
		}
	})

	// A panic in fn must not leave the transaction open: a store with one
	// writer would wait on it forever, and recovering middleware keeps the
	// process alive to notice.
	t.Run("PanicRollsBack", func(t *testing.T) {
		s := setup(t, newStore)
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("recovered %v, want fn's panic to reach the caller", r)
				}
			}()
			_ = s.InTx(t.Context(), func(tx store.Tx) error {
				if _, err := tx.ProjectInsert(t.Context(), store.ProjectInsertParams{Name: "p", KeyHash: "panicked", Now: t0}); err != nil {
					return err
				}
				panic("boom")
			})
		}()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		err := s.InTx(ctx, func(tx store.Tx) error {
			_, err := tx.ProjectGetByKeyHash(ctx, "panicked")
			if workunits.ErrorCode(err) != workunits.ENOTFOUND {
				t.Errorf("project inserted before the panic: lookup error %v, want %q", err, workunits.ENOTFOUND)
			}
			return nil
		})
		if err != nil {
			t.Errorf("InTx after a panicking transaction: %v; want the store usable, the panicked transaction rolled back", err)
		}
	})

	t.Run("ConcurrentTransfers", func(t *testing.T) {
		s := setup(t, newStore)
		const goroutines, each, funds = 8, 20, 100
		budget := payouts.ProjectBudget(1)
		if _, err := record(t, s, payouts.Fund(1, funds, "r1")); err != nil {
			t.Fatal(err)
		}
		var (
			mu                 sync.Mutex
			paid, insufficient int
			wg                 sync.WaitGroup
		)
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					lt := payouts.Transaction{Key: fmt.Sprintf("pay:%d:%d", g, i), Entries: []payouts.Entry{
						entry(budget, -1), entry(payouts.ContributorAvailable(int64(g)), 1)}}
					var ok bool
					err := s.InTx(t.Context(), func(tx store.Tx) (err error) {
						ok, err = store.LedgerRecord(t.Context(), tx, lt, t0)
						return err
					})
					mu.Lock()
					switch {
					case err == nil && ok:
						paid++
					case workunits.ErrorCode(err) == workunits.EINSUFFICIENT:
						insufficient++
					default:
						t.Errorf("LedgerRecord(%s) = %v, %v; want true or %q", lt.Key, ok, err, workunits.EINSUFFICIENT)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if paid != funds || insufficient != goroutines*each-funds {
			t.Errorf("%d transfers recorded and %d refused, want %d and %d", paid, insufficient, funds, goroutines*each-funds)
		}
		var sum int64
		inTx(t, s, func(tx store.Tx, f *factory) error {
			for g := range goroutines {
				b, err := tx.LedgerBalance(t.Context(), payouts.ContributorAvailable(int64(g)))
				if err != nil {
					return err
				}
				sum += b
			}
			return nil
		})
		if sum != funds {
			t.Errorf("contributors hold %d in total, want %d", sum, funds)
		}
		wantBalances(t, s, map[payouts.Account]int64{budget: 0})
		wantAudit(t, s, 1+funds, 2*(1+funds))
	})

	t.Run("ConcurrentSameKeys", func(t *testing.T) {
		s := setup(t, newStore)
		const goroutines, tasks, reward = 8, 20, 10
		const project, job = 1, 1
		for _, lt := range []payouts.Transaction{payouts.Fund(project, 1000, "r1"), payouts.Escrow(job, project, 1000)} {
			if _, err := record(t, s, lt); err != nil {
				t.Fatal(err)
			}
		}
		var (
			mu       sync.Mutex
			recorded = map[int64]int{}
			wg       sync.WaitGroup
		)
		for range goroutines {
			wg.Go(func() {
				for task := range int64(tasks) {
					var ok bool
					err := s.InTx(t.Context(), func(tx store.Tx) (err error) {
						ok, err = store.LedgerRecord(t.Context(), tx, payouts.Reserve(task, job, task%3, reward), t0)
						return err
					})
					if err != nil {
						t.Errorf("paying task %d: %v", task, err)
					}
					if ok {
						mu.Lock()
						recorded[task]++
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		for task := range int64(tasks) {
			if recorded[task] != 1 {
				t.Errorf("task %d was paid %d times, want once", task, recorded[task])
			}
		}
		wantBalances(t, s, map[payouts.Account]int64{payouts.JobEscrow(job): 1000 - tasks*reward,
			payouts.ContributorPending(0): 7 * reward, payouts.ContributorPending(1): 7 * reward, payouts.ContributorPending(2): 6 * reward})
		wantAudit(t, s, 2+tasks, 2*(2+tasks))
	})

	t.Run("ConcurrentLease", func(t *testing.T) {
		s := setup(t, newStore)
		const hosts, units, replicas, max = 10, 50, 2, 3
		var job jobFixture
		var hs []workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			for range hosts {
				hs = append(hs, f.Host(f.Contributor().ID))
			}
			job = f.Job(jobSpec{Units: units, Policy: workunits.Policy{MinQuorum: replicas, TargetReplicas: replicas}})
			return nil
		})
		var (
			mu     sync.Mutex
			byHost = map[int64][]store.Lease{}
			wg     sync.WaitGroup
		)
		for _, h := range hs {
			wg.Go(func() {
				// A host asks until nothing is left for it; tasks only ever
				// leave the unsent pool, so nothing can turn up later.
				for {
					var ls []store.Lease
					err := s.InTx(t.Context(), func(tx store.Tx) (err error) {
						ls, err = tx.TaskLease(t.Context(), store.TaskLeaseParams{HostID: h.ID, Max: max, Now: t0})
						return err
					})
					if err != nil {
						t.Errorf("host %d: TaskLease: %v", h.ID, err)
						return
					}
					if len(ls) > max {
						t.Errorf("host %d leased %d tasks with Max %d", h.ID, len(ls), max)
					}
					if len(ls) == 0 {
						return
					}
					mu.Lock()
					byHost[h.ID] = append(byHost[h.ID], ls...)
					mu.Unlock()
				}
			})
		}
		wg.Wait()

		holder := map[int64]int64{} // task → host
		for h, ls := range byHost {
			leasedUnits(t, ls)
			for _, l := range ls {
				if other, ok := holder[l.TaskID]; ok {
					t.Errorf("task %d leased to hosts %d and %d", l.TaskID, other, h)
				}
				holder[l.TaskID] = h
			}
		}
		if len(holder) != units*replicas {
			t.Errorf("%d tasks leased, want all %d", len(holder), units*replicas)
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			tasks, err := tx.TaskListByUnits(t.Context(), job.UnitIDs())
			for _, tk := range tasks {
				if tk.State != workunits.TaskInProgress || tk.HostID != holder[tk.ID] {
					t.Errorf("task %d is %q on host %d, want %q on host %d", tk.ID, tk.State, tk.HostID,
						workunits.TaskInProgress, holder[tk.ID])
				}
			}
			return err
		})
	})
}
