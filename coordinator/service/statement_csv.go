package service

import (
	"fmt"
	"strconv"
	"time"

	"github.com/nightshift-platform/nightshift/payouts"
)

// StatementCSV is a contributor's statement as CSV rows, the header first:
// one row per ledger entry with its account's running balance. The API and
// the dashboard serve these same rows, so a download from either is the
// same file.
func StatementCSV(entries []StatementEntry) [][]string {
	rows := [][]string{{"time", "transaction_key", "kind", "task_id", "job_id", "run_id", "memo", "account",
		"amount_micros", "amount", "balance_micros", "balance", "currency"}}
	for _, e := range entries {
		rows = append(rows, []string{e.At.UTC().Format(time.RFC3339Nano), e.Key, e.Kind, keyIDText(e.Key, "task"), keyIDText(e.Key, "job"),
			keyIDText(e.Key, "run"), e.Memo, string(e.Account), strconv.FormatInt(e.Amount, 10), payouts.FormatMicros(e.Amount),
			strconv.FormatInt(e.Balance, 10), payouts.FormatMicros(e.Balance), payouts.Currency})
	}
	return rows
}

// StatementFilename names a contributor's statement download.
func StatementFilename(contributorID int64) string {
	return fmt.Sprintf("contributor-%d-statement.csv", contributorID)
}

func keyIDText(key, name string) string {
	if id, ok := payouts.KeyID(key, name); ok {
		return strconv.FormatInt(id, 10)
	}
	return ""
}
