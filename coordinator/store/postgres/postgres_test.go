package postgres

import (
	"fmt"
	"io/fs"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/coordinator/store/postgres/pgtest"
	"github.com/nightshift-platform/nightshift/coordinator/store/storetest"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// newSchema returns a pool config working in a fresh schema of its own.
func newSchema(t *testing.T) *pgxpool.Config {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(pgtest.NewSchema(t))
	if err != nil {
		t.Fatalf("parsing the test database URL: %v", err)
	}
	return cfg
}

// openIn opens a store on cfg and closes it when the test ends, before its
// schema is dropped.
func openIn(t *testing.T, cfg *pgxpool.Config) *Store {
	t.Helper()
	s, err := openConfig(t.Context(), cfg)
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	pgtest.ServerURL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return openIn(t, newSchema(t))
	})
}

// migrationsApplied reads schema_migrations: name → applied_at.
func migrationsApplied(t *testing.T, s *Store) map[string]time.Time {
	t.Helper()
	rows, err := s.pool.Query(t.Context(), `SELECT name, applied_at FROM schema_migrations`)
	if err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	applied := map[string]time.Time{}
	var name string
	var at time.Time
	if _, err := pgx.ForEachRow(rows, []any{&name, &at}, func() error {
		applied[name] = at
		return nil
	}); err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	return applied
}

func embeddedMigrations(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestConcurrentOpen starts coordinators at once on one empty schema: each
// must come up, and each migration be applied once.
func TestConcurrentOpen(t *testing.T) {
	cfg := newSchema(t)
	const coordinators = 4
	stores := make([]*Store, coordinators)
	errs := make([]error, coordinators)
	var wg sync.WaitGroup
	for i := range coordinators {
		wg.Go(func() { stores[i], errs[i] = openConfig(t.Context(), cfg.Copy()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open #%d: %v", i, err)
			continue
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	if t.Failed() {
		return
	}
	if applied := migrationsApplied(t, stores[0]); len(applied) != len(embeddedMigrations(t)) {
		t.Errorf("schema_migrations = %v, want each of the %d embedded migrations once", applied, len(embeddedMigrations(t)))
	}
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	cfg := newSchema(t)
	s, err := openConfig(ctx, cfg.Copy())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	if err := s.InTx(ctx, func(tx store.Tx) error {
		p, err := tx.ProjectInsert(ctx, store.ProjectInsertParams{Name: "kept", KeyHash: "kh", Now: now})
		if err != nil {
			return err
		}
		_, err = store.LedgerRecord(ctx, tx, payouts.Fund(p.ID, 500, "r1"), now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before := migrationsApplied(t, s)
	_ = s.Close()

	// Applying a migration twice would fail (CREATE TABLE) or, for an
	// idempotent one, record a new applied_at.
	s = openIn(t, cfg.Copy())
	if after := migrationsApplied(t, s); !maps.Equal(after, before) {
		t.Errorf("schema_migrations after reopening = %v, want unchanged %v", after, before)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error {
		got, err := tx.ProjectGetByKeyHash(ctx, "kh")
		if err != nil {
			return err
		}
		if got.Name != "kept" {
			t.Errorf("project after reopening = %+v, want the one inserted", got)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestLedgerAppendOnly checks that the schema itself refuses to rewrite
// history, whatever code reaches the database.
func TestLedgerAppendOnly(t *testing.T) {
	s := openIn(t, newSchema(t))
	storetest.LedgerAppendOnly(t, s, func(tx store.Tx, sql string) error {
		_, err := tx.(*Tx).tx.Exec(t.Context(), sql)
		return err
	}, map[string]string{
		"UpdateEntry":          `UPDATE ledger_entries SET amount = amount * 2`,
		"DeleteEntry":          `DELETE FROM ledger_entries`,
		"TruncateEntries":      `TRUNCATE ledger_entries`,
		"UpdateTransaction":    `UPDATE ledger_transactions SET key = 'forged'`,
		"DeleteTransaction":    `DELETE FROM ledger_transactions`,
		"TruncateTransactions": `TRUNCATE ledger_transactions CASCADE`,
		"UpdateNoRows":         `UPDATE ledger_entries SET amount = 0 WHERE false`,
	})
}

// leaseFixture is one unit with two unsent replicas, and one host for each
// of the given contributors (indexes into a list of new contributors).
func leaseFixture(t *testing.T, s *Store, contributorOfHost ...int) []int64 {
	t.Helper()
	ctx := t.Context()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	hosts := make([]int64, len(contributorOfHost))
	if err := s.InTx(ctx, func(tx store.Tx) error {
		contributors := map[int]int64{}
		for i, ci := range contributorOfHost {
			if _, ok := contributors[ci]; !ok {
				key := fmt.Sprintf("contributor %d", ci)
				c, err := tx.ContributorInsert(ctx, store.ContributorInsertParams{Name: key, KeyHash: key, Now: now})
				if err != nil {
					return err
				}
				contributors[ci] = c.ID
			}
			key := fmt.Sprintf("host %d", i)
			h, err := tx.HostInsert(ctx, store.HostInsertParams{ContributorID: contributors[ci], Name: key,
				Platform: "linux/amd64", Cores: 1, TokenHash: key, Now: now})
			if err != nil {
				return err
			}
			hosts[i] = h.ID
		}
		p, err := tx.ProjectInsert(ctx, store.ProjectInsertParams{Name: "p", KeyHash: "p", Now: now})
		if err != nil {
			return err
		}
		if err := tx.BlobPut(ctx, "m", []byte("module")); err != nil {
			return err
		}
		v, err := tx.AppVersionInsert(ctx, store.AppVersionInsertParams{ProjectID: p.ID, AppName: "sim", ModuleSHA256: "m", Now: now})
		if err != nil {
			return err
		}
		j, err := tx.JobInsert(ctx, workunits.Job{ProjectID: p.ID, AppVersionID: v.ID, Policy: workunits.DefaultPolicy,
			State: workunits.JobActive, UnitCount: 1, CreatedAt: now})
		if err != nil {
			return err
		}
		units, err := tx.UnitInsertMany(ctx, j.ID, [][]byte{[]byte("in")})
		if err != nil {
			return err
		}
		return tx.TaskInsertMany(ctx, []int64{units[0].ID, units[0].ID}, now)
	}); err != nil {
		t.Fatal(err)
	}
	return hosts
}

// leaseWhileHeld leases to first in a transaction it keeps open while
// second leases, with up to wait for second's lease to return, and returns
// what each got.
func leaseWhileHeld(t *testing.T, s *Store, first, second int64, wait time.Duration) (held, meanwhile []store.Lease, secondReturned bool) {
	t.Helper()
	ctx := t.Context()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	lease := func(host int64, ls *[]store.Lease) func(store.Tx) error {
		return func(tx store.Tx) (err error) {
			*ls, err = tx.TaskLease(ctx, store.TaskLeaseParams{HostID: host, Max: 5, Now: now})
			return err
		}
	}
	leased, release, firstDone, secondDone := make(chan struct{}), make(chan struct{}), make(chan error, 1), make(chan error, 1)
	go func() {
		firstDone <- s.InTx(ctx, func(tx store.Tx) error {
			err := lease(first, &held)(tx)
			close(leased)
			<-release
			return err
		})
	}()
	<-leased
	go func() { secondDone <- s.InTx(ctx, lease(second, &meanwhile)) }()
	var err error
	select {
	case err = <-secondDone:
		secondReturned = true
	case <-time.After(wait):
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatalf("first lease: %v", err)
	}
	if !secondReturned {
		err = <-secondDone
	}
	if err != nil {
		t.Fatalf("second lease: %v", err)
	}
	return held, meanwhile, secondReturned
}

// TestLeaseSkipsLockedReplica: while one host's lease is open, another
// contributor's host neither waits for it nor goes without: it gets the
// unit's other replica.
func TestLeaseSkipsLockedReplica(t *testing.T) {
	s := openIn(t, newSchema(t))
	hosts := leaseFixture(t, s, 0, 1)
	held, meanwhile, returned := leaseWhileHeld(t, s, hosts[0], hosts[1], 5*time.Second)
	if !returned {
		t.Errorf("the second host's lease waited for the first's transaction")
	}
	if len(held) != 1 || len(meanwhile) != 1 || held[0].UnitID != meanwhile[0].UnitID || held[0].TaskID == meanwhile[0].TaskID {
		t.Errorf("leases = %+v and %+v, want one replica of the unit each", held, meanwhile)
	}
}

// TestLeaseSameContributorWaits: while one host's lease is open, a second
// host of the same contributor must not take the unit's other replica; it
// waits, then finds the first host's lease and gets nothing.
func TestLeaseSameContributorWaits(t *testing.T) {
	s := openIn(t, newSchema(t))
	hosts := leaseFixture(t, s, 0, 0)
	held, meanwhile, returned := leaseWhileHeld(t, s, hosts[0], hosts[1], 200*time.Millisecond)
	if returned {
		t.Errorf("the second host's lease returned while the first's transaction was open; it must wait for it")
	}
	if len(held) != 1 || len(meanwhile) != 0 {
		t.Errorf("leases = %+v and %+v, want the unit's one replica to the first host and none to the second", held, meanwhile)
	}
}
