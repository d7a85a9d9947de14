// Package api holds the JSON shapes of the coordinator's HTTP API, shared
// by the server, the Go client and the worker.
package api

import (
	"encoding/json"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// ErrorResponse is the body of every 4xx and 5xx response.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type CreateProjectRequest struct {
	Name             string        `json:"name"`
	Admin            *ProjectAdmin `json:"admin,omitempty"`              // the first member; "admin" with no email if absent
	SigningPublicKey string        `json:"signing_public_key,omitempty"` // base64 of the 32-byte ed25519 key
	Share            *int          `json:"share,omitempty"`              // fair-share weight; absent: 100
	// Description says what the project researches; contributors see it.
	Description string `json:"description,omitempty"`
}

type Project struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	CreatedAt    time.Time `json:"created_at"`
	BudgetMicros int64     `json:"budget_micros"`
	Currency     string    `json:"currency"`
	Share        int       `json:"share"`
	// Description says what the project researches; "" if it says nothing.
	Description string `json:"description"`
	// APIKey is returned once, when the project is created.
	APIKey string `json:"api_key,omitempty"`
	// SigningPublicKey verifies the project's app versions (base64 of the
	// 32-byte ed25519 key); empty until the operator sets one.
	SigningPublicKey string `json:"signing_public_key,omitempty"`
}

type FundRequest struct {
	AmountMicros   int64  `json:"amount_micros"`
	IdempotencyKey string `json:"idempotency_key"`
}

type FundResponse struct {
	ProjectID    int64  `json:"project_id"`
	BudgetMicros int64  `json:"budget_micros"`
	Currency     string `json:"currency"`
}

type AppVersion struct {
	App       string    `json:"app"`
	Version   int       `json:"version"`
	SHA256    string    `json:"sha256"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"`
	// Signature is the base64 ed25519 signature over the module's raw SHA-256.
	Signature string `json:"signature"`
	// Resource estimates for one unit; see workunits.Estimates.
	Ops             int64      `json:"ops"`
	MemoryMiB       int        `json:"memory_mib"`
	DiskMiB         int        `json:"disk_mib"`
	DeadlineSeconds int        `json:"deadline_seconds"`
	DeprecatedAt    *time.Time `json:"deprecated_at,omitempty"` // absent while new jobs may use it
	Validator       Validator  `json:"validator"`
}

// Validator says how the outputs of a unit's replicas are compared; see
// workunits.Validator. An upload sets it with the query parameters
// validator, abs_tol and rel_tol.
type Validator struct {
	Kind   string  `json:"kind"` // bitwise or numeric
	AbsTol float64 `json:"abs_tol"`
	RelTol float64 `json:"rel_tol"`
}

// ValidatorOf is a validator as the API shows it.
func ValidatorOf(v workunits.Validator) Validator {
	v = v.WithDefaults()
	return Validator{Kind: v.Kind, AbsTol: v.AbsTol, RelTol: v.RelTol}
}

// Policy is a job's redundancy policy; zero fields take the defaults.
type Policy struct {
	MinQuorum        int `json:"min_quorum,omitempty"`
	TargetReplicas   int `json:"target_replicas,omitempty"`
	MaxErrorReplicas int `json:"max_error_replicas,omitempty"`
	MaxTotalReplicas int `json:"max_total_replicas,omitempty"`
	DeadlineSeconds  int `json:"deadline_seconds,omitempty"`
}

// PolicyOf is a job's policy as the API shows it.
func PolicyOf(p workunits.Policy) Policy {
	return Policy{MinQuorum: p.MinQuorum, TargetReplicas: p.TargetReplicas, MaxErrorReplicas: p.MaxErrorReplicas,
		MaxTotalReplicas: p.MaxTotalReplicas, DeadlineSeconds: int(p.Deadline / time.Second)}
}

// Workunits is the policy p asks for, zero fields still unset. A caller
// taking p from a request checks DeadlineSeconds first: a huge value would
// wrap round to a small duration.
func (p Policy) Workunits() workunits.Policy {
	return workunits.Policy{MinQuorum: p.MinQuorum, TargetReplicas: p.TargetReplicas, MaxErrorReplicas: p.MaxErrorReplicas,
		MaxTotalReplicas: p.MaxTotalReplicas, Deadline: time.Duration(p.DeadlineSeconds) * time.Second}
}

// SubmitJobRequest gives the units either as a list of JSON inputs or as a
// parameter sweep expanded into one unit per combination.
type SubmitJobRequest struct {
	App          string                          `json:"app"`
	Version      int                             `json:"version,omitempty"`
	Units        []json.RawMessage               `json:"units,omitempty"`
	Sweep        map[string]workunits.SweepParam `json:"sweep,omitempty"`
	Policy       Policy                          `json:"policy"`
	RewardMicros int64                           `json:"reward_micros"`
	Webhook      *WebhookConfig                  `json:"webhook,omitempty"`
	// Splitter is "list" (units), "sweep" or "chunks"; it may be left out
	// when exactly one of them is given.
	Splitter        string  `json:"splitter,omitempty"`
	Chunks          *Chunks `json:"chunks,omitempty"`
	BudgetCapMicros int64   `json:"budget_cap_micros,omitempty"`
	Priority        int     `json:"priority,omitempty"` // -1000..1000, higher first within the project

	// AdaptiveReplication starts each unit with one replica; a result from
	// a trusted host may then stand alone (spot-checked now and then).
	AdaptiveReplication bool `json:"adaptive_replication,omitempty"`
}

type Job struct {
	ID           int64      `json:"id"`
	State        string     `json:"state"` // waiting: the project's budget cannot fund it yet
	Priority     int        `json:"priority"`
	UnitCount    int        `json:"unit_count"`
	Policy       Policy     `json:"policy"`
	Validator    Validator  `json:"validator"` // its app version's, copied at submit
	RewardMicros int64      `json:"reward_micros"`
	EscrowMicros int64      `json:"escrow_micros"`
	CreatedAt    time.Time  `json:"created_at"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	Progress     *Progress  `json:"progress,omitempty"`
	// RetiredAt is set once the job's inputs and results were deleted.
	RetiredAt *time.Time     `json:"retired_at,omitempty"`
	Webhook   *WebhookStatus `json:"webhook,omitempty"`

	AdaptiveReplication bool `json:"adaptive_replication"` // see SubmitJobRequest
}

// Progress counts a job's units and tasks by state.
type Progress struct {
	Units       map[string]int `json:"units"`
	Tasks       map[string]int `json:"tasks"`
	Outcomes    map[string]int `json:"outcomes"`
	Validations map[string]int `json:"validations"`
	CPUSeconds  float64        `json:"cpu_seconds"`
	// Throughput in units finished (done or failed) per hour: over the last
	// hour (or the job's age, if younger), and over the job's life.
	UnitsPerHour         float64 `json:"units_per_hour"`
	UnitsPerHourLifetime float64 `json:"units_per_hour_lifetime"`
	// ETASeconds is open units ÷ UnitsPerHour; null when unknown (nothing
	// finished in the last hour, or the job is not running).
	ETASeconds *int64 `json:"eta_seconds"`
	// Errors are the latest tasks whose app failed, latest first; how many
	// failed in all is Outcomes["error"].
	Errors []TaskError `json:"errors"`
}

// Result is one line of a job's results (NDJSON): the unit's input and,
// once validated, its canonical output (base64 in JSON).
type Result struct {
	Seq    int             `json:"seq"`
	State  string          `json:"state"`
	Error  string          `json:"error,omitempty"`
	Input  json.RawMessage `json:"input,omitempty"`
	Output []byte          `json:"output,omitempty"`
	// InputRef, for a unit cut from a blob, replaces Input.
	InputRef *InputRef `json:"input_ref,omitempty"`
}

// CreateContributorRequest signs up a contributor. With Email and Password
// (both or neither) the contributor can also sign in to the dashboard, as
// if they had signed up there; without, the account is API-only.
type CreateContributorRequest struct {
	Name     string `json:"name"`
	Email    string `json:"email,omitempty"`
	Password string `json:"password,omitempty"`
}

type Contributor struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Email      string `json:"email,omitempty"`
	AccountKey string `json:"account_key,omitempty"`
}

type RegisterHostRequest struct {
	Name     string `json:"name"`
	Platform string `json:"platform"`
	Cores    int    `json:"cores"`
	// OpsPerSecond is the host's benchmark, for credit; absent if unknown.
	OpsPerSecond *float64 `json:"ops_per_second,omitempty"`
}

type Host struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	HostToken string `json:"host_token,omitempty"`
}

type WorkRequest struct {
	// MaxTasks is how many tasks the host can start now; 0 leases none
	// and only asks for cancel_tasks.
	MaxTasks int `json:"max_tasks"`
	// SkipJobs lists jobs whose tasks the host would not finish before
	// their deadlines, at the pace it has measured: none of theirs is sent.
	SkipJobs []int64 `json:"skip_jobs,omitempty"`
	// OpsPerSecond is the host's benchmark, for credit; absent if unknown.
	OpsPerSecond *float64 `json:"ops_per_second,omitempty"`
}

type WorkResponse struct {
	Tasks []Task `json:"tasks"`
	// RetryAfterSeconds is how long to wait before asking again when no
	// task was handed out.
	RetryAfterSeconds int `json:"retry_after_seconds,omitempty"`
	// CancelTasks lists tasks this host holds whose job was cancelled:
	// stop them and report nothing.
	CancelTasks []int64 `json:"cancel_tasks,omitempty"`
}

// Task is a leased replica: run the module on the input before the deadline.
type Task struct {
	ID           int64           `json:"id"`
	JobID        int64           `json:"job_id"`
	App          string          `json:"app"`
	ModuleSHA256 string          `json:"module_sha256"`
	Input        json.RawMessage `json:"input"`
	Deadline     time.Time       `json:"deadline"`
	InputRef     *InputRef       `json:"input_ref,omitempty"` // when set, Input is empty: fetch the range
	ProjectID    int64           `json:"project_id"`
	// ModuleSignature is the ed25519 signature over the module's raw
	// SHA-256, and SigningKey the project's public key (base64 in JSON):
	// the worker checks both, and pins the key, before running anything.
	ModuleSignature []byte `json:"module_signature"`
	SigningKey      []byte `json:"signing_key"`
}

type ReportRequest struct {
	Reports []Report `json:"reports"`
}

type Report struct {
	TaskID     int64   `json:"task_id"`
	Outcome    string  `json:"outcome"`
	Output     []byte  `json:"output,omitempty"`
	CPUSeconds float64 `json:"cpu_seconds"`
	Stderr     string  `json:"stderr,omitempty"`
}

type ReportResponse struct {
	Accepted int `json:"accepted"`
	// CancelTasks is as in WorkResponse.
	CancelTasks []int64 `json:"cancel_tasks,omitempty"`
}

// Earnings are a contributor's ledger balances. AvailableMicros below zero
// is a debt (a reward clawed back after it was paid).
type Earnings struct {
	Currency        string         `json:"currency"`
	AvailableMicros int64          `json:"available_micros"`
	PendingMicros   int64          `json:"pending_micros"`
	InFlightMicros  int64          `json:"in_flight_micros"`
	PaidMicros      int64          `json:"paid_micros"`
	TotalCredit     float64        `json:"total_credit"`
	RAC             float64        `json:"rac"`
	Hosts           []HostEarnings `json:"hosts"`
}

type HostEarnings struct {
	HostID        int64      `json:"host_id"`
	Name          string     `json:"name"`
	LastContactAt *time.Time `json:"last_contact_at,omitempty"`
	TasksValid    int        `json:"tasks_valid"`
	TasksInvalid  int        `json:"tasks_invalid"`
	TasksPending  int        `json:"tasks_pending"`
	PendingMicros int64      `json:"pending_micros"`
	EarnedMicros  int64      `json:"earned_micros"`
	TotalCredit   float64    `json:"total_credit"`
	RAC           float64    `json:"rac"`
}

// RefusedCredit is a step of a task's reward (Kind reserve, post or void)
// the ledger refused, set aside and retried from RetryAt; until it is
// recorded its job stays open.
type RefusedCredit struct {
	Kind          string    `json:"kind"`
	TaskID        int64     `json:"task_id"`
	JobID         int64     `json:"job_id"`
	ContributorID int64     `json:"contributor_id"`
	AmountMicros  int64     `json:"amount_micros"`
	FeeMicros     int64     `json:"fee_micros"`
	Reason        string    `json:"reason"`
	Attempts      int       `json:"attempts"`
	RefusedAt     time.Time `json:"refused_at"`
	RetryAt       time.Time `json:"retry_at"`
}

type LedgerAudit struct {
	Balanced         bool     `json:"balanced"`
	Transactions     int      `json:"transactions"`
	Entries          int      `json:"entries"`
	Sum              int64    `json:"sum"`
	Unbalanced       int      `json:"unbalanced"`
	NegativeAccounts []string `json:"negative_accounts,omitempty"`
	StaleBalances    int      `json:"stale_balances"`
}
