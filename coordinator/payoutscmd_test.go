package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/coordinator/store/sqlite"
	"github.com/nightshift-platform/nightshift/payouts"
)

func TestPayoutsCommand(t *testing.T) {
	ctx := context.Background()
	data, out := t.TempDir(), t.TempDir()
	getenv := func(name string) string {
		if name == "NIGHTSHIFT_DATA" {
			return data
		}
		return ""
	}
	cmd := func(args ...string) (string, error) {
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, getenv, &stdout, &stderr)
		return stdout.String(), err
	}
	dbPath := filepath.Join(data, "nightshift.db")
	// withStore opens the coordinator's database between commands.
	withStore := func(fn func(tx store.Tx) error) {
		t.Helper()
		st, err := sqlite.Open(ctx, dbPath)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.InTx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	var ada, bob int64
	withStore(func(tx store.Tx) error {
		now := time.Now()
		a, err := tx.ContributorInsert(ctx, store.ContributorInsertParams{Name: "ada", KeyHash: "a", Now: now})
		if err != nil {
			return err
		}
		b, err := tx.ContributorInsert(ctx, store.ContributorInsertParams{Name: "bob", KeyHash: "b", Now: now})
		if err != nil {
			return err
		}
		ada, bob = a.ID, b.ID
		for c, dest := range map[int64]string{ada: "GB82WEST12345698765432", bob: "DE89370400440532013000"} {
			if _, err := tx.PayoutSettingsPut(ctx, store.PayoutSettings{ContributorID: c, Method: payouts.MethodBankTransfer,
				Destination: dest, UpdatedAt: now}); err != nil {
				return err
			}
		}
		_, err = tx.LedgerRecordMany(ctx, []payouts.Transaction{
			payouts.Fund(1, 40_000_000, "grant"), payouts.Escrow(1, 1, 40_000_000),
			payouts.Reserve(1, 1, ada, 25_000_000), payouts.Post(1, ada, 25_000_000, 0),
			payouts.Reserve(2, 1, bob, 11_000_000), payouts.Post(2, bob, 11_000_000, 0),
		}, now)
		return err
	})

	got, err := cmd("payouts", "run", "--key", "nov", "--threshold-micros", "20000000", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "payout run 1 created") || !strings.Contains(got, "1 lines, 25.000000 USD held") {
		t.Errorf("payouts run printed %q", got)
	}
	csvFile, err := os.ReadFile(filepath.Join(out, "payout-run-1.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("1,1,%d,ada,25000000,25.000000,USD,bank_transfer,GB82WEST12345698765432\n", ada); !strings.HasSuffix(string(csvFile), want) {
		t.Errorf("CSV file %q, want it to end with %q", csvFile, want)
	}
	if got, err := cmd("payouts", "run", "--key", "nov", "--out", out); err != nil || !strings.Contains(got, "found (made before)") {
		t.Errorf("payouts run again = %q, %v", got, err)
	}
	// Export into another directory writes the same bytes.
	other := t.TempDir()
	if _, err := cmd("payouts", "export", "--run", "1", "--out", other); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(other, "payout-run-1.csv")); !bytes.Equal(again, csvFile) {
		t.Errorf("export wrote %q, want %q", again, csvFile)
	}

	results := filepath.Join(t.TempDir(), "results.csv")
	if err := os.WriteFile(results, []byte("line_id,status,reference\n1,failed,bounced\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := cmd("payouts", "import", "--run", "1", results); err != nil || !strings.Contains(got, "0 settled, 1 returned, 0 unchanged; run closed") {
		t.Errorf("import = %q, %v", got, err)
	}
	if got, err := cmd("payouts", "import", "--run", "1", results); err != nil || !strings.Contains(got, "0 settled, 0 returned, 1 unchanged") {
		t.Errorf("second import = %q, %v", got, err)
	}
	withStore(func(tx store.Tx) error {
		for a, want := range map[payouts.Account]int64{payouts.ContributorAvailable(ada): 25_000_000,
			payouts.ContributorInflight(ada): 0, payouts.ContributorAvailable(bob): 11_000_000} {
			if got, err := tx.LedgerBalance(ctx, a); err != nil || got != want {
				t.Errorf("%s = %d, %v; want %d", a, got, err, want)
			}
		}
		return nil
	})

	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("line_id,status\n1,paid\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"no subcommand":        {"payouts"},
		"unknown subcommand":   {"payouts", "pay"},
		"run without key":      {"payouts", "run", "--out", out},
		"run without out":      {"payouts", "run", "--key", "k"},
		"run negative":         {"payouts", "run", "--key", "k", "--threshold-micros", "-5", "--out", out},
		"run out not a dir":    {"payouts", "run", "--key", "k", "--out", results},
		"export without run":   {"payouts", "export", "--out", out},
		"export unknown run":   {"payouts", "export", "--run", "9", "--out", out},
		"import without file":  {"payouts", "import", "--run", "1"},
		"import missing file":  {"payouts", "import", "--run", "1", filepath.Join(out, "nope.csv")},
		"import contradiction": {"payouts", "import", "--run", "1", bad},
		"import unknown run":   {"payouts", "import", "--run", "9", results},
		"no database":          {"payouts", "export", "--run", "1", "--out", out, "--data", filepath.Join(out, "missing")},
		"unexpected argument":  {"payouts", "export", "--run", "1", "--out", out, "extra"},
	} {
		if _, err := cmd(args...); err == nil {
			t.Errorf("%s: succeeded, want an error", name)
		}
	}
}
