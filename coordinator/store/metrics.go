package store

import (
	"context"

	"github.com/nightshift-platform/nightshift/workunits"
)

// MetricsTx reads the platform-wide totals a metrics scrape reports. Both
// answers have a small, fixed number of rows whatever the platform's size:
// nothing here is per project, host or contributor.
type MetricsTx interface {
	// UnitCountByState counts the units in each state; states without
	// units are absent.
	UnitCountByState(ctx context.Context) (map[workunits.UnitState]int64, error)
	// LedgerTotalByKind sums the balances of the ledger's accounts by kind
	// (see LedgerKinds); kinds without accounts are absent.
	LedgerTotalByKind(ctx context.Context) (map[string]int64, error)
}

// LedgerKinds are the kinds of ledger account, each with the LIKE pattern
// its accounts' names match (payouts.ProjectBudget and the rest). An
// account matching none is of kind "other".
var LedgerKinds = []struct{ Kind, Pattern string }{
	{"external_funding", "external:funding"},
	{"external_payouts", "external:payouts"},
	{"platform_fees", "platform:fees"},
	{"project_budget", "project:%:budget"},
	{"job_escrow", "job:%:escrow"},
	{"contributor_pending", "contributor:%:pending"},
	{"contributor_available", "contributor:%:available"},
	{"contributor_inflight", "contributor:%:inflight"},
}

// LedgerKindSQL is an SQL expression, valid on SQLite and PostgreSQL, for
// the kind of the account in column col.
func LedgerKindSQL(col string) string {
	s := "CASE"
	for _, k := range LedgerKinds {
		s += " WHEN " + col + " LIKE '" + k.Pattern + "' THEN '" + k.Kind + "'"
	}
	return s + " ELSE 'other' END"
}
