package sqlite

import (
	"io/fs"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/coordinator/store/storetest"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTemp(t, filepath.Join(t.TempDir(), "test.db"))
	})
}

// openTemp opens the database at path and closes it when the test ends.
func openTemp(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing %s: %v", path, err)
		}
	})
	return s
}

// migrationsApplied reads schema_migrations: name → applied_at.
func migrationsApplied(t *testing.T, s *Store) map[string]int64 {
	t.Helper()
	applied := map[string]int64{}
	rows, err := s.db.QueryContext(t.Context(), `SELECT name, applied_at FROM schema_migrations`)
	if err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var at int64
		if err := rows.Scan(&name, &at); err != nil {
			t.Fatalf("scanning schema_migrations: %v", err)
		}
		applied[name] = at
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	return applied
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "nightshift.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var p workunits.Project
	if err := s.InTx(ctx, func(tx store.Tx) (err error) {
		if p, err = tx.ProjectInsert(ctx, store.ProjectInsertParams{Name: "kept", KeyHash: "kh", Now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}); err != nil {
			return err
		}
		_, err = store.LedgerRecord(ctx, tx, payouts.Fund(p.ID, 500, "r1"), time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before := migrationsApplied(t, s)
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != len(names) {
		t.Errorf("%d migrations recorded, want all %d embedded: %v", len(before), len(names), before)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Applying a migration twice would fail (CREATE TABLE) or, for an
	// idempotent one, record a new applied_at.
	s = openTemp(t, path)
	if after := migrationsApplied(t, s); !maps.Equal(after, before) {
		t.Errorf("schema_migrations after reopening = %v, want unchanged %v", after, before)
	}
	if err := s.InTx(ctx, func(tx store.Tx) error {
		got, err := tx.ProjectGetByKeyHash(ctx, "kh")
		if err != nil {
			return err
		}
		if got.ID != p.ID || got.Name != "kept" {
			t.Errorf("project after reopening = %+v, want %+v", got, p)
		}
		b, err := tx.LedgerBalance(ctx, payouts.ProjectBudget(p.ID))
		if err != nil {
			return err
		}
		if b != 500 {
			t.Errorf("budget after reopening = %d, want 500", b)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestLedgerAppendOnly checks that the schema itself refuses to rewrite
// history, whatever code reaches the database.
func TestLedgerAppendOnly(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "test.db"))
	storetest.LedgerAppendOnly(t, s, func(tx store.Tx, sql string) error {
		_, err := tx.(*Tx).tx.ExecContext(t.Context(), sql)
		return err
	}, map[string]string{
		"UpdateEntry":       `UPDATE ledger_entries SET amount = amount * 2`,
		"DeleteEntry":       `DELETE FROM ledger_entries`,
		"UpdateTransaction": `UPDATE ledger_transactions SET key = 'forged'`,
		"DeleteTransaction": `DELETE FROM ledger_transactions`,
	})
}
