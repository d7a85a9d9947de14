package sqlite

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
)

// TestMigratePayoutSettings opens a database with a payout run made before
// 0020: its line must still be listed and written to the payout file, with
// no method or destination, and settings can be set for its contributor.
func TestMigratePayoutSettings(t *testing.T) {
	ctx := t.Context()
	path := databaseBefore(t, "0020", "",
		`INSERT INTO contributors (id, name, key_hash, created_at) VALUES (7, 'ada', 'k', 1000)`,
		`INSERT INTO payout_runs (id, key, threshold_micros, created_at, state) VALUES (1, 'old', 10000000, 1000, 'open')`,
		`INSERT INTO payout_lines (id, run_id, contributor_id, amount_micros, state, updated_at) VALUES (3, 1, 7, 12000000, 'pending', 1000)`,
	)

	s := openTemp(t, path)
	err := s.InTx(ctx, func(tx store.Tx) error {
		lines, err := tx.PayoutLineList(ctx, 1)
		if err != nil {
			return err
		}
		if len(lines) != 1 || lines[0].ID != 3 || lines[0].AmountMicros != 12_000_000 || lines[0].Method != "" || lines[0].Destination != "" {
			t.Errorf("old run's lines = %+v", lines)
		}
		var csv bytes.Buffer
		if err := payouts.WritePayoutCSV(&csv, []payouts.PayoutLine{lines[0].File()}); err != nil {
			return err
		}
		if !strings.HasSuffix(csv.String(), "3,1,7,ada,12000000,12.000000,USD,,\n") {
			t.Errorf("old run's file = %q", csv.String())
		}
		set, err := tx.PayoutSettingsPut(ctx, store.PayoutSettings{ContributorID: 7, Method: payouts.MethodPayPal,
			Destination: "ada@example.com", UpdatedAt: time.UnixMilli(2000)})
		if err != nil || set.Method != payouts.MethodPayPal {
			t.Errorf("settings after the migration = %+v, %v", set, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
