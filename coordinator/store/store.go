// Package store is the coordinator's persistence boundary: one interface,
// implemented by the embedded SQLite store and (later) PostgreSQL, and held
// to one behaviour by the conformance suite in storetest.
//
// Methods are named Noun-Verb and work in batches where the hot path needs
// them. Missing rows are reported as workunits.ENOTFOUND.
package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Store runs work in transactions.
type Store interface {
	// InTx runs fn in one read-write transaction, committing if fn returns
	// nil and rolling back otherwise. Concurrent transactions that touch the
	// same rows are serialised.
	InTx(ctx context.Context, fn func(Tx) error) error
	// InReadTx runs fn in one read-only transaction, which neither waits
	// for writers nor makes them wait: on SQLite it does not take the
	// database's write lock. It is for answering reads and for seeing
	// whether there is work before opening InTx for it. A method that
	// writes fails. TaskUnitsOverdue and JobListFinishable lock nothing
	// here, so what they return must be read again in InTx before acting.
	InReadTx(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// Tx is everything the coordinator can do inside a transaction.
type Tx interface {
	KeyTx       // members and API keys: keys.go
	LifecycleTx // cancel, retire, webhooks: lifecycle.go
	InputTx
	SigningTx
	FairshareTx
	CreditTx   // credit and teams: credit.go
	TrustTx    // host trust and quotas: trust.go
	PayoutTx   // payout runs and statements: payouts.go
	ClawbackTx // reversing a cheating host's results: clawback.go
	DashboardTx
	MetricsTx // platform-wide totals for /metrics: metrics.go
	// HostContactTx: host states and web preferences, contact.go.
	HostContactTx

	PayoutSettingsTx // how and where contributors are paid: payout_settings.go
	SessionTx        // web accounts and dashboard sessions: sessions.go
	ProjectInsert(ctx context.Context, p ProjectInsertParams) (workunits.Project, error)
	ProjectGet(ctx context.Context, id int64) (workunits.Project, error)
	// ProjectGetByKeyHash finds the project of a live (unrevoked) API key.
	ProjectGetByKeyHash(ctx context.Context, keyHash string) (workunits.Project, error)

	ContributorInsert(ctx context.Context, p ContributorInsertParams) (workunits.Contributor, error)
	ContributorGetByKeyHash(ctx context.Context, keyHash string) (workunits.Contributor, error)

	HostInsert(ctx context.Context, p HostInsertParams) (workunits.Host, error)
	HostGetByTokenHash(ctx context.Context, tokenHash string) (workunits.Host, error)
	// HostTouchMany records when hosts were last heard from; a contact
	// never moves a host's last contact back in time.
	HostTouchMany(ctx context.Context, contacts map[int64]time.Time) error
	// HostContributorMany maps each given host to its contributor.
	HostContributorMany(ctx context.Context, hostIDs []int64) (map[int64]int64, error)

	// BlobPut stores data under its SHA-256 (hex) unless it is already there.
	BlobPut(ctx context.Context, sha256 string, data []byte) error
	BlobGet(ctx context.Context, sha256 string) ([]byte, error)
	// BlobReferenced reports whether some app version uses the blob as its module.
	BlobReferenced(ctx context.Context, sha256 string) (bool, error)

	// AppVersionInsert adds the next version of an app, creating the app
	// on its first version.
	AppVersionInsert(ctx context.Context, p AppVersionInsertParams) (workunits.AppVersion, error)
	// AppVersionGet finds a project's app version; version 0 means the
	// latest one not deprecated.
	AppVersionGet(ctx context.Context, projectID int64, appName string, version int) (workunits.AppVersion, error)

	JobInsert(ctx context.Context, job workunits.Job) (workunits.Job, error)
	JobGet(ctx context.Context, id int64) (workunits.Job, error)
	// JobGetMany loads the given jobs, in id order.
	JobGetMany(ctx context.Context, ids []int64) ([]workunits.Job, error)
	// JobFinish marks an active job done at now; a job already done keeps
	// the time it finished at.
	JobFinish(ctx context.Context, id int64, now time.Time) error
	// JobFinishMany is JobFinish for many jobs in one statement.
	JobFinishMany(ctx context.Context, ids []int64, now time.Time) error
	// JobListActive returns the ids of jobs still running, in id order.
	JobListActive(ctx context.Context) ([]int64, error)
	// JobListFinishable returns those of the given jobs that are active but
	// have no open unit, no task in progress and no money row (queued or
	// refused), and locks them for this transaction. A job
	// another transaction has locked is passed over: whoever holds it is
	// finishing it.
	JobListFinishable(ctx context.Context, jobIDs []int64) ([]int64, error)
	JobProgress(ctx context.Context, jobID int64) (JobProgress, error)
	// JobResultList returns up to limit units with Seq > afterSeq, in order.
	JobResultList(ctx context.Context, jobID int64, afterSeq, limit int) ([]UnitResult, error)

	// UnitInsertMany creates one open unit per input, Seq in input order.
	UnitInsertMany(ctx context.Context, jobID int64, inputs [][]byte) ([]workunits.Unit, error)
	// UnitGetManyForUpdate loads units and locks them for this transaction.
	UnitGetManyForUpdate(ctx context.Context, unitIDs []int64) ([]workunits.Unit, error)
	UnitUpdateMany(ctx context.Context, units []workunits.Unit) error

	// TaskInsertMany creates one unsent task per entry of unitIDs.
	TaskInsertMany(ctx context.Context, unitIDs []int64, now time.Time) error
	TaskGetMany(ctx context.Context, taskIDs []int64) ([]workunits.Task, error)
	TaskListByUnits(ctx context.Context, unitIDs []int64) ([]workunits.Task, error)
	// TaskUpdateMany stores the state, outcome, validate state and report
	// fields of each task and, for each task with an entry in outputs, its
	// output (nil or empty: an empty output). Every key of outputs must be
	// one of the tasks.
	TaskUpdateMany(ctx context.Context, tasks []workunits.Task, outputs map[int64][]byte) error
	// TaskOutputGetMany returns the stored output of each given task that
	// has one (reported success); tasks without are absent from the map.
	TaskOutputGetMany(ctx context.Context, taskIDs []int64) (map[int64][]byte, error)
	// TaskLease hands up to Max unsent tasks of active jobs to a host, in
	// fair share across projects (see FairshareTx), never two tasks of one unit to hosts of the same
	// contributor: replicas that check each other must come from different
	// people.
	TaskLease(ctx context.Context, p TaskLeaseParams) ([]Lease, error)
	// TaskUnitsOverdue returns units having an in-progress task whose
	// deadline is not after now, and locks them for this transaction. A
	// unit another transaction has locked is passed over, so coordinators
	// sweeping at once split the work instead of repeating it.
	TaskUnitsOverdue(ctx context.Context, now time.Time, limit int) ([]int64, error)

	// MoneyQueueAdd queues steps of tasks' rewards (reserve, post, void)
	// for the payer, in the order given: each gets the next Seq. A task has
	// at most one row of each kind, ever.
	MoneyQueueAdd(ctx context.Context, moves []MoneyMove) error
	// MoneyQueueTake removes up to limit rows from the queue, lowest Seq
	// first and returned in Seq order, for this transaction to record: if
	// it rolls back they are queued again. Rows another transaction has
	// taken are passed over.
	MoneyQueueTake(ctx context.Context, limit int) ([]MoneyMove, error)
	// MoneyRefusedAdd sets aside rows the ledger refused, until their
	// RetryAt. The caller has taken them from the queue or from here: a row
	// is queued or refused, never both.
	MoneyRefusedAdd(ctx context.Context, moves []RefusedMoneyMove) error
	// MoneyRefusedTake removes up to limit refused rows whose RetryAt is
	// not after now, in Seq order, for this transaction to retry: if it
	// rolls back they stay refused. Rows another transaction has taken are
	// passed over.
	MoneyRefusedTake(ctx context.Context, now time.Time, limit int) ([]RefusedMoneyMove, error)
	// MoneyRefusedList returns up to limit refused rows, in Seq order.
	MoneyRefusedList(ctx context.Context, limit int) ([]RefusedMoneyMove, error)
	// MoneyPayable reports whether a row is queued or a refused one is due
	// for retry at now.
	MoneyPayable(ctx context.Context, now time.Time) (bool, error)

	// LedgerRecordMany records balanced transactions, each once per key.
	// recorded[i] is false if the same transaction was already recorded
	// under txs[i].Key (earlier, or earlier in txs). It fails with a
	// workunits.ECONFLICT error if a key was used for different entries and
	// a workunits.EINSUFFICIENT error if an account that may not go
	// negative would end the batch below zero. A refused batch writes
	// nothing.
	LedgerRecordMany(ctx context.Context, txs []payouts.Transaction, now time.Time) (recorded []bool, err error)
	LedgerBalance(ctx context.Context, account payouts.Account) (int64, error)
	// LedgerBalanceMany returns the balance of each given account; an
	// account never used has none in the map, and so reads as 0.
	LedgerBalanceMany(ctx context.Context, accounts []payouts.Account) (map[payouts.Account]int64, error)
	// LedgerAccountSum sums the entries on account of the transactions
	// whose key starts with keyPrefix: e.g. what a contributor was paid out
	// is minus the sum of "settle:" entries on their inflight account.
	LedgerAccountSum(ctx context.Context, account payouts.Account, keyPrefix string) (int64, error)
	LedgerAudit(ctx context.Context) (LedgerAudit, error)

	ContributorEarnings(ctx context.Context, contributorID int64) ([]HostEarnings, error)

	ProgressTx
}

// LedgerRecord records one transaction with LedgerRecordMany.
func LedgerRecord(ctx context.Context, tx Tx, t payouts.Transaction, now time.Time) (bool, error) {
	recorded, err := tx.LedgerRecordMany(ctx, []payouts.Transaction{t}, now)
	if err != nil {
		return false, err
	}
	return recorded[0], nil
}

// MoneyKind is the step of a task's reward a money queue row records.
type MoneyKind string

const (
	MoneyReserve MoneyKind = "reserve" // success reported: escrow → pending
	MoneyPost    MoneyKind = "post"    // found valid: pending → available and fee
	MoneyVoid    MoneyKind = "void"    // found invalid or unchecked: pending → escrow
	// MoneyClawback reverses a post when the host is found cheating:
	// available → the project's budget, AmountMicros being what the post
	// gave the contributor (the reward less the fee).
	MoneyClawback MoneyKind = "clawback"
)

// MoneyMove is one step of a task's reward waiting for the payer. Seq,
// set by the store, orders the steps: a task's reserve comes before its
// post or void.
type MoneyMove struct {
	Seq           int64
	Kind          MoneyKind
	TaskID        int64
	JobID         int64
	ContributorID int64
	AmountMicros  int64 // the job's reward
	FeeMicros     int64 // post only: the platform's part, fixed when queued
}

// RefusedMoneyMove is a money queue row the ledger refused, kept aside so
// that it neither blocks the rows behind it nor is forgotten.
type RefusedMoneyMove struct {
	MoneyMove
	Reason    string    // the ledger's last refusal
	Attempts  int       // refusals so far
	RefusedAt time.Time // first refusal
	RetryAt   time.Time // not retried before this
}

// LedgerRecordEach records txs in order, each on its own merits: a
// transaction the ledger refuses (workunits.ECONFLICT, EINSUFFICIENT, or
// EINVALID for one that breaks the double-entry rules) is left out with
// its reason in refused[i], and the others are still recorded. recorded[i]
// is as for LedgerRecordMany. err is a failure of the store, after which
// the transaction must roll back.
//
// It tries the whole batch first, so the common case costs one
// LedgerRecordMany; a refused batch is split in halves, the earlier half
// recorded first, down to the transactions refused alone. A refused
// LedgerRecordMany writes nothing, so no half-recorded batch is left.
func LedgerRecordEach(ctx context.Context, tx Tx, txs []payouts.Transaction, now time.Time) (recorded []bool, refused []error, err error) {
	recorded, refused = make([]bool, len(txs)), make([]error, len(txs))
	valid := make([]int, 0, len(txs))
	for i, t := range txs {
		if err := t.Validate(); err != nil {
			refused[i] = workunits.Errorf(workunits.EINVALID, "%v", err)
			continue
		}
		valid = append(valid, i)
	}
	var record func(idx []int) error
	record = func(idx []int) error {
		if len(idx) == 0 {
			return nil
		}
		batch := make([]payouts.Transaction, len(idx))
		for j, i := range idx {
			batch[j] = txs[i]
		}
		rec, err := tx.LedgerRecordMany(ctx, batch, now)
		switch {
		case err == nil:
			for j, i := range idx {
				recorded[i] = rec[j]
			}
			return nil
		case !isRefusal(err):
			return err
		case len(idx) == 1:
			refused[idx[0]] = err
			return nil
		}
		if err := record(idx[:len(idx)/2]); err != nil {
			return err
		}
		return record(idx[len(idx)/2:])
	}
	return recorded, refused, record(valid)
}

// isRefusal tells the ledger refusing what it was asked to record from the
// store failing to answer.
func isRefusal(err error) bool {
	switch workunits.ErrorCode(err) {
	case workunits.ECONFLICT, workunits.EINSUFFICIENT, workunits.EINVALID:
		return true
	}
	return false
}

// LedgerBatch is a batch of ledger transactions checked for recording: the
// drivers share these rules and differ only in how they write.
type LedgerBatch struct {
	Txs    []payouts.Transaction
	Unique []int // index in Txs of the first transaction with each key
}

// NewLedgerBatch validates every transaction and refuses a key repeated in
// the batch with different entries.
func NewLedgerBatch(txs []payouts.Transaction) (LedgerBatch, error) {
	b := LedgerBatch{Txs: txs}
	first := make(map[string]int, len(txs))
	for i, t := range txs {
		if err := t.Validate(); err != nil {
			return b, fmt.Errorf("recording ledger transaction: %w", err)
		}
		j, seen := first[t.Key]
		if !seen {
			first[t.Key] = i
			b.Unique = append(b.Unique, i)
			continue
		}
		if !t.SameEntries(txs[j].EntryMap()) {
			return b, workunits.Errorf(workunits.ECONFLICT, "key %q is used twice in one batch for different transactions", t.Key)
		}
	}
	return b, nil
}

// Recorded marks which transactions of the batch are new, given the keys
// written by it: a repeated key counts once, at its first occurrence.
func (b LedgerBatch) Recorded(written map[string]bool) []bool {
	out := make([]bool, len(b.Txs))
	for _, i := range b.Unique {
		out[i] = written[b.Txs[i].Key]
	}
	return out
}

// Overdrawable returns the accounts the given transactions may take below
// zero: those that MayOwe and that only Overdraft transactions debit. An
// account also debited by an ordinary transaction keeps its floor, so a
// clawback's debt is never deepened by, say, a payout in the same batch.
func Overdrawable(txs []payouts.Transaction) map[payouts.Account]bool {
	out := map[payouts.Account]bool{}
	ordinary := map[payouts.Account]bool{}
	for _, t := range txs {
		for _, e := range t.Entries {
			if e.Amount >= 0 || !e.Account.MayOwe() {
				continue
			}
			if t.Overdraft {
				out[e.Account] = true
			} else {
				ordinary[e.Account] = true
			}
		}
	}
	for a := range ordinary {
		delete(out, a)
	}
	return out
}

// Deltas sums what the given transactions move, per account, in account
// order so that drivers lock balances in one order and never deadlock.
func Deltas(txs []payouts.Transaction) (accounts []payouts.Account, amounts []int64) {
	sum := map[payouts.Account]int64{}
	for _, t := range txs {
		for _, e := range t.Entries {
			sum[e.Account] += e.Amount
		}
	}
	accounts = slices.Sorted(maps.Keys(sum))
	amounts = make([]int64, len(accounts))
	for i, a := range accounts {
		amounts[i] = sum[a]
	}
	return accounts, amounts
}

// CheckFloor refuses a batch that leaves an account below zero that may
// not go there; after is the account's balance once delta is applied, and
// overdraft says the batch may take it below zero (see Overdrawable).
func CheckFloor(account payouts.Account, delta, after int64, overdraft bool) error {
	if delta >= 0 || after >= 0 || account.MayGoNegative() || (overdraft && account.MayOwe()) {
		return nil
	}
	return workunits.Errorf(workunits.EINSUFFICIENT, "%s has %s %s, %s needed",
		account, payouts.FormatMicros(after-delta), payouts.Currency, payouts.FormatMicros(-delta))
}

// ProjectInsertParams makes a project with its first member, an admin
// (AdminName, or FirstAdminName if empty), holding its first key (KeyHash,
// none if empty) under the name FirstKeyName.
type ProjectInsertParams struct {
	Name       string
	KeyHash    string
	KeyPrefix  string
	AdminName  string
	AdminEmail string
	Now        time.Time
	Share      int // 0: workunits.DefaultShare
}

// ContributorInsertParams makes a contributor. Email and PasswordHash are
// empty for one made through the API; another contributor with the same
// email (compared without case) is a workunits.ECONFLICT.
type ContributorInsertParams struct {
	Name    string
	KeyHash string
	Now     time.Time

	// Web accounts only (sessions.go).
	Email        string
	PasswordHash string
	DisplayName  string
}

type HostInsertParams struct {
	ContributorID int64
	Name          string
	Platform      string
	Cores         int
	TokenHash     string
	Now           time.Time
}

type AppVersionInsertParams struct {
	ProjectID    int64
	AppName      string
	ModuleSHA256 string
	Size         int64
	Now          time.Time
	Signature    []byte
	Estimates    workunits.Estimates
	Validator    workunits.Validator // the zero one: bitwise
}

type TaskLeaseParams struct {
	HostID   int64
	Max      int
	SkipJobs []int64 // no task of these jobs
	Now      time.Time
}

// Lease is a task handed to a host, with what the host needs to run it.
type Lease struct {
	TaskID          int64
	UnitID          int64
	JobID           int64
	AppName         string
	ModuleSHA256    string
	Input           []byte
	DeadlineAt      time.Time
	ProjectID       int64
	ModuleSignature []byte              // the app version's, over the module's SHA-256
	SigningKey      []byte              // the project's ed25519 public key; nil if none
	InputRef        *workunits.InputRef // when set, Input is empty
}

// JobProgress counts a job's units and tasks by state.
type JobProgress struct {
	Units       map[workunits.UnitState]int
	Tasks       map[workunits.TaskState]int
	Outcomes    map[workunits.Outcome]int
	Validations map[workunits.ValidateState]int // successful tasks only
	CPUTime     time.Duration
}

// NewJobProgress returns an empty JobProgress ready to count into.
func NewJobProgress() JobProgress {
	return JobProgress{
		Units:       map[workunits.UnitState]int{},
		Tasks:       map[workunits.TaskState]int{},
		Outcomes:    map[workunits.Outcome]int{},
		Validations: map[workunits.ValidateState]int{},
	}
}

// AddTasks counts n tasks sharing a state, outcome and validate state, and
// their CPU time. Only successful tasks have a validation to count.
func (p *JobProgress) AddTasks(st workunits.TaskState, out workunits.Outcome, vs workunits.ValidateState, n int, cpu time.Duration) {
	p.Tasks[st] += n
	if out != workunits.OutcomeNone {
		p.Outcomes[out] += n
	}
	if out == workunits.OutcomeSuccess {
		p.Validations[vs] += n
	}
	p.CPUTime += cpu
}

// UnitResult is a unit as the researcher sees it: its input and, once
// validated, the canonical output.
type UnitResult struct {
	Seq      int
	Input    []byte
	State    workunits.UnitState
	Error    string
	Output   []byte
	InputRef *workunits.InputRef // when set, Input is empty
}

// LedgerAudit is what a check of the whole ledger found.
type LedgerAudit struct {
	Transactions     int
	Entries          int
	Sum              int64    // of every entry: zero in a balanced ledger
	Unbalanced       int      // transactions whose entries do not sum to zero
	NegativeAccounts []string // accounts below zero that may not be (a contributor's available may: a debt)
	StaleBalances    int      // running balances that differ from the sum of their entries
}

// Balanced reports whether the audit found nothing wrong.
func (a LedgerAudit) Balanced() bool {
	return a.Sum == 0 && a.Unbalanced == 0 && len(a.NegativeAccounts) == 0 && a.StaleBalances == 0
}

// HostEarnings is one host's work and pay as its contributor sees it.
type HostEarnings struct {
	HostID        int64
	HostName      string
	LastContactAt time.Time
	TasksValid    int
	TasksInvalid  int
	TasksPending  int   // reported, waiting for other replicas
	PendingMicros int64 // what the pending tasks pay if found valid
	EarnedMicros  int64 // posted to the contributor for valid tasks, after fees
}
