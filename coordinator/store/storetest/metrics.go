package storetest

import (
	"maps"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// testMetrics checks the platform-wide totals a metrics scrape reads.
func testMetrics(t *testing.T, newStore func(*testing.T) store.Store) {
	s := setup(t, newStore)
	var projectID, jobID int64
	inTx(t, s, func(tx store.Tx, f *factory) error {
		job := f.Job(jobSpec{Units: 3})
		projectID, jobID = job.Job.ProjectID, job.Job.ID
		done := job.Units[0]
		done.State = workunits.UnitDone
		f.UpdateUnits(done)
		for _, txn := range []payouts.Transaction{payouts.Fund(projectID, 10_000, "m1"), payouts.Escrow(jobID, projectID, 6_000)} {
			if _, err := store.LedgerRecord(t.Context(), tx, txn, t0); err != nil {
				return err
			}
		}
		return nil
	})
	var units map[workunits.UnitState]int64
	var ledger map[string]int64
	if err := s.InReadTx(t.Context(), func(tx store.Tx) (err error) {
		if units, err = tx.UnitCountByState(t.Context()); err != nil {
			return err
		}
		ledger, err = tx.LedgerTotalByKind(t.Context())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if want := map[workunits.UnitState]int64{workunits.UnitDone: 1, workunits.UnitOpen: 2}; !maps.Equal(units, want) {
		t.Errorf("UnitCountByState = %v, want %v", units, want)
	}
	want := map[string]int64{"external_funding": -10_000, "project_budget": 4_000, "job_escrow": 6_000}
	for kind, v := range want {
		if ledger[kind] != v {
			t.Errorf("LedgerTotalByKind[%s] = %d, want %d (all: %v)", kind, ledger[kind], v, ledger)
		}
	}
	var sum int64
	for _, v := range ledger {
		sum += v
	}
	if sum != 0 {
		t.Errorf("ledger totals %v sum to %d, want 0: every transaction balances", ledger, sum)
	}
}
