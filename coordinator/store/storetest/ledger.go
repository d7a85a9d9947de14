package storetest

import (
	"maps"
	"slices"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// record runs one LedgerRecord in its own transaction and returns what
// InTx returned, so a failed record is rolled back as callers do.
func record(t *testing.T, s store.Store, lt payouts.Transaction) (bool, error) {
	t.Helper()
	var recorded bool
	err := s.InTx(t.Context(), func(tx store.Tx) (err error) {
		recorded, err = store.LedgerRecord(t.Context(), tx, lt, t0)
		return err
	})
	return recorded, err
}

// wantBalances fails the test unless each account has the given balance.
func wantBalances(t *testing.T, s store.Store, want map[payouts.Account]int64) {
	t.Helper()
	inTx(t, s, func(tx store.Tx, f *factory) error {
		for acct, w := range want {
			got, err := tx.LedgerBalance(t.Context(), acct)
			if err != nil {
				return err
			}
			if got != w {
				t.Errorf("balance of %s = %d, want %d", acct, got, w)
			}
		}
		return nil
	})
}

// wantAudit fails the test unless the ledger is balanced and holds exactly
// the given number of transactions and entries.
func wantAudit(t *testing.T, s store.Store, transactions, entries int) {
	t.Helper()
	inTx(t, s, func(tx store.Tx, f *factory) error {
		a, err := tx.LedgerAudit(t.Context())
		if err != nil {
			return err
		}
		if !a.Balanced() || a.Sum != 0 || a.Transactions != transactions || a.Entries != entries {
			t.Errorf("LedgerAudit = %+v, want balanced with %d transactions and %d entries", a, transactions, entries)
		}
		return nil
	})
}

func entry(acct payouts.Account, amount int64) payouts.Entry {
	return payouts.Entry{Account: acct, Amount: amount}
}

func testLedger(t *testing.T, newStore func(*testing.T) store.Store) {
	const project, job = 7, 70
	budget, escrow := payouts.ProjectBudget(project), payouts.JobEscrow(job)

	t.Run("EmptyLedger", func(t *testing.T) {
		s := setup(t, newStore)
		wantAudit(t, s, 0, 0)
		wantBalances(t, s, map[payouts.Account]int64{budget: 0, payouts.ExternalFunding: 0})
	})

	t.Run("RecordOnce", func(t *testing.T) {
		s := setup(t, newStore)
		fund := payouts.Fund(project, 1_000_000, "request-1")
		if ok, err := record(t, s, fund); err != nil || !ok {
			t.Fatalf("first LedgerRecord = %v, %v; want true, nil", ok, err)
		}
		// Money from outside makes external:funding negative, and that is allowed.
		want := map[payouts.Account]int64{budget: 1_000_000, payouts.ExternalFunding: -1_000_000}
		wantBalances(t, s, want)

		// A retried request records nothing.
		if ok, err := record(t, s, fund); err != nil || ok {
			t.Errorf("LedgerRecord of a recorded key = %v, %v; want false, nil", ok, err)
		}
		// The same key with different entries is a conflict, not a retry.
		reused := payouts.Fund(project, 5_000_000, "request-1")
		if ok, err := record(t, s, reused); workunits.ErrorCode(err) != workunits.ECONFLICT || ok {
			t.Errorf("LedgerRecord of a reused key with another amount = %v, %v; want a conflict", ok, err)
		}
		wantBalances(t, s, want)
		wantAudit(t, s, 1, 2)
	})

	t.Run("RecordOnceInOneTx", func(t *testing.T) {
		s := setup(t, newStore)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			fund := payouts.Fund(project, 300, "request-1")
			for i, want := range []bool{true, false} {
				ok, err := store.LedgerRecord(t.Context(), tx, fund, t0)
				if err != nil {
					return err
				}
				if ok != want {
					t.Errorf("LedgerRecord #%d = %v, want %v", i+1, ok, want)
				}
			}
			return nil
		})
		wantBalances(t, s, map[payouts.Account]int64{budget: 300})
	})

	t.Run("ManyEntries", func(t *testing.T) {
		s := setup(t, newStore)
		c1, c2 := payouts.ContributorPending(1), payouts.ContributorPending(2)
		txs := []payouts.Transaction{
			payouts.Fund(project, 1000, "r1"),
			payouts.Escrow(job, project, 600),
			{Key: "split", Memo: "two rewards at once", Entries: []payouts.Entry{entry(escrow, -500), entry(c1, 300), entry(c2, 200)}},
			payouts.Release(job, project, 100),
		}
		for _, lt := range txs {
			if ok, err := record(t, s, lt); err != nil || !ok {
				t.Fatalf("LedgerRecord(%s) = %v, %v; want true, nil", lt.Key, ok, err)
			}
		}
		wantBalances(t, s, map[payouts.Account]int64{payouts.ExternalFunding: -1000, budget: 500, escrow: 0, c1: 300, c2: 200,
			payouts.ContributorAvailable(3): 0})
		wantAudit(t, s, 4, 9)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.LedgerBalanceMany(t.Context(), []payouts.Account{budget, escrow, c2, payouts.ContributorAvailable(3), c2})
			if err != nil {
				return err
			}
			// escrow is back to 0, contributor 3 never had an entry: either
			// may be absent.
			if want := map[payouts.Account]int64{budget: 500, c2: 200}; !maps.Equal(nonZero(got), want) {
				t.Errorf("LedgerBalanceMany = %v, want %v", got, want)
			}
			if got, err := tx.LedgerBalanceMany(t.Context(), nil); err != nil || len(got) != 0 {
				t.Errorf("LedgerBalanceMany of no accounts = %v, %v", got, err)
			}
			return nil
		})
	})

	t.Run("Invalid", func(t *testing.T) {
		tests := []struct {
			name    string
			entries []payouts.Entry
		}{
			{"Unbalanced", []payouts.Entry{entry(payouts.ExternalFunding, -100), entry(budget, 99)}},
			{"OneEntry", []payouts.Entry{entry(budget, 100)}},
			{"ZeroAmount", []payouts.Entry{entry(payouts.ExternalFunding, 0), entry(budget, 0)}},
			{"AccountTwice", []payouts.Entry{entry(payouts.ExternalFunding, -100), entry(budget, 50), entry(budget, 50)}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := setup(t, newStore)
				if ok, err := record(t, s, payouts.Transaction{Key: "bad", Entries: tt.entries}); err == nil || ok {
					t.Errorf("LedgerRecord = %v, %v; want an error", ok, err)
				}
				wantAudit(t, s, 0, 0)
				wantBalances(t, s, map[payouts.Account]int64{budget: 0, payouts.ExternalFunding: 0})
			})
		}
	})

	t.Run("Insufficient", func(t *testing.T) {
		tests := []struct {
			name string
			lt   payouts.Transaction
		}{
			{"DebitFirst", payouts.Escrow(job, project, 150)},
			// The floor holds whichever entry comes first.
			{"CreditFirst", payouts.Transaction{Key: payouts.Escrow(job, project, 150).Key,
				Entries: []payouts.Entry{entry(escrow, 150), entry(budget, -150)}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := setup(t, newStore)
				if _, err := record(t, s, payouts.Fund(project, 100, "r1")); err != nil {
					t.Fatal(err)
				}
				ok, err := record(t, s, tt.lt)
				if ok {
					t.Errorf("LedgerRecord of an overdraft = true, want false")
				}
				wantCode(t, err, workunits.EINSUFFICIENT)
				wantBalances(t, s, map[payouts.Account]int64{budget: 100, escrow: 0})
				wantAudit(t, s, 1, 2)

				// The key was not used up: once funded, the same transaction records.
				if _, err := record(t, s, payouts.Fund(project, 100, "r2")); err != nil {
					t.Fatal(err)
				}
				if ok, err := record(t, s, tt.lt); err != nil || !ok {
					t.Errorf("LedgerRecord after funding = %v, %v; want true, nil", ok, err)
				}
				wantBalances(t, s, map[payouts.Account]int64{budget: 50, escrow: 150, payouts.ExternalFunding: -200})
				wantAudit(t, s, 3, 6)
			})
		}
	})

	t.Run("ExactlyToZero", func(t *testing.T) {
		s := setup(t, newStore)
		for _, lt := range []payouts.Transaction{payouts.Fund(project, 150, "r1"), payouts.Escrow(job, project, 150)} {
			if ok, err := record(t, s, lt); err != nil || !ok {
				t.Fatalf("LedgerRecord(%s) = %v, %v; want true, nil", lt.Key, ok, err)
			}
		}
		wantBalances(t, s, map[payouts.Account]int64{budget: 0, escrow: 150})
	})

	t.Run("Many", func(t *testing.T) {
		c1, c2 := payouts.ContributorPending(1), payouts.ContributorPending(2)
		setupFunded := func(t *testing.T) store.Store {
			s := setup(t, newStore)
			for _, lt := range []payouts.Transaction{payouts.Fund(project, 1000, "r1"), payouts.Escrow(job, project, 300)} {
				if _, err := record(t, s, lt); err != nil {
					t.Fatal(err)
				}
			}
			return s
		}
		recordMany := func(t *testing.T, s store.Store, txs ...payouts.Transaction) ([]bool, error) {
			var got []bool
			err := s.InTx(t.Context(), func(tx store.Tx) (err error) {
				got, err = tx.LedgerRecordMany(t.Context(), txs, t0)
				return err
			})
			return got, err
		}
		reward := func(task, contributor, amount int64) payouts.Transaction {
			return payouts.Reserve(task, job, contributor, amount)
		}

		t.Run("RewardsAndRepeats", func(t *testing.T) {
			s := setupFunded(t)
			if _, err := record(t, s, reward(1, 1, 100)); err != nil {
				t.Fatal(err)
			}
			// Task 1 was paid before and task 2 is listed twice: each is paid once.
			got, err := recordMany(t, s, reward(1, 1, 100), reward(2, 2, 100), reward(3, 1, 50), reward(2, 2, 100))
			if err != nil {
				t.Fatal(err)
			}
			if want := []bool{false, true, true, false}; !slices.Equal(got, want) {
				t.Errorf("LedgerRecordMany = %v, want %v", got, want)
			}
			wantBalances(t, s, map[payouts.Account]int64{escrow: 50, c1: 150, c2: 100, budget: 700})
			wantAudit(t, s, 5, 10)
		})

		t.Run("RefusedWhole", func(t *testing.T) {
			tests := []struct {
				name string
				txs  []payouts.Transaction
				code workunits.Code
			}{
				// 200 + 150 is more than the 300 in escrow, though each alone fits.
				{"Overdraft", []payouts.Transaction{reward(1, 1, 200), reward(2, 2, 150)}, workunits.EINSUFFICIENT},
				{"KeyTwiceInBatch", []payouts.Transaction{reward(1, 1, 100), reward(1, 1, 90)}, workunits.ECONFLICT},
				{"KeyUsedBefore", []payouts.Transaction{reward(2, 2, 100), payouts.Fund(project, 5, "r1")}, workunits.ECONFLICT},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					s := setupFunded(t)
					got, err := recordMany(t, s, tt.txs...)
					if got != nil {
						t.Errorf("LedgerRecordMany = %v, want nothing recorded", got)
					}
					wantCode(t, err, tt.code)
					wantBalances(t, s, map[payouts.Account]int64{escrow: 300, c1: 0, c2: 0, budget: 700})
					wantAudit(t, s, 2, 4)
				})
			}
		})

		// LedgerRecordEach leaves out only what the ledger refuses, and the
		// transaction it ran in commits the rest.
		t.Run("Each", func(t *testing.T) {
			s := setupFunded(t)
			txs := []payouts.Transaction{
				reward(1, 1, 100),
				payouts.Fund(project, 5, "r1"), // key used before, other amount
				reward(2, 2, 250),              // more than the 200 left after task 1
				reward(3, 2, 100),
				reward(1, 1, 100), // a repeat: paid once, not refused
				{Key: "bad", Entries: []payouts.Entry{entry(escrow, -1)}},
				reward(4, 1, 90),
				reward(1, 1, 90), // key in the batch, other amount
			}
			var recorded []bool
			var refused []error
			inTx(t, s, func(tx store.Tx, f *factory) (err error) {
				recorded, refused, err = store.LedgerRecordEach(t.Context(), tx, txs, t0)
				return err
			})
			if want := []bool{true, false, false, true, false, false, true, false}; !slices.Equal(recorded, want) {
				t.Errorf("recorded = %v, want %v", recorded, want)
			}
			wantCodes := []workunits.Code{"", workunits.ECONFLICT, workunits.EINSUFFICIENT, "", "", workunits.EINVALID, "", workunits.ECONFLICT}
			for i, code := range wantCodes {
				if got := workunits.ErrorCode(refused[i]); got != code {
					t.Errorf("transaction %d (%s): refusal %q (%v), want %q", i, txs[i].Key, got, refused[i], code)
				}
			}
			wantBalances(t, s, map[payouts.Account]int64{escrow: 10, c1: 190, c2: 100, budget: 700})
			wantAudit(t, s, 5, 10)
		})

		t.Run("Empty", func(t *testing.T) {
			s := setupFunded(t)
			got, err := recordMany(t, s)
			if err != nil || len(got) != 0 {
				t.Errorf("LedgerRecordMany of nothing = %v, %v; want none, nil", got, err)
			}
			wantAudit(t, s, 2, 4)
		})
	})
}
