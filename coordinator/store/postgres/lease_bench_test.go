package postgres

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/coordinator/store/postgres/pgtest"
	"github.com/nightshift-platform/nightshift/workunits"
)

// leaseBatch is what one benchmarked lease asks for.
const leaseBatch = 16

// BenchmarkTaskLease times one lease transaction of leaseBatch tasks, with
// one project or three with work, serially and from several goroutines at
// once (as several coordinators on one database would).
//
//	go test ./coordinator/store/postgres/ -bench Lease -run '^$'
func BenchmarkTaskLease(b *testing.B) {
	for _, projects := range []int{1, 3} {
		for _, parallel := range []bool{false, true} {
			b.Run(fmt.Sprintf("projects=%d/parallel=%v", projects, parallel), func(b *testing.B) {
				benchLease(b, projects, parallel)
			})
		}
	}
}

func benchLease(b *testing.B, projects int, parallel bool) {
	ctx := b.Context()
	cfg, err := pgxpool.ParseConfig(pgtest.NewSchema(b))
	if err != nil {
		b.Fatal(err)
	}
	s, err := openConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })

	// Enough work that no lease comes back short: every host is its own
	// contributor, and each unit has one replica.
	const hosts = 32
	units := (b.N*leaseBatch)/projects + leaseBatch*hosts
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	hostIDs := make([]int64, hosts)
	if err := s.InTx(ctx, func(tx store.Tx) error {
		for i := range hostIDs {
			key := fmt.Sprintf("c%d", i)
			c, err := tx.ContributorInsert(ctx, store.ContributorInsertParams{Name: key, KeyHash: key, Now: now})
			if err != nil {
				return err
			}
			h, err := tx.HostInsert(ctx, store.HostInsertParams{ContributorID: c.ID, Name: key, Platform: "linux/amd64",
				Cores: 1, TokenHash: key, Now: now})
			if err != nil {
				return err
			}
			hostIDs[i] = h.ID
		}
		if err := tx.BlobPut(ctx, "m", []byte("module")); err != nil {
			return err
		}
		policy := workunits.DefaultPolicy
		policy.TargetReplicas, policy.MinQuorum = 1, 1
		for p := range projects {
			key := fmt.Sprintf("p%d", p)
			pr, err := tx.ProjectInsert(ctx, store.ProjectInsertParams{Name: key, KeyHash: key, Now: now})
			if err != nil {
				return err
			}
			v, err := tx.AppVersionInsert(ctx, store.AppVersionInsertParams{ProjectID: pr.ID, AppName: "sim", ModuleSHA256: "m", Now: now})
			if err != nil {
				return err
			}
			j, err := tx.JobInsert(ctx, workunits.Job{ProjectID: pr.ID, AppVersionID: v.ID, Policy: policy,
				State: workunits.JobActive, UnitCount: units, CreatedAt: now})
			if err != nil {
				return err
			}
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
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}

	lease := func(host int64) {
		var got []store.Lease
		if err := s.InTx(ctx, func(tx store.Tx) (err error) {
			got, err = tx.TaskLease(ctx, store.TaskLeaseParams{HostID: host, Max: leaseBatch, Now: now})
			return err
		}); err != nil {
			b.Fatal(err)
		}
		if len(got) != leaseBatch {
			b.Fatalf("leased %d tasks, want %d", len(got), leaseBatch)
		}
	}
	b.ResetTimer()
	if !parallel {
		for i := range b.N {
			lease(hostIDs[i%hosts])
		}
		return
	}
	next := make(chan int64, hosts)
	for _, h := range hostIDs {
		next <- h
	}
	b.SetParallelism(2) // 2 × GOMAXPROCS goroutines, each with its own host
	b.RunParallel(func(pb *testing.PB) {
		host := <-next
		for pb.Next() {
			lease(host)
		}
	})
}
