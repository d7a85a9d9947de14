package storetest

import (
	"slices"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// testLedgerMoney follows a contributor's money through its accounts:
// reserved, posted less a fee, clawed back into debt, held, settled and
// returned.
func testLedgerMoney(t *testing.T, newStore func(*testing.T) store.Store) {
	const project, job, ada = 7, 70, 1
	budget, escrow := payouts.ProjectBudget(project), payouts.JobEscrow(job)
	pending, available, inflight := payouts.ContributorPending(ada), payouts.ContributorAvailable(ada), payouts.ContributorInflight(ada)

	// setupPaid: ada was paid 100 for task 1, less nothing.
	setupPaid := func(t *testing.T) store.Store {
		s := setup(t, newStore)
		for _, lt := range []payouts.Transaction{payouts.Fund(project, 1000, "r1"), payouts.Escrow(job, project, 300),
			payouts.Reserve(1, job, ada, 100), payouts.Post(1, ada, 100, 0)} {
			if ok, err := record(t, s, lt); err != nil || !ok {
				t.Fatalf("LedgerRecord(%s) = %v, %v; want true, nil", lt.Key, ok, err)
			}
		}
		return s
	}

	t.Run("ReservePostVoid", func(t *testing.T) {
		s := setupPaid(t)
		for _, lt := range []payouts.Transaction{payouts.Reserve(2, job, ada, 100), payouts.Reserve(3, job, ada, 100),
			payouts.Post(2, ada, 100, 2), payouts.Void(3, job, ada, 100)} {
			if ok, err := record(t, s, lt); err != nil || !ok {
				t.Fatalf("LedgerRecord(%s) = %v, %v; want true, nil", lt.Key, ok, err)
			}
		}
		// A post without its reservation finds pending short.
		if _, err := record(t, s, payouts.Post(4, ada, 100, 0)); workunits.ErrorCode(err) != workunits.EINSUFFICIENT {
			t.Errorf("a post of an unreserved task: %v, want %s", err, workunits.EINSUFFICIENT)
		}
		wantBalances(t, s, map[payouts.Account]int64{escrow: 300 - 200, pending: 0, available: 100 + 98, payouts.PlatformFees: 2, budget: 700})
		wantAudit(t, s, 8, 17)
	})

	t.Run("Overdraft", func(t *testing.T) {
		s := setupPaid(t)
		// A clawback may take ada's available below zero: a debt.
		if ok, err := record(t, s, payouts.Clawback(1, ada, project, 150)); err != nil || !ok {
			t.Fatalf("a clawback into debt = %v, %v; want recorded", ok, err)
		}
		wantBalances(t, s, map[payouts.Account]int64{available: -50, budget: 850})
		wantAudit(t, s, 5, 10) // the debt is allowed

		refusals := []struct {
			name string
			tx   payouts.Transaction
		}{
			{"a hold out of debt", payouts.Hold(1, ada, 10)},
			{"an ordinary debit of a MayOwe account", payouts.Transaction{Key: "by-hand",
				Entries: []payouts.Entry{entry(available, -10), entry(budget, 10)}}},
			{"an overdraft of an account that may not owe", payouts.Transaction{Key: "escrow-overdraft", Overdraft: true,
				Entries: []payouts.Entry{entry(escrow, -1000), entry(budget, 1000)}}},
		}
		for _, r := range refusals {
			if _, err := record(t, s, r.tx); workunits.ErrorCode(err) != workunits.EINSUFFICIENT {
				t.Errorf("%s: %v, want %s", r.name, err, workunits.EINSUFFICIENT)
			}
		}
		// In one batch, a clawback's overdraft does not let a hold through;
		// recorded each on its own merits, the clawback is.
		var recorded []bool
		var refused []error
		inTx(t, s, func(tx store.Tx, f *factory) error {
			_, err := tx.LedgerRecordMany(t.Context(), []payouts.Transaction{payouts.Clawback(2, ada, project, 10), payouts.Hold(2, ada, 5)}, t0)
			if workunits.ErrorCode(err) != workunits.EINSUFFICIENT {
				t.Errorf("a clawback and a hold in one batch: %v, want %s", err, workunits.EINSUFFICIENT)
			}
			recorded, refused, err = store.LedgerRecordEach(t.Context(), tx,
				[]payouts.Transaction{payouts.Clawback(2, ada, project, 10), payouts.Hold(2, ada, 5)}, t0)
			return err
		})
		if !slices.Equal(recorded, []bool{true, false}) || refused[0] != nil || workunits.ErrorCode(refused[1]) != workunits.EINSUFFICIENT {
			t.Errorf("LedgerRecordEach = %v, %v; want the clawback recorded and the hold refused", recorded, refused)
		}
		// Later earnings repay the debt first.
		for _, lt := range []payouts.Transaction{payouts.Reserve(3, job, ada, 100), payouts.Post(3, ada, 100, 25)} {
			if _, err := record(t, s, lt); err != nil {
				t.Fatal(err)
			}
		}
		wantBalances(t, s, map[payouts.Account]int64{available: -60 + 75, payouts.PlatformFees: 25, budget: 860, pending: 0})
		wantAudit(t, s, 8, 17)
	})

	t.Run("PayoutAndAccountSum", func(t *testing.T) {
		s := setupPaid(t)
		for _, lt := range []payouts.Transaction{payouts.Hold(1, ada, 20), payouts.Settle(1, ada, 20),
			payouts.Hold(2, ada, 5), payouts.Return(2, ada, 5), payouts.Hold(3, ada, 30)} {
			if ok, err := record(t, s, lt); err != nil || !ok {
				t.Fatalf("LedgerRecord(%s) = %v, %v; want true, nil", lt.Key, ok, err)
			}
		}
		if _, err := record(t, s, payouts.Settle(4, ada, 31)); workunits.ErrorCode(err) != workunits.EINSUFFICIENT {
			t.Errorf("settling more than is in flight: %v, want %s", err, workunits.EINSUFFICIENT)
		}
		wantBalances(t, s, map[payouts.Account]int64{available: 100 - 20 - 30, inflight: 30, payouts.ExternalPayouts: 20})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			for prefix, want := range map[string]int64{"settle:": -20, "return:": -5, "payout:": 55, "": 30, "settle_": 0, "%": 0} {
				got, err := tx.LedgerAccountSum(t.Context(), inflight, prefix)
				if err != nil {
					return err
				}
				if got != want {
					t.Errorf("LedgerAccountSum(%s, %q) = %d, want %d", inflight, prefix, got, want)
				}
			}
			got, err := tx.LedgerAccountSum(t.Context(), payouts.ContributorInflight(2), "settle:")
			if err != nil || got != 0 {
				t.Errorf("LedgerAccountSum of an unused account = %d, %v; want 0", got, err)
			}
			return err
		})
		wantAudit(t, s, 9, 18)
	})
}
