package store

import (
	"context"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// LifecycleTx is what cancelling, retiring and webhooks need of a store.
type LifecycleTx interface {
	// JobGetForUpdate loads a job and locks it for this transaction, so
	// that cancelling and retiring it are serialised with each other and
	// with finishing it.
	JobGetForUpdate(ctx context.Context, id int64) (workunits.Job, error)
	// JobCancel marks an active or waiting job cancelled: its open units fail with
	// reason and its unsent tasks are withdrawn (over, not_needed). Its
	// successful tasks still waiting to be judged (pending, inconclusive)
	// become unchecked and are returned, for their reservations to be
	// voided. Tasks in progress are left alone; their hosts are told by
	// TaskListCancelled. A job in another state is left as it is.
	JobCancel(ctx context.Context, id int64, reason string) (JobCancelResult, error)
	// JobListUnsettled returns up to limit cancelled jobs whose escrow is
	// not yet returned (finished_at unset), in id order.
	JobListUnsettled(ctx context.Context, limit int) ([]int64, error)
	// JobListSettleable returns those of the given jobs that are cancelled,
	// not yet settled and have no money row waiting for the payer (queued
	// or refused), and locks them for this transaction. A job another
	// transaction has locked is passed over.
	JobListSettleable(ctx context.Context, jobIDs []int64) ([]int64, error)
	// JobSettleMany sets finished_at of the given cancelled, unsettled jobs.
	JobSettleMany(ctx context.Context, ids []int64, now time.Time) error
	// JobRetire sets the job's retired_at (keeping an earlier one) and
	// deletes its units' inputs and its tasks' outputs; the job row, unit
	// and task rows and their counts stay, and so does the ledger.
	JobRetire(ctx context.Context, id int64, now time.Time) error
	// JobLifecycleGet returns when the job was retired and its webhook.
	JobLifecycleGet(ctx context.Context, id int64) (JobLifecycle, error)

	// TaskListCancelled returns the tasks in progress on the host whose
	// job was cancelled, in id order: the host is to stop them.
	TaskListCancelled(ctx context.Context, hostID int64) ([]int64, error)

	// InputBlobsRelease gives back the input blobs a retired job's units
	// read. For each: the project's grant (project_blobs) goes unless a
	// unit of another of its jobs that is not retired still reads the
	// blob; then the blob and its parts go if no project holds a grant
	// and no unit of a job that is not retired reads it. The job itself
	// counts as retired. It returns the hashes of the blobs it deleted.
	// Each blob is locked first (on PostgreSQL its input_blobs row, FOR
	// UPDATE), so a concurrent submission that locked it (InputBlobLock)
	// is seen, and one that did not yet finds it gone.
	InputBlobsRelease(ctx context.Context, projectID, jobID int64) (deleted []string, err error)

	// WebhookSet gives a job a webhook; a second call replaces it.
	WebhookSet(ctx context.Context, jobID int64, url, secret string) error
	// WebhookJobs returns those of the given jobs that have a webhook.
	WebhookJobs(ctx context.Context, jobIDs []int64) ([]int64, error)
	// WebhookDeliveryAddMany enqueues one delivery per event, due at its
	// At, for jobs with a webhook; a job without one is skipped, and an
	// event already enqueued for a job is not enqueued again.
	WebhookDeliveryAddMany(ctx context.Context, events []WebhookEvent) error
	// WebhookDeliveryClaim takes up to limit pending deliveries due at now,
	// oldest due first, and moves their next attempt to leaseUntil, so that
	// no other coordinator sends them meanwhile; a claim whose sender died
	// is taken again once leaseUntil passes. Deliveries another transaction
	// holds are passed over.
	WebhookDeliveryClaim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]WebhookDelivery, error)
	// WebhookDeliveryUpdate stores the outcome of an attempt.
	WebhookDeliveryUpdate(ctx context.Context, u WebhookDeliveryUpdate) error
	// WebhookDeliveryGet returns a delivery by id.
	WebhookDeliveryGet(ctx context.Context, id int64) (WebhookDelivery, error)
}

// JobCancelResult counts what cancelling a job changed.
type JobCancelResult struct {
	UnitsEnded     int // open units failed
	TasksWithdrawn int // unsent tasks withdrawn
	// Unchecked are the successful tasks the cancel left unjudged, now
	// unchecked: ID, UnitID and HostID are set.
	Unchecked []workunits.Task
}

// JobLifecycle is the lifecycle side of a job: retirement and webhook.
type JobLifecycle struct {
	RetiredAt time.Time      // zero unless retired
	Webhook   *WebhookStatus // nil without a webhook
}

// Webhook delivery states.
const (
	WebhookIdle      = "idle"      // no event yet
	WebhookPending   = "pending"   // to be sent at NextAttemptAt
	WebhookDelivered = "delivered" // the receiver answered 2xx
	WebhookFailed    = "failed"    // given up after the last attempt
)

// WebhookStatus is a job's webhook as its owner sees it: never the secret.
type WebhookStatus struct {
	URL           string
	Event         string // "" while idle
	State         string
	Attempts      int
	LastError     string
	NextAttemptAt time.Time // zero unless pending
}

// WebhookEvent is an event to deliver to a job's webhook.
type WebhookEvent struct {
	JobID int64
	Event string // job.done, job.cancelled, job.failed
	At    time.Time
}

// WebhookDelivery is one event for one job's webhook.
type WebhookDelivery struct {
	ID            int64
	JobID         int64
	Event         string
	URL           string
	Secret        string
	State         string
	Attempts      int
	LastError     string
	NextAttemptAt time.Time
	CreatedAt     time.Time
	DeliveredAt   time.Time
}

// WebhookDeliveryUpdate is the outcome of one attempt.
type WebhookDeliveryUpdate struct {
	ID            int64
	State         string
	Attempts      int
	LastError     string
	NextAttemptAt time.Time
	DeliveredAt   time.Time // set when delivered
}
