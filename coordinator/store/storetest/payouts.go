package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// earn credits a contributor's available balance as a validated task's
// reward does: funded, escrowed and paid out of a job of its own.
func earn(t *testing.T, s store.Store, contributorID, amount int64) {
	t.Helper()
	n := serial.Add(1)
	for _, lt := range []payouts.Transaction{
		payouts.Fund(n, amount, "earn"),
		payouts.Escrow(n, n, amount),
		legacyReward(n, n, contributorID, amount),
	} {
		if _, err := record(t, s, lt); err != nil {
			t.Fatalf("recording %s: %v", lt.Key, err)
		}
	}
}

// legacyReward is the one-step reward of ledgers written before the
// money queue (escrow straight to available, key reward:task:T); such
// entries stay in old ledgers, and statements must read them.
func legacyReward(taskID, jobID, contributorID, amount int64) payouts.Transaction {
	return payouts.Transaction{Key: fmt.Sprintf("reward:task:%d", taskID), Memo: "validated result",
		Entries: []payouts.Entry{{Account: payouts.JobEscrow(jobID), Amount: -amount}, {Account: payouts.ContributorAvailable(contributorID), Amount: amount}}}
}

func lineSummary(lines []store.PayoutLine) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = fmt.Sprintf("run %d contributor %d (%s) %d %s %q %s %s", l.RunID, l.ContributorID, l.ContributorName, l.AmountMicros, l.State,
			l.Reference, l.Method, l.Destination)
	}
	return out
}

func testPayouts(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("RunCreate", func(t *testing.T) {
		s := setup(t, newStore)
		var c1, c2, c3, c4, c5, c6 workunits.Contributor
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c1, c2, c3, c4, c5, c6 = f.Contributor(), f.Contributor(), f.Contributor(), f.Contributor(), f.Contributor(), f.Contributor()
			for _, c := range []workunits.Contributor{c1, c2, c4} {
				f.PayTo(c.ID, payouts.MethodPayPal, fmt.Sprintf("c%d@example.com", c.ID), 0)
			}
			f.PayTo(c3.ID, payouts.MethodBankTransfer, "GB82WEST12345698765432", 10_000_000)
			f.PayTo(c6.ID, payouts.MethodPayPal, "c6@example.com", 20_000_000)
			return nil
		})
		earn(t, s, c1.ID, 15_000_000)
		earn(t, s, c2.ID, 9_999_999)
		earn(t, s, c3.ID, 10_000_000)
		earn(t, s, c5.ID, 50_000_000) // but has no payout method
		earn(t, s, c6.ID, 15_000_000) // but wants at least 20
		_ = c4                        // never earned

		var run store.PayoutRun
		var lines []store.PayoutLine
		inTx(t, s, func(tx store.Tx, f *factory) error {
			var created bool
			var err error
			run, lines, created, err = tx.PayoutRunCreate(t.Context(), store.PayoutRunCreateParams{Key: "k1", ThresholdMicros: 10_000_000, Now: t0})
			if err != nil {
				return err
			}
			if !created {
				t.Error("first PayoutRunCreate: created = false")
			}
			return nil
		})
		if run.ID == 0 || run.Key != "k1" || run.ThresholdMicros != 10_000_000 || !sameMS(run.CreatedAt, t0) || !run.ExportedAt.IsZero() ||
			run.State != store.PayoutRunOpen || run.LineCount != 2 || run.TotalMicros != 25_000_000 {
			t.Errorf("run = %+v", run)
		}
		want := []string{
			fmt.Sprintf("run %d contributor %d (%s) 15000000 pending \"\" paypal c%d@example.com", run.ID, c1.ID, c1.Name, c1.ID),
			fmt.Sprintf("run %d contributor %d (%s) 10000000 pending \"\" bank_transfer GB82WEST12345698765432", run.ID, c3.ID, c3.Name),
		}
		if got := lineSummary(lines); !slices.Equal(got, want) {
			t.Errorf("lines = %q, want %q", got, want)
		}
		if lines[0].ID >= lines[1].ID || !sameMS(lines[0].UpdatedAt, t0) {
			t.Errorf("lines not in id order or without their time: %+v", lines)
		}

		// The same key is the same run, whatever has changed since.
		earn(t, s, c2.ID, 1)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			again, againLines, created, err := tx.PayoutRunCreate(t.Context(), store.PayoutRunCreateParams{Key: "k1", ThresholdMicros: 1, Now: t0.Add(time.Hour)})
			if err != nil {
				return err
			}
			if created || again != run || !slices.Equal(lineSummary(againLines), want) {
				t.Errorf("PayoutRunCreate again = %+v, %q, %v; want %+v, %q, false", again, lineSummary(againLines), created, run, want)
			}
			return nil
		})

		// A run with nobody to pay is closed from the start.
		inTx(t, s, func(tx store.Tx, f *factory) error {
			empty, none, created, err := tx.PayoutRunCreate(t.Context(), store.PayoutRunCreateParams{Key: "k2", ThresholdMicros: 1 << 40, Now: t0})
			if err != nil {
				return err
			}
			if !created || len(none) != 0 || empty.State != store.PayoutRunClosed || empty.LineCount != 0 || empty.TotalMicros != 0 {
				t.Errorf("empty run = %+v, %d lines, created %v", empty, len(none), created)
			}
			_, _, _, err = tx.PayoutRunCreate(t.Context(), store.PayoutRunCreateParams{Key: "k3", ThresholdMicros: 0, Now: t0})
			wantCode(t, err, workunits.EINVALID)
			return nil
		})
	})

	t.Run("RunsAndLines", func(t *testing.T) {
		s := setup(t, newStore)
		var c1, c2 workunits.Contributor
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c1, c2 = f.Contributor(), f.Contributor()
			f.PayTo(c1.ID, payouts.MethodPayPal, "c1@example.com", 0)
			f.PayTo(c2.ID, payouts.MethodPayPal, "c2@example.com", 0)
			return nil
		})
		var runs []store.PayoutRun
		var lines [][]store.PayoutLine
		for i := range 3 {
			earn(t, s, c1.ID, 20)
			if i != 1 {
				earn(t, s, c2.ID, 30)
			}
			inTx(t, s, func(tx store.Tx, f *factory) error {
				run, ls, _, err := tx.PayoutRunCreate(t.Context(), store.PayoutRunCreateParams{Key: fmt.Sprintf("run-%d", i), ThresholdMicros: 10, Now: t0})
				if err != nil {
					return err
				}
				// As the service does: hold what the run pays.
				for _, l := range ls {
					if _, err := store.LedgerRecord(t.Context(), tx, payouts.Hold(run.ID, l.ContributorID, l.AmountMicros), t0); err != nil {
						return err
					}
				}
				runs, lines = append(runs, run), append(lines, ls)
				return nil
			})
		}
		if len(lines[0]) != 2 || len(lines[1]) != 1 || len(lines[2]) != 2 {
			t.Fatalf("lines per run = %d, %d, %d; want 2, 1, 2", len(lines[0]), len(lines[1]), len(lines[2]))
		}
		wantBalances(t, s, map[payouts.Account]int64{payouts.ContributorAvailable(c1.ID): 0, payouts.ContributorInflight(c1.ID): 60,
			payouts.ContributorAvailable(c2.ID): 0, payouts.ContributorInflight(c2.ID): 60})

		inTx(t, s, func(tx store.Tx, f *factory) error {
			ctx := t.Context()
			got, err := tx.PayoutRunList(ctx, 0, 10)
			if err != nil {
				return err
			}
			if ids := []int64{got[0].ID, got[1].ID, got[2].ID}; len(got) != 3 || !slices.Equal(ids, []int64{runs[2].ID, runs[1].ID, runs[0].ID}) {
				t.Errorf("PayoutRunList = %+v, want newest first", got)
			}
			if page, err := tx.PayoutRunList(ctx, runs[2].ID, 1); err != nil || len(page) != 1 || page[0].ID != runs[1].ID {
				t.Errorf("PayoutRunList(before %d, 1) = %+v, %v; want run %d", runs[2].ID, page, err, runs[1].ID)
			}
			if _, err := tx.PayoutRunGet(ctx, runs[2].ID+100); workunits.ErrorCode(err) != workunits.ENOTFOUND {
				t.Errorf("PayoutRunGet of no run: %v, want ENOTFOUND", err)
			}

			exported, err := tx.PayoutRunExported(ctx, runs[0].ID, t0.Add(time.Minute))
			if err != nil {
				return err
			}
			again, err := tx.PayoutRunExported(ctx, runs[0].ID, t0.Add(time.Hour))
			if err != nil {
				return err
			}
			if !sameMS(exported.ExportedAt, t0.Add(time.Minute)) || !sameMS(again.ExportedAt, t0.Add(time.Minute)) {
				t.Errorf("exported at %v, then %v; want %v both times", exported.ExportedAt, again.ExportedAt, t0.Add(time.Minute))
			}
			if _, err := tx.PayoutRunExported(ctx, runs[2].ID+100, t0); workunits.ErrorCode(err) != workunits.ENOTFOUND {
				t.Errorf("PayoutRunExported of no run: %v, want ENOTFOUND", err)
			}

			// Settling one line leaves the run open; the last closes it.
			r0 := lines[0]
			later := t0.Add(2 * time.Hour)
			if err := tx.PayoutLineUpdateMany(ctx, runs[0].ID, []store.PayoutLineUpdate{{LineID: r0[0].ID, State: store.PayoutLineSettled, Reference: "bank-1"}}, later); err != nil {
				return err
			}
			if r, err := tx.PayoutRunGet(ctx, runs[0].ID); err != nil || r.State != store.PayoutRunOpen {
				t.Errorf("run after one of two lines = %+v, %v; want open", r, err)
			}
			if err := tx.PayoutLineUpdateMany(ctx, runs[0].ID, []store.PayoutLineUpdate{{LineID: r0[1].ID, State: store.PayoutLineReturned, Reference: ""}}, later); err != nil {
				return err
			}
			if r, err := tx.PayoutRunGet(ctx, runs[0].ID); err != nil || r.State != store.PayoutRunClosed {
				t.Errorf("run after both lines = %+v, %v; want closed", r, err)
			}
			got0, err := tx.PayoutLineList(ctx, runs[0].ID)
			if err != nil {
				return err
			}
			if got0[0].State != store.PayoutLineSettled || got0[0].Reference != "bank-1" || !sameMS(got0[0].UpdatedAt, later) ||
				got0[1].State != store.PayoutLineReturned {
				t.Errorf("lines after update = %q", lineSummary(got0))
			}
			// A line of another run, or none at all, is not found, and nothing changes.
			err = tx.PayoutLineUpdateMany(ctx, runs[1].ID, []store.PayoutLineUpdate{{LineID: lines[2][0].ID, State: store.PayoutLineSettled}}, later)
			wantCode(t, err, workunits.ENOTFOUND)
			err = tx.PayoutLineUpdateMany(ctx, runs[1].ID, []store.PayoutLineUpdate{{LineID: lines[2][1].ID + 100, State: store.PayoutLineSettled}}, later)
			wantCode(t, err, workunits.ENOTFOUND)
			if err := tx.PayoutLineUpdateMany(ctx, runs[1].ID, nil, later); err != nil {
				t.Errorf("updating no lines: %v", err)
			}

			mine, err := tx.PayoutLineListByContributor(ctx, c2.ID)
			if err != nil {
				return err
			}
			if len(mine) != 2 || mine[0].RunID != runs[2].ID || mine[1].RunID != runs[0].ID || mine[0].ContributorName != c2.Name {
				t.Errorf("PayoutLineListByContributor = %q, want runs %d then %d", lineSummary(mine), runs[2].ID, runs[0].ID)
			}
			return nil
		})
	})

	t.Run("LedgerEntryList", func(t *testing.T) {
		s := setup(t, newStore)
		c1, c10 := payouts.ContributorAvailable(1), payouts.ContributorAvailable(10)
		txs := []payouts.Transaction{
			payouts.Fund(5, 100, "r1"),
			payouts.Escrow(50, 5, 60),
			legacyReward(500, 50, 1, 20),
			legacyReward(501, 50, 10, 25),
			payouts.Hold(9, 1, 20),
		}
		for i, lt := range txs {
			if err := s.InTx(t.Context(), func(tx store.Tx) error {
				_, err := store.LedgerRecord(t.Context(), tx, lt, t0.Add(time.Duration(i)*time.Second))
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		list := func(p store.LedgerEntryListParams) []string {
			var out []string
			inTx(t, s, func(tx store.Tx, f *factory) error {
				entries, err := tx.LedgerEntryList(t.Context(), p)
				if err != nil {
					return err
				}
				for i, e := range entries {
					if i > 0 && e.ID <= entries[i-1].ID {
						t.Errorf("entries out of order: %+v", entries)
					}
					if e.TransactionID == 0 || e.Memo == "" {
						t.Errorf("entry without its transaction: %+v", e)
					}
					out = append(out, fmt.Sprintf("%s %s %d %s", e.Key, e.Account, e.Amount, e.At.Format(time.TimeOnly)))
				}
				return nil
			})
			return out
		}
		tests := []struct {
			name string
			p    store.LedgerEntryListParams
			want []string
		}{
			{"nothing asked", store.LedgerEntryListParams{}, nil},
			{"one account", store.LedgerEntryListParams{Accounts: []payouts.Account{c10}},
				[]string{"reward:task:501 contributor:10:available 25 12:00:03"}},
			// contributor:1: is not a prefix of contributor:10:.
			{"prefix", store.LedgerEntryListParams{Prefixes: []string{"contributor:1:"}}, []string{
				"reward:task:500 contributor:1:available 20 12:00:02",
				"payout:run:9:contributor:1 contributor:1:available -20 12:00:04",
				"payout:run:9:contributor:1 contributor:1:inflight 20 12:00:04",
			}},
			{"key", store.LedgerEntryListParams{Keys: []string{"escrow:job:50", "no:such:key"}}, []string{
				"escrow:job:50 project:5:budget -60 12:00:01",
				"escrow:job:50 job:50:escrow 60 12:00:01",
			}},
			{"overlapping, each entry once", store.LedgerEntryListParams{Accounts: []payouts.Account{c1, payouts.JobEscrow(50)},
				Prefixes: []string{"contributor:1:", "", "job:"}, Keys: []string{"reward:task:500"}}, []string{
				"escrow:job:50 job:50:escrow 60 12:00:01",
				"reward:task:500 job:50:escrow -20 12:00:02",
				"reward:task:500 contributor:1:available 20 12:00:02",
				"reward:task:501 job:50:escrow -25 12:00:03",
				"payout:run:9:contributor:1 contributor:1:available -20 12:00:04",
				"payout:run:9:contributor:1 contributor:1:inflight 20 12:00:04",
			}},
		}
		for _, tt := range tests {
			if got := list(tt.p); !slices.Equal(got, tt.want) {
				t.Errorf("%s: LedgerEntryList = %q, want %q", tt.name, got, tt.want)
			}
		}
	})
}
