// Package payouts holds Nightshift's money rules: a double-entry ledger in
// integer micro-units, and the transactions that fund projects and pay
// contributors for validated results. It performs no I/O; a store records
// the transactions it builds.
package payouts

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Currency is the one currency the ledger keeps today; amounts are in
// millionths of it (micro-units), never floating point.
const Currency = "USD"

// Account names a ledger account. Names are structured so that a person
// reading the ledger can tell whose money it is.
type Account string

// External accounts are the world outside the ledger, and the only ones
// always allowed below zero. ExternalFunding's negative balance is the total
// ever paid in; ExternalPayouts' balance is the total ever paid out to
// contributors.
const (
	ExternalFunding Account = "external:funding"
	ExternalPayouts Account = "external:payouts"
)

// PlatformFees collects the platform's fee on every posted reward.
const PlatformFees Account = "platform:fees"

func ProjectBudget(projectID int64) Account {
	return Account(fmt.Sprintf("project:%d:budget", projectID))
}
func JobEscrow(jobID int64) Account { return Account(fmt.Sprintf("job:%d:escrow", jobID)) }

// ContributorPending holds the rewards of a contributor's reported tasks
// until they are found valid (posted) or not (voided).
func ContributorPending(contributorID int64) Account {
	return Account(fmt.Sprintf("contributor:%d:pending", contributorID))
}

// ContributorAvailable is what a contributor has earned and may be paid.
// A clawback may leave it below zero: a debt, repaid by later earnings.
func ContributorAvailable(contributorID int64) Account {
	return Account(fmt.Sprintf("contributor:%d:available", contributorID))
}

// ContributorInflight holds what a payout run is paying a contributor until
// the payment is settled or returned.
func ContributorInflight(contributorID int64) Account {
	return Account(fmt.Sprintf("contributor:%d:inflight", contributorID))
}

// MayGoNegative reports whether an account's balance may drop below zero.
func (a Account) MayGoNegative() bool { return strings.HasPrefix(string(a), "external:") }

// MayOwe reports whether an account may be taken below zero by a
// transaction marked Overdraft: a contributor's available balance, which a
// clawback may turn into a debt.
func (a Account) MayOwe() bool {
	parts := strings.Split(string(a), ":")
	return len(parts) == 3 && parts[0] == "contributor" && parts[2] == "available"
}

// Entry moves Amount into Account (negative: out of it).
type Entry struct {
	Account Account
	Amount  int64
}

// Transaction is a balanced set of entries recorded together. Key makes it
// idempotent: recording the same key twice records it once. Overdraft lets
// the accounts it debits go below zero if they MayOwe; other accounts keep
// their floor.
type Transaction struct {
	Key       string
	Memo      string
	Entries   []Entry
	Overdraft bool
}

// ErrUnbalanced is returned for a transaction whose entries do not sum to zero.
var ErrUnbalanced = errors.New("transaction does not balance")

// Validate checks the double-entry rules: a key, at least two entries, no
// zero amounts, no account twice, and a sum of exactly zero.
func (t Transaction) Validate() error {
	if t.Key == "" {
		return errors.New("transaction has no idempotency key")
	}
	if len(t.Entries) < 2 {
		return fmt.Errorf("transaction %s: needs at least two entries", t.Key)
	}
	seen := map[Account]bool{}
	var sum int64
	for _, e := range t.Entries {
		if e.Amount == 0 {
			return fmt.Errorf("transaction %s: zero amount for %s", t.Key, e.Account)
		}
		if e.Account == "" {
			return fmt.Errorf("transaction %s: entry without an account", t.Key)
		}
		if seen[e.Account] {
			return fmt.Errorf("transaction %s: account %s appears twice", t.Key, e.Account)
		}
		seen[e.Account] = true
		if (e.Amount > 0 && sum > math.MaxInt64-e.Amount) || (e.Amount < 0 && sum < math.MinInt64-e.Amount) {
			return fmt.Errorf("transaction %s: amounts overflow", t.Key)
		}
		sum += e.Amount
	}
	if sum != 0 {
		return fmt.Errorf("transaction %s: %w (sum %d)", t.Key, ErrUnbalanced, sum)
	}
	return nil
}

// EntryMap is the transaction's entries by account, the form SameEntries
// compares with.
func (t Transaction) EntryMap() map[Account]int64 {
	m := make(map[Account]int64, len(t.Entries))
	for _, e := range t.Entries {
		m[e.Account] = e.Amount
	}
	return m
}

// SameEntries reports whether recorded (account → amount, as a store read
// it back) holds exactly t's entries: a key used again with the same entries
// is a retry, with other entries a conflict.
func (t Transaction) SameEntries(recorded map[Account]int64) bool {
	if len(recorded) != len(t.Entries) {
		return false
	}
	for _, e := range t.Entries {
		if amount, ok := recorded[e.Account]; !ok || amount != e.Amount {
			return false
		}
	}
	return true
}

// transfer is a two-entry transaction moving amount from one account to another.
func transfer(key, memo string, from, to Account, amount int64) Transaction {
	return Transaction{Key: key, Memo: memo, Entries: []Entry{{from, -amount}, {to, amount}}}
}

// Fund pays money from outside into a project's budget. The caller's
// idempotency key makes a retried request fund once.
func Fund(projectID int64, amount int64, requestKey string) Transaction {
	return transfer(fmt.Sprintf("fund:project:%d:%s", projectID, requestKey), "project funded",
		ExternalFunding, ProjectBudget(projectID), amount)
}

// Escrow sets aside, when a job is submitted, the most the job can pay, so
// a validated task can always be paid.
func Escrow(jobID, projectID, amount int64) Transaction {
	return transfer(fmt.Sprintf("escrow:job:%d", jobID), "job submitted: reward set aside",
		ProjectBudget(projectID), JobEscrow(jobID), amount)
}

// Release returns what is left in a finished job's escrow to the project.
func Release(jobID, projectID, amount int64) Transaction {
	return transfer(fmt.Sprintf("release:job:%d", jobID), "job finished: unused reward returned",
		JobEscrow(jobID), ProjectBudget(projectID), amount)
}

// EscrowFor is what a job must set aside: every unit may produce at most
// maxReplicas valid tasks. It fails instead of overflowing.
func EscrowFor(units, maxReplicas int, reward int64) (int64, error) {
	n := int64(units) * int64(maxReplicas)
	if reward < 0 || (reward > 0 && n > math.MaxInt64/reward) {
		return 0, fmt.Errorf("reward %d × %d tasks is out of range", reward, n)
	}
	return n * reward, nil
}

// FormatMicros renders micro-units as a decimal amount, e.g. 1500000 → "1.500000".
func FormatMicros(m int64) string {
	sign := ""
	u := uint64(m)
	if m < 0 {
		sign, u = "-", uint64(-(m+1))+1
	}
	return fmt.Sprintf("%s%d.%06d", sign, u/1_000_000, u%1_000_000)
}
