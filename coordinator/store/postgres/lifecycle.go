package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) JobGetForUpdate(ctx context.Context, id int64) (workunits.Job, error) {
	lock := " FOR UPDATE"
	if t.readOnly {
		lock = ""
	}
	rows, _ := t.tx.Query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`+lock, id)
	j, err := pgx.CollectExactlyOneRow(rows, scanJob)
	if err != nil {
		return j, notFound(err, "job %d not found", id)
	}
	return j, nil
}

// JobCancel fails the open units in id order, the order every other writer
// locks units in, so it queues behind a report of the same units instead
// of deadlocking with it.
func (t *Tx) JobCancel(ctx context.Context, id int64, reason string) (store.JobCancelResult, error) {
	var r store.JobCancelResult
	tag, err := t.tx.Exec(ctx, `UPDATE jobs SET state = $1 WHERE id = $2 AND state IN ($3, $4)`,
		workunits.JobCancelled, id, workunits.JobActive, workunits.JobWaiting)
	if err != nil {
		return r, fmt.Errorf("cancelling job %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return r, nil
	}
	// Every unit is locked, done ones too: a report on a late replica of
	// a done unit locks its unit before it reads the job, so it either
	// commits (and queues its money rows) before this cancel looks for
	// results to void, or waits and then sees the job cancelled.
	if _, err := t.tx.Exec(ctx, `SELECT id FROM units WHERE job_id = $1 ORDER BY id FOR UPDATE`, id); err != nil {
		return r, fmt.Errorf("locking the units of job %d: %w", id, err)
	}
	tag, err = t.tx.Exec(ctx, `UPDATE units SET state = $1, error = $2 WHERE job_id = $3 AND state = $4`,
		workunits.UnitFailed, reason, id, workunits.UnitOpen)
	if err != nil {
		return r, fmt.Errorf("ending the open units of job %d: %w", id, err)
	}
	r.UnitsEnded = int(tag.RowsAffected())
	tag, err = t.tx.Exec(ctx, `UPDATE tasks SET state = $1, outcome = $2 WHERE job_id = $3 AND state = $4`,
		workunits.TaskOver, workunits.OutcomeNotNeeded, id, workunits.TaskUnsent)
	if err != nil {
		return r, fmt.Errorf("withdrawing the unsent tasks of job %d: %w", id, err)
	}
	r.TasksWithdrawn = int(tag.RowsAffected())
	rows, _ := t.tx.Query(ctx, `UPDATE tasks SET validate_state = $1 WHERE job_id = $2 AND outcome = $3 AND validate_state IN ($4, $5)
		RETURNING id, unit_id, host_id`,
		workunits.ValidateUnchecked, id, workunits.OutcomeSuccess, workunits.ValidatePending, workunits.ValidateInconclusive)
	r.Unchecked, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (workunits.Task, error) {
		var tk workunits.Task
		err := row.Scan(&tk.ID, &tk.UnitID, &tk.HostID)
		return tk, err
	})
	if err != nil {
		return r, fmt.Errorf("ending the judging of job %d's results: %w", id, err)
	}
	slices.SortFunc(r.Unchecked, func(a, b workunits.Task) int { return cmp.Compare(a.ID, b.ID) })
	return r, nil
}

func (t *Tx) JobListUnsettled(ctx context.Context, limit int) ([]int64, error) {
	rows, _ := t.tx.Query(ctx, `SELECT id FROM jobs WHERE state = $1 AND finished_at IS NULL ORDER BY id LIMIT $2`,
		workunits.JobCancelled, limit)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("listing cancelled jobs to settle: %w", err)
	}
	return ids, nil
}

func (t *Tx) JobListSettleable(ctx context.Context, jobIDs []int64) ([]int64, error) {
	if len(jobIDs) == 0 {
		return nil, nil
	}
	rows, _ := t.tx.Query(ctx, `SELECT j.id FROM jobs j
		WHERE j.id = ANY($1) AND j.state = $2 AND j.finished_at IS NULL
		  AND NOT EXISTS (SELECT 1 FROM money_queue q WHERE q.job_id = j.id)
		  AND NOT EXISTS (SELECT 1 FROM money_refused r WHERE r.job_id = j.id)
		ORDER BY j.id`+t.forUpdateSkipLocked(), jobIDs, workunits.JobCancelled)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("finding cancelled jobs to settle: %w", err)
	}
	return ids, nil
}

func (t *Tx) JobSettleMany(ctx context.Context, ids []int64, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := t.tx.Exec(ctx, `UPDATE jobs SET finished_at = $1 WHERE id = ANY($2) AND state = $3 AND finished_at IS NULL`,
		ts(now), ids, workunits.JobCancelled); err != nil {
		return fmt.Errorf("settling %d cancelled jobs: %w", len(ids), err)
	}
	return nil
}

func (t *Tx) JobRetire(ctx context.Context, id int64, now time.Time) error {
	if _, err := t.tx.Exec(ctx, `UPDATE jobs SET retired_at = coalesce(retired_at, $1) WHERE id = $2`, ts(now), id); err != nil {
		return fmt.Errorf("retiring job %d: %w", id, err)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE units SET input = ''::bytea WHERE job_id = $1 AND length(input) > 0`, id); err != nil {
		return fmt.Errorf("deleting the inputs of job %d: %w", id, err)
	}
	if _, err := t.tx.Exec(ctx, `UPDATE tasks SET output = NULL WHERE job_id = $1 AND output IS NOT NULL`, id); err != nil {
		return fmt.Errorf("deleting the outputs of job %d: %w", id, err)
	}
	return nil
}

func (t *Tx) JobLifecycleGet(ctx context.Context, id int64) (store.JobLifecycle, error) {
	var l store.JobLifecycle
	var retired pgtype.Timestamptz
	if err := t.tx.QueryRow(ctx, `SELECT retired_at FROM jobs WHERE id = $1`, id).Scan(&retired); err != nil {
		return l, notFound(err, "job %d not found", id)
	}
	l.RetiredAt = fromTS(retired)
	var w store.WebhookStatus
	var event, state, lastError pgtype.Text
	var attempts pgtype.Int4
	var next pgtype.Timestamptz
	err := t.tx.QueryRow(ctx, `SELECT w.url, d.event, d.state, d.attempts, d.last_error, d.next_attempt_at
		FROM job_webhooks w LEFT JOIN webhook_deliveries d ON d.job_id = w.job_id
		WHERE w.job_id = $1 ORDER BY d.id DESC NULLS LAST LIMIT 1`, id).Scan(&w.URL, &event, &state, &attempts, &lastError, &next)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return l, nil
	case err != nil:
		return l, fmt.Errorf("loading the webhook of job %d: %w", id, err)
	}
	w.State = store.WebhookIdle
	if state.Valid {
		w.Event, w.State, w.Attempts, w.LastError = event.String, state.String, int(attempts.Int32), lastError.String
		if w.State == store.WebhookPending {
			w.NextAttemptAt = fromTS(next)
		}
	}
	l.Webhook = &w
	return l, nil
}

func (t *Tx) TaskListCancelled(ctx context.Context, hostID int64) ([]int64, error) {
	rows, _ := t.tx.Query(ctx, `SELECT t.id FROM tasks t JOIN jobs j ON j.id = t.job_id
		WHERE t.host_id = $1 AND t.state = $2 AND j.state = $3 ORDER BY t.id`,
		hostID, workunits.TaskInProgress, workunits.JobCancelled)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("listing cancelled tasks of host %d: %w", hostID, err)
	}
	return ids, nil
}

// InputBlobsRelease locks each blob's input_blobs row FOR UPDATE before
// looking for its users, in hash order so two releases never deadlock. A
// submission holding it FOR SHARE (InputBlobLock) has committed its units
// by the time the lock is granted, and READ COMMITTED lets the statements
// after it see them.
func (t *Tx) InputBlobsRelease(ctx context.Context, projectID, jobID int64) ([]string, error) {
	rows, _ := t.tx.Query(ctx, `SELECT DISTINCT input_blob FROM units
		WHERE job_id = $1 AND input_blob <> '' ORDER BY input_blob`, jobID)
	shas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing the input blobs of job %d: %w", jobID, err)
	}
	var deleted []string
	for _, sha := range shas {
		var locked string
		err := t.tx.QueryRow(ctx, `SELECT sha256 FROM input_blobs WHERE sha256 = $1 FOR UPDATE`, sha).Scan(&locked)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			continue // released already
		case err != nil:
			return deleted, fmt.Errorf("locking blob %s: %w", sha, err)
		}
		if _, err := t.tx.Exec(ctx, `DELETE FROM project_blobs p WHERE p.project_id = $1 AND p.sha256 = $2
			AND NOT EXISTS (SELECT 1 FROM units u JOIN jobs j ON j.id = u.job_id
				WHERE u.input_blob = $2 AND u.input_blob <> '' AND j.project_id = $1 AND j.id <> $3 AND j.retired_at IS NULL)`,
			projectID, sha, jobID); err != nil {
			return deleted, fmt.Errorf("releasing project %d's grant of blob %s: %w", projectID, sha, err)
		}
		tag, err := t.tx.Exec(ctx, `DELETE FROM input_blobs b WHERE b.sha256 = $1
			AND NOT EXISTS (SELECT 1 FROM project_blobs p WHERE p.sha256 = $1)
			AND NOT EXISTS (SELECT 1 FROM units u JOIN jobs j ON j.id = u.job_id
				WHERE u.input_blob = $1 AND u.input_blob <> '' AND j.id <> $2 AND j.retired_at IS NULL)`, sha, jobID)
		if err != nil {
			return deleted, fmt.Errorf("deleting blob %s: %w", sha, err)
		}
		if tag.RowsAffected() == 0 {
			continue
		}
		if _, err := t.tx.Exec(ctx, `DELETE FROM blob_parts WHERE sha256 = $1`, sha); err != nil {
			return deleted, fmt.Errorf("deleting the parts of blob %s: %w", sha, err)
		}
		deleted = append(deleted, sha)
	}
	return deleted, nil
}

func (t *Tx) WebhookSet(ctx context.Context, jobID int64, url, secret string) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO job_webhooks (job_id, url, secret) VALUES ($1, $2, $3)
		ON CONFLICT (job_id) DO UPDATE SET url = excluded.url, secret = excluded.secret`, jobID, url, secret); err != nil {
		return fmt.Errorf("setting the webhook of job %d: %w", jobID, err)
	}
	return nil
}

func (t *Tx) WebhookJobs(ctx context.Context, jobIDs []int64) ([]int64, error) {
	if len(jobIDs) == 0 {
		return nil, nil
	}
	rows, _ := t.tx.Query(ctx, `SELECT job_id FROM job_webhooks WHERE job_id = ANY($1) ORDER BY job_id`, jobIDs)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("finding jobs with webhooks: %w", err)
	}
	return ids, nil
}

func (t *Tx) WebhookDeliveryAddMany(ctx context.Context, events []store.WebhookEvent) error {
	if len(events) == 0 {
		return nil
	}
	jobs, names, at := make([]int64, len(events)), make([]string, len(events)), make([]time.Time, len(events))
	for i, e := range events {
		jobs[i], names[i], at[i] = e.JobID, e.Event, ts(e.At)
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO webhook_deliveries (job_id, event, state, next_attempt_at, created_at)
		SELECT w.job_id, x.event, $4, x.at, x.at
		FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS x(job_id, event, at)
		JOIN job_webhooks w ON w.job_id = x.job_id
		ON CONFLICT (job_id, event) DO NOTHING`, jobs, names, at, store.WebhookPending); err != nil {
		return fmt.Errorf("enqueueing %d webhook events: %w", len(events), err)
	}
	return nil
}

const deliveryColumns = `d.id, d.job_id, d.event, w.url, w.secret, d.state, d.attempts, d.last_error,
	d.next_attempt_at, d.created_at, d.delivered_at`

func scanDelivery(row pgx.CollectableRow) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	var delivered pgtype.Timestamptz
	err := row.Scan(&d.ID, &d.JobID, &d.Event, &d.URL, &d.Secret, &d.State, &d.Attempts, &d.LastError,
		&d.NextAttemptAt, &d.CreatedAt, &delivered)
	d.NextAttemptAt, d.CreatedAt, d.DeliveredAt = d.NextAttemptAt.UTC(), d.CreatedAt.UTC(), fromTS(delivered)
	return d, err
}

// WebhookDeliveryClaim takes due rows with SKIP LOCKED, so coordinators
// claiming at once take different deliveries.
func (t *Tx) WebhookDeliveryClaim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.WebhookDelivery, error) {
	rows, _ := t.tx.Query(ctx, `WITH due AS (
			SELECT id FROM webhook_deliveries WHERE state = $1 AND next_attempt_at <= $2
			ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED),
		claimed AS (
			UPDATE webhook_deliveries d SET next_attempt_at = $4 FROM due WHERE d.id = due.id RETURNING d.*)
		SELECT `+deliveryColumns+` FROM claimed d JOIN job_webhooks w ON w.job_id = d.job_id
		ORDER BY d.id`, store.WebhookPending, ts(now), limit, ts(leaseUntil))
	out, err := pgx.CollectRows(rows, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("claiming webhook deliveries: %w", err)
	}
	return out, nil
}

func (t *Tx) WebhookDeliveryUpdate(ctx context.Context, u store.WebhookDeliveryUpdate) error {
	tag, err := t.tx.Exec(ctx, `UPDATE webhook_deliveries SET state = $1, attempts = $2, last_error = $3,
		next_attempt_at = $4, delivered_at = $5 WHERE id = $6`,
		u.State, u.Attempts, u.LastError, ts(u.NextAttemptAt), nullTS(u.DeliveredAt), u.ID)
	if err != nil {
		return fmt.Errorf("updating webhook delivery %d: %w", u.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return workunits.Errorf(workunits.ENOTFOUND, "webhook delivery %d not found", u.ID)
	}
	return nil
}

func (t *Tx) WebhookDeliveryGet(ctx context.Context, id int64) (store.WebhookDelivery, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+deliveryColumns+`
		FROM webhook_deliveries d JOIN job_webhooks w ON w.job_id = d.job_id WHERE d.id = $1`, id)
	d, err := pgx.CollectExactlyOneRow(rows, scanDelivery)
	if err != nil {
		return d, notFound(err, "webhook delivery %d not found", id)
	}
	return d, nil
}
