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

// PayTo gives a contributor payout settings, so that payout runs pay them.
func (f *factory) PayTo(contributorID int64, m payouts.Method, destination string, thresholdMicros int64) store.PayoutSettings {
	f.t.Helper()
	s, err := f.tx.PayoutSettingsPut(f.ctx, store.PayoutSettings{ContributorID: contributorID, ThresholdMicros: thresholdMicros,
		Method: m, Destination: destination, UpdatedAt: t0})
	f.fail("setting payout settings", err)
	return s
}

func testPayoutSettings(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("PutGet", func(t *testing.T) {
		s := setup(t, newStore)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			ctx := t.Context()
			c, other := f.Contributor(), f.Contributor()
			got, err := tx.PayoutSettingsGet(ctx, c.ID)
			if err != nil || got != (store.PayoutSettings{ContributorID: c.ID}) {
				t.Errorf("PayoutSettingsGet before any = %+v, %v; want the zero settings", got, err)
			}
			want := store.PayoutSettings{ContributorID: c.ID, ThresholdMicros: 25_000_000, Method: payouts.MethodBankTransfer,
				Destination: "GB82WEST12345698765432", UpdatedAt: t0}
			put, err := tx.PayoutSettingsPut(ctx, want)
			if err != nil {
				return err
			}
			if got, err := tx.PayoutSettingsGet(ctx, c.ID); err != nil || !sameSettings(got, want) || !sameSettings(put, want) {
				t.Errorf("after put: Put = %+v, Get = %+v, %v; want %+v", put, got, err, want)
			}
			// A put replaces all: the threshold goes back to the run's.
			want = store.PayoutSettings{ContributorID: c.ID, Method: payouts.MethodPayPal, Destination: "ada@example.com", UpdatedAt: t0.Add(time.Hour)}
			if _, err := tx.PayoutSettingsPut(ctx, want); err != nil {
				return err
			}
			if got, err := tx.PayoutSettingsGet(ctx, c.ID); err != nil || !sameSettings(got, want) {
				t.Errorf("after replace: %+v, %v; want %+v", got, err, want)
			}
			// A threshold without a method is kept.
			want = store.PayoutSettings{ContributorID: c.ID, ThresholdMicros: 1, UpdatedAt: t0.Add(2 * time.Hour)}
			if _, err := tx.PayoutSettingsPut(ctx, want); err != nil {
				return err
			}
			if got, err := tx.PayoutSettingsGet(ctx, c.ID); err != nil || !sameSettings(got, want) {
				t.Errorf("after clearing the method: %+v, %v; want %+v", got, err, want)
			}
			if got, err := tx.PayoutSettingsGet(ctx, other.ID); err != nil || got != (store.PayoutSettings{ContributorID: other.ID}) {
				t.Errorf("another contributor's settings = %+v, %v; want none", got, err)
			}
			_, err = tx.PayoutSettingsPut(ctx, store.PayoutSettings{ContributorID: other.ID + 1000, Method: payouts.MethodPayPal,
				Destination: "x@example.com", UpdatedAt: t0})
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		})
	})

	t.Run("Runs", func(t *testing.T) {
		s := setup(t, newStore)
		var low, high, none, cleared workunits.Contributor
		inTx(t, s, func(tx store.Tx, f *factory) error {
			low, high, none, cleared = f.Contributor(), f.Contributor(), f.Contributor(), f.Contributor()
			f.PayTo(low.ID, payouts.MethodPayPal, "low@example.com", 1)    // below the run's: the run's applies
			f.PayTo(high.ID, payouts.MethodPayPal, "high@example.com", 30) // above the run's: its own applies
			f.PayTo(cleared.ID, payouts.MethodPayPal, "cleared@example.com", 0)
			_, err := tx.PayoutSettingsPut(t.Context(), store.PayoutSettings{ContributorID: cleared.ID, UpdatedAt: t0})
			return err
		})
		for _, c := range []workunits.Contributor{low, high, none, cleared} {
			earn(t, s, c.ID, 25)
		}
		create := func(key string, threshold int64) []store.PayoutLine {
			var lines []store.PayoutLine
			inTx(t, s, func(tx store.Tx, f *factory) error {
				run, ls, _, err := tx.PayoutRunCreate(t.Context(), store.PayoutRunCreateParams{Key: key, ThresholdMicros: threshold, Now: t0})
				for _, l := range ls {
					if _, err := store.LedgerRecord(t.Context(), tx, payouts.Hold(run.ID, l.ContributorID, l.AmountMicros), t0); err != nil {
						return err
					}
				}
				lines = ls
				return err
			})
			return lines
		}
		first := create("first", 10)
		if len(first) != 1 || first[0].ContributorID != low.ID || first[0].AmountMicros != 25 ||
			first[0].Method != payouts.MethodPayPal || first[0].Destination != "low@example.com" {
			t.Fatalf("first run = %q, want only contributor %d's 25 to low@example.com", lineSummary(first), low.ID)
		}
		// high reaches its own threshold; none still has no method.
		earn(t, s, high.ID, 5)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			f.PayTo(none.ID, payouts.MethodBankTransfer, "DE89370400440532013000", 0)
			return nil
		})
		second := create("second", 10)
		var got []string
		for _, l := range second {
			got = append(got, fmt.Sprintf("%d %d %s %s", l.ContributorID, l.AmountMicros, l.Method, l.Destination))
		}
		slices.Sort(got)
		want := []string{fmt.Sprintf("%d 30 paypal high@example.com", high.ID), fmt.Sprintf("%d 25 bank_transfer DE89370400440532013000", none.ID)}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("second run = %q, want %q", got, want)
		}
		// A run's lines keep the settings they were made with.
		inTx(t, s, func(tx store.Tx, f *factory) error {
			f.PayTo(low.ID, payouts.MethodBankTransfer, "NO9386011117947", 0)
			lines, err := tx.PayoutLineList(t.Context(), first[0].RunID)
			if err != nil {
				return err
			}
			if len(lines) != 1 || lines[0].Method != payouts.MethodPayPal || lines[0].Destination != "low@example.com" {
				t.Errorf("first run after an edit = %q, want its line unchanged", lineSummary(lines))
			}
			mine, err := tx.PayoutLineListByContributor(t.Context(), low.ID)
			if err != nil || len(mine) != 1 || mine[0].Destination != "low@example.com" {
				t.Errorf("low's lines = %q, %v", lineSummary(mine), err)
			}
			return nil
		})
	})
}

func sameSettings(a, b store.PayoutSettings) bool {
	return a.ContributorID == b.ContributorID && a.ThresholdMicros == b.ThresholdMicros && a.Method == b.Method &&
		a.Destination == b.Destination && sameMS(a.UpdatedAt, b.UpdatedAt)
}
