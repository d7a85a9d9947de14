package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
)

// LedgerAppendOnly checks that the schema itself refuses to rewrite the
// ledger, whatever code reaches the database: after one funding it runs
// each statement through exec (the driver's raw SQL) and expects the
// append-only trigger to refuse it, leaving the ledger as it was.
func LedgerAppendOnly(t *testing.T, s store.Store, exec func(tx store.Tx, sql string) error, statements map[string]string) {
	t.Helper()
	ctx := t.Context()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	if err := s.InTx(ctx, func(tx store.Tx) error {
		_, err := store.LedgerRecord(ctx, tx, payouts.Fund(1, 500, "r1"), now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for name, sql := range statements {
		t.Run(name, func(t *testing.T) {
			err := s.InTx(ctx, func(tx store.Tx) error { return exec(tx, sql) })
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s = %v, want the append-only trigger to refuse it", sql, err)
			}
		})
	}
	if err := s.InTx(ctx, func(tx store.Tx) error {
		a, err := tx.LedgerAudit(ctx)
		if err != nil {
			return err
		}
		if !a.Balanced() || a.Transactions != 1 || a.Entries != 2 {
			t.Errorf("LedgerAudit = %+v, want the one balanced transaction untouched", a)
		}
		b, err := tx.LedgerBalance(ctx, payouts.ProjectBudget(1))
		if err != nil {
			return err
		}
		if b != 500 {
			t.Errorf("budget = %d, want 500", b)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
