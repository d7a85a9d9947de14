package api

import "time"

// CreatePayoutRunRequest starts a payout run (operator). The
// Idempotency-Key header names the run: the same key answers with the same
// run. threshold_micros defaults to the coordinator's payout threshold.
type CreatePayoutRunRequest struct {
	ThresholdMicros int64 `json:"threshold_micros,omitempty"`
}

// PayoutRun is a batch of payments to contributors.
type PayoutRun struct {
	ID              int64        `json:"id"`
	Key             string       `json:"key"`
	State           string       `json:"state"` // open | closed
	ThresholdMicros int64        `json:"threshold_micros"`
	LineCount       int          `json:"line_count"`
	TotalMicros     int64        `json:"total_micros"`
	Currency        string       `json:"currency"`
	CreatedAt       time.Time    `json:"created_at"`
	ExportedAt      *time.Time   `json:"exported_at,omitempty"`
	Lines           []PayoutLine `json:"lines,omitempty"`
}

type PayoutRunList struct {
	Runs []PayoutRun `json:"runs"`
}

// PayoutLine is one contributor's payment in a run.
type PayoutLine struct {
	ID              int64     `json:"id"`
	RunID           int64     `json:"run_id"`
	ContributorID   int64     `json:"contributor_id"`
	ContributorName string    `json:"contributor_name"`
	AmountMicros    int64     `json:"amount_micros"`
	State           string    `json:"state"` // pending | settled | returned
	Reference       string    `json:"reference"`
	UpdatedAt       time.Time `json:"updated_at"`
	// How and where the line is paid, as set when its run was made (empty
	// on older runs); the destination masked but for its last four
	// characters: the payout file has it whole.
	Method            string `json:"method,omitempty"`
	DestinationMasked string `json:"destination_masked,omitempty"`
}

// PayoutImportResult says what importing a result file did.
type PayoutImportResult struct {
	Settled   int       `json:"settled"`
	Returned  int       `json:"returned"`
	Unchanged int       `json:"unchanged"`
	Run       PayoutRun `json:"run"`
}

// ContributorPayouts is a contributor's payout history, newest first.
type ContributorPayouts struct {
	Currency string       `json:"currency"`
	Lines    []PayoutLine `json:"lines"`
}

// Spend is where money went, in micro-units.
type Spend struct {
	FundedMicros       int64 `json:"funded_micros"`
	EscrowedMicros     int64 `json:"escrowed_micros"`
	ContributorsMicros int64 `json:"contributors_micros"`
	FeesMicros         int64 `json:"fees_micros"`
	VoidedMicros       int64 `json:"voided_micros"`
	ReleasedMicros     int64 `json:"released_micros"`
	ClawedBackMicros   int64 `json:"clawed_back_micros"`
}

type JobSpend struct {
	JobID        int64 `json:"job_id"`
	EscrowMicros int64 `json:"escrow_micros"` // still in escrow
	Spend        Spend `json:"spend"`
}

// ProjectSpend is a project's spend, in total and per job.
type ProjectSpend struct {
	ProjectID    int64      `json:"project_id"`
	Currency     string     `json:"currency"`
	BudgetMicros int64      `json:"budget_micros"`
	Total        Spend      `json:"total"`
	Jobs         []JobSpend `json:"jobs"`
}
