package store

import (
	"context"
	"time"

	"github.com/nightshift-platform/nightshift/payouts"
)

// PayoutTx is the part of Tx behind payout runs and statements. A run is
// created with its lines in one transaction, with the ledger's Hold of each
// line recorded by the caller in the same transaction; lines then move from
// pending to settled or returned as the processor's results come in.
type PayoutTx interface {
	// PayoutRunCreate creates the run keyed p.Key with one pending line
	// for each contributor with a payout method whose
	// contributor:C:available balance (read from the running balances) is
	// at least p.ThresholdMicros and at least the contributor's own
	// threshold, for the whole balance, with the method and destination
	// copied onto the line; it locks those balances for this transaction. If a
	// run with p.Key exists it is returned with its lines, created false,
	// and nothing is written.
	PayoutRunCreate(ctx context.Context, p PayoutRunCreateParams) (run PayoutRun, lines []PayoutLine, created bool, err error)
	// PayoutRunGet loads a run, or fails with ENOTFOUND.
	PayoutRunGet(ctx context.Context, id int64) (PayoutRun, error)
	// PayoutRunList returns up to limit runs with id below beforeID (0:
	// from the newest), newest first.
	PayoutRunList(ctx context.Context, beforeID int64, limit int) ([]PayoutRun, error)
	// PayoutRunExported notes that a run's files were written at now; a
	// run exported before keeps its first time. ENOTFOUND if no such run.
	PayoutRunExported(ctx context.Context, id int64, now time.Time) (PayoutRun, error)
	// PayoutLineList returns a run's lines in id order.
	PayoutLineList(ctx context.Context, runID int64) ([]PayoutLine, error)
	// PayoutLineListByContributor returns a contributor's lines, newest first.
	PayoutLineListByContributor(ctx context.Context, contributorID int64) ([]PayoutLine, error)
	// PayoutLineUpdateMany sets the state and reference of lines of one
	// run and closes the run once none of its lines is pending. Every
	// line must belong to the run (ENOTFOUND otherwise).
	PayoutLineUpdateMany(ctx context.Context, runID int64, updates []PayoutLineUpdate, now time.Time) error

	// LedgerEntryList returns every entry on the accounts p names, with
	// its transaction, in the order recorded.
	LedgerEntryList(ctx context.Context, p LedgerEntryListParams) ([]LedgerEntry, error)
}

// Payout run states: open while a line waits for the processor's result.
const (
	PayoutRunOpen   = "open"
	PayoutRunClosed = "closed"
)

// Payout line states.
const (
	PayoutLinePending  = "pending"
	PayoutLineSettled  = "settled"
	PayoutLineReturned = "returned"
)

type PayoutRunCreateParams struct {
	Key             string
	ThresholdMicros int64 // > 0
	Now             time.Time
}

// PayoutRun is one batch of payments to contributors.
type PayoutRun struct {
	ID              int64
	Key             string
	ThresholdMicros int64
	CreatedAt       time.Time
	ExportedAt      time.Time // zero until the files were written
	State           string
	LineCount       int   // how many lines the run has
	TotalMicros     int64 // what they add up to
}

// PayoutLine is one contributor's payment in a run.
type PayoutLine struct {
	ID              int64
	RunID           int64
	ContributorID   int64
	ContributorName string
	AmountMicros    int64
	State           string
	Reference       string
	UpdatedAt       time.Time
	Method          payouts.Method // as the contributor's settings were when the run was made; "" on older runs
	Destination     string         // likewise; personal data
}

// File is the line as the payout file holds it.
func (l PayoutLine) File() payouts.PayoutLine {
	return payouts.PayoutLine{ID: l.ID, RunID: l.RunID, ContributorID: l.ContributorID,
		ContributorName: l.ContributorName, AmountMicros: l.AmountMicros, Method: l.Method, Destination: l.Destination}
}

type PayoutLineUpdate struct {
	LineID    int64
	State     string
	Reference string
}

// LedgerEntryListParams names accounts exactly or by prefix (e.g.
// "contributor:7:"), and transactions by key: an entry is listed if it
// matches any of them.
type LedgerEntryListParams struct {
	Accounts []payouts.Account
	Prefixes []string
	Keys     []string
}

// LedgerEntry is an entry with its transaction's key, memo and time.
type LedgerEntry struct {
	ID            int64
	TransactionID int64
	Key           string
	Memo          string
	At            time.Time
	Account       payouts.Account
	Amount        int64
}
