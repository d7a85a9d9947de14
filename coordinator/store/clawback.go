package store

import (
	"context"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// ClawbackTx is the part of Tx behind clawbacks: reversing what a host
// found cheating was credited (service.ClawBack).
type ClawbackTx interface {
	// TaskListByHostSince returns the host's successful tasks received at
	// or after since, in id order, and the job of each.
	TaskListByHostSince(ctx context.Context, hostID int64, since time.Time) ([]HostTask, error)
	// ClawbackInsert requests a clawback and returns its id.
	ClawbackInsert(ctx context.Context, c Clawback) (int64, error)
	// ClawbackListPending returns up to limit requested clawbacks not yet
	// done, oldest first, and locks them for this transaction; one another
	// transaction has locked is passed over.
	ClawbackListPending(ctx context.Context, limit int) ([]Clawback, error)
	// ClawbackFinish records what a clawback did and marks it done.
	ClawbackFinish(ctx context.Context, c Clawback) error
	// ClawbackList returns a host's clawbacks, newest first.
	ClawbackList(ctx context.Context, hostID int64) ([]Clawback, error)
}

// HostTask is a task with the job it belongs to.
type HostTask struct {
	JobID int64
	Task  workunits.Task
}

// Clawback is one reversal of a host's results: requested, then done.
type Clawback struct {
	ID               int64
	HostID           int64
	Since            time.Time // zero: since the host's first result accepted on trust
	Reason           string
	RequestedAt      time.Time
	DoneAt           time.Time // zero while pending
	TasksInvalidated int
	UnitsReopened    int
	UnitsFailed      int
	AmountMicros     int64 // rewards clawed back (queued for the payer)
}
