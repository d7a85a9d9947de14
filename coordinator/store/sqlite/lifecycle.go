package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// JobGetForUpdate needs no row lock: the single writer already excludes
// every other transaction.
func (t *Tx) JobGetForUpdate(ctx context.Context, id int64) (workunits.Job, error) {
	return t.JobGet(ctx, id)
}

func (t *Tx) JobCancel(ctx context.Context, id int64, reason string) (store.JobCancelResult, error) {
	var r store.JobCancelResult
	res, err := t.tx.ExecContext(ctx, `UPDATE jobs SET state = ? WHERE id = ? AND state IN (?, ?)`,
		workunits.JobCancelled, id, workunits.JobActive, workunits.JobWaiting)
	if err != nil {
		return r, fmt.Errorf("cancelling job %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return r, err
	}
	res, err = t.tx.ExecContext(ctx, `UPDATE units SET state = ?, error = ? WHERE job_id = ? AND state = ?`,
		workunits.UnitFailed, reason, id, workunits.UnitOpen)
	if err != nil {
		return r, fmt.Errorf("ending the open units of job %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	r.UnitsEnded = int(n)
	res, err = t.tx.ExecContext(ctx, `UPDATE tasks SET state = ?, outcome = ? WHERE job_id = ? AND state = ?`,
		workunits.TaskOver, workunits.OutcomeNotNeeded, id, workunits.TaskUnsent)
	if err != nil {
		return r, fmt.Errorf("withdrawing the unsent tasks of job %d: %w", id, err)
	}
	n, _ = res.RowsAffected()
	r.TasksWithdrawn = int(n)
	r.Unchecked, err = collect(ctx, t, func(row scanner) (workunits.Task, error) {
		var tk workunits.Task
		err := row.Scan(&tk.ID, &tk.UnitID, &tk.HostID)
		return tk, err
	}, `UPDATE tasks SET validate_state = ? WHERE job_id = ? AND outcome = ? AND validate_state IN (?, ?)
		RETURNING id, unit_id, host_id`,
		workunits.ValidateUnchecked, id, workunits.OutcomeSuccess, workunits.ValidatePending, workunits.ValidateInconclusive)
	if err != nil {
		return r, fmt.Errorf("ending the judging of job %d's results: %w", id, err)
	}
	slices.SortFunc(r.Unchecked, func(a, b workunits.Task) int { return cmp.Compare(a.ID, b.ID) })
	return r, nil
}

func (t *Tx) JobListUnsettled(ctx context.Context, limit int) ([]int64, error) {
	ids, err := t.int64s(ctx, `SELECT id FROM jobs WHERE state = ? AND finished_at IS NULL ORDER BY id LIMIT ?`,
		workunits.JobCancelled, limit)
	if err != nil {
		return nil, fmt.Errorf("listing cancelled jobs to settle: %w", err)
	}
	return ids, nil
}

func (t *Tx) JobListSettleable(ctx context.Context, jobIDs []int64) ([]int64, error) {
	var out []int64
	err := chunks(jobIDs, func(ids []int64) error {
		args := append(int64Args(ids), workunits.JobCancelled)
		found, err := t.int64s(ctx, `SELECT j.id FROM jobs j
			WHERE j.id IN (`+placeholders(len(ids))+`) AND j.state = ? AND j.finished_at IS NULL
			  AND NOT EXISTS (SELECT 1 FROM money_queue q WHERE q.job_id = j.id)
			  AND NOT EXISTS (SELECT 1 FROM money_refused r WHERE r.job_id = j.id)
			ORDER BY j.id`, args...)
		out = append(out, found...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("finding cancelled jobs to settle: %w", err)
	}
	return out, nil
}

func (t *Tx) JobSettleMany(ctx context.Context, ids []int64, now time.Time) error {
	err := chunks(ids, func(ids []int64) error {
		args := append([]any{now.UnixMilli(), workunits.JobCancelled}, int64Args(ids)...)
		_, err := t.tx.ExecContext(ctx, `UPDATE jobs SET finished_at = ?
			WHERE state = ? AND finished_at IS NULL AND id IN (`+placeholders(len(ids))+`)`, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("settling %d cancelled jobs: %w", len(ids), err)
	}
	return nil
}

func (t *Tx) JobRetire(ctx context.Context, id int64, now time.Time) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE jobs SET retired_at = coalesce(retired_at, ?) WHERE id = ?`, now.UnixMilli(), id); err != nil {
		return fmt.Errorf("retiring job %d: %w", id, err)
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE units SET input = x'' WHERE job_id = ? AND length(input) > 0`, id); err != nil {
		return fmt.Errorf("deleting the inputs of job %d: %w", id, err)
	}
	if _, err := t.tx.ExecContext(ctx, `UPDATE tasks SET output = NULL WHERE job_id = ? AND output IS NOT NULL`, id); err != nil {
		return fmt.Errorf("deleting the outputs of job %d: %w", id, err)
	}
	return nil
}

func (t *Tx) JobLifecycleGet(ctx context.Context, id int64) (store.JobLifecycle, error) {
	var l store.JobLifecycle
	var retired sql.NullInt64
	if err := t.tx.QueryRowContext(ctx, `SELECT retired_at FROM jobs WHERE id = ?`, id).Scan(&retired); err != nil {
		return l, notFound(err, "job %d not found", id)
	}
	l.RetiredAt = fromMillis(retired)
	var w store.WebhookStatus
	var event, state sql.NullString
	var attempts sql.NullInt64
	var lastError sql.NullString
	var next sql.NullInt64
	err := t.tx.QueryRowContext(ctx, `SELECT w.url, d.event, d.state, d.attempts, d.last_error, d.next_attempt_at
		FROM job_webhooks w LEFT JOIN webhook_deliveries d ON d.job_id = w.job_id
		WHERE w.job_id = ? ORDER BY d.id DESC LIMIT 1`, id).Scan(&w.URL, &event, &state, &attempts, &lastError, &next)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return l, nil
	case err != nil:
		return l, fmt.Errorf("loading the webhook of job %d: %w", id, err)
	}
	w.State = store.WebhookIdle
	if state.Valid {
		w.Event, w.State, w.Attempts, w.LastError = event.String, state.String, int(attempts.Int64), lastError.String
		if w.State == store.WebhookPending {
			w.NextAttemptAt = fromMillis(next)
		}
	}
	l.Webhook = &w
	return l, nil
}

func (t *Tx) TaskListCancelled(ctx context.Context, hostID int64) ([]int64, error) {
	ids, err := t.int64s(ctx, `SELECT t.id FROM tasks t JOIN jobs j ON j.id = t.job_id
		WHERE t.host_id = ? AND t.state = ? AND j.state = ? ORDER BY t.id`,
		hostID, workunits.TaskInProgress, workunits.JobCancelled)
	if err != nil {
		return nil, fmt.Errorf("listing cancelled tasks of host %d: %w", hostID, err)
	}
	return ids, nil
}

// InputBlobsRelease needs no lock: the single writer serialises it with
// every submission.
func (t *Tx) InputBlobsRelease(ctx context.Context, projectID, jobID int64) ([]string, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT DISTINCT input_blob FROM units
		WHERE job_id = ? AND input_blob <> '' ORDER BY input_blob`, jobID)
	if err != nil {
		return nil, fmt.Errorf("listing the input blobs of job %d: %w", jobID, err)
	}
	var shas []string
	for rows.Next() {
		var sha string
		if err := rows.Scan(&sha); err != nil {
			rows.Close()
			return nil, fmt.Errorf("listing the input blobs of job %d: %w", jobID, err)
		}
		shas = append(shas, sha)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing the input blobs of job %d: %w", jobID, err)
	}
	var deleted []string
	for _, sha := range shas {
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM project_blobs WHERE project_id = ? AND sha256 = ?
			AND NOT EXISTS (SELECT 1 FROM units u JOIN jobs j ON j.id = u.job_id
				WHERE u.input_blob = ? AND j.project_id = ? AND j.id <> ? AND j.retired_at IS NULL)`,
			projectID, sha, sha, projectID, jobID); err != nil {
			return deleted, fmt.Errorf("releasing project %d's grant of blob %s: %w", projectID, sha, err)
		}
		res, err := t.tx.ExecContext(ctx, `DELETE FROM input_blobs WHERE sha256 = ?
			AND NOT EXISTS (SELECT 1 FROM project_blobs p WHERE p.sha256 = ?)
			AND NOT EXISTS (SELECT 1 FROM units u JOIN jobs j ON j.id = u.job_id
				WHERE u.input_blob = ? AND j.id <> ? AND j.retired_at IS NULL)`, sha, sha, sha, jobID)
		if err != nil {
			return deleted, fmt.Errorf("deleting blob %s: %w", sha, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return deleted, fmt.Errorf("deleting blob %s: %w", sha, err)
		} else if n == 0 {
			continue
		}
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM blob_parts WHERE sha256 = ?`, sha); err != nil {
			return deleted, fmt.Errorf("deleting the parts of blob %s: %w", sha, err)
		}
		deleted = append(deleted, sha)
	}
	return deleted, nil
}

func (t *Tx) WebhookSet(ctx context.Context, jobID int64, url, secret string) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO job_webhooks (job_id, url, secret) VALUES (?, ?, ?)
		ON CONFLICT (job_id) DO UPDATE SET url = excluded.url, secret = excluded.secret`, jobID, url, secret); err != nil {
		return fmt.Errorf("setting the webhook of job %d: %w", jobID, err)
	}
	return nil
}

func (t *Tx) WebhookJobs(ctx context.Context, jobIDs []int64) ([]int64, error) {
	var out []int64
	err := chunks(jobIDs, func(ids []int64) error {
		found, err := t.int64s(ctx, `SELECT job_id FROM job_webhooks WHERE job_id IN (`+placeholders(len(ids))+`) ORDER BY job_id`, int64Args(ids)...)
		out = append(out, found...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("finding jobs with webhooks: %w", err)
	}
	return out, nil
}

func (t *Tx) WebhookDeliveryAddMany(ctx context.Context, events []store.WebhookEvent) error {
	for _, e := range events {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (job_id, event, state, next_attempt_at, created_at)
			SELECT job_id, ?, ?, ?, ? FROM job_webhooks WHERE job_id = ?
			ON CONFLICT (job_id, event) DO NOTHING`,
			e.Event, store.WebhookPending, e.At.UnixMilli(), e.At.UnixMilli(), e.JobID); err != nil {
			return fmt.Errorf("enqueueing %s for job %d: %w", e.Event, e.JobID, err)
		}
	}
	return nil
}

const deliveryColumns = `d.id, d.job_id, d.event, w.url, w.secret, d.state, d.attempts, d.last_error,
	d.next_attempt_at, d.created_at, d.delivered_at`

func scanDelivery(row interface{ Scan(...any) error }) (store.WebhookDelivery, error) {
	var d store.WebhookDelivery
	var next, created int64
	var delivered sql.NullInt64
	err := row.Scan(&d.ID, &d.JobID, &d.Event, &d.URL, &d.Secret, &d.State, &d.Attempts, &d.LastError, &next, &created, &delivered)
	d.NextAttemptAt, d.CreatedAt, d.DeliveredAt = time.UnixMilli(next).UTC(), time.UnixMilli(created).UTC(), fromMillis(delivered)
	return d, err
}

func (t *Tx) WebhookDeliveryClaim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]store.WebhookDelivery, error) {
	out, err := collect(ctx, t, scanDelivery, `SELECT `+deliveryColumns+`
		FROM webhook_deliveries d JOIN job_webhooks w ON w.job_id = d.job_id
		WHERE d.state = ? AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?`,
		store.WebhookPending, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("claiming webhook deliveries: %w", err)
	}
	for i := range out {
		if _, err := t.tx.ExecContext(ctx, `UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?`,
			leaseUntil.UnixMilli(), out[i].ID); err != nil {
			return nil, fmt.Errorf("claiming webhook delivery %d: %w", out[i].ID, err)
		}
		out[i].NextAttemptAt = time.UnixMilli(leaseUntil.UnixMilli()).UTC()
	}
	return out, nil
}

func (t *Tx) WebhookDeliveryUpdate(ctx context.Context, u store.WebhookDeliveryUpdate) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = ?, attempts = ?, last_error = ?,
		next_attempt_at = ?, delivered_at = ? WHERE id = ?`,
		u.State, u.Attempts, u.LastError, u.NextAttemptAt.UnixMilli(), millis(u.DeliveredAt), u.ID)
	if err != nil {
		return fmt.Errorf("updating webhook delivery %d: %w", u.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return workunits.Errorf(workunits.ENOTFOUND, "webhook delivery %d not found", u.ID)
	}
	return nil
}

func (t *Tx) WebhookDeliveryGet(ctx context.Context, id int64) (store.WebhookDelivery, error) {
	d, err := scanDelivery(t.tx.QueryRowContext(ctx, `SELECT `+deliveryColumns+`
		FROM webhook_deliveries d JOIN job_webhooks w ON w.job_id = d.job_id WHERE d.id = ?`, id))
	if err != nil {
		return d, notFound(err, "webhook delivery %d not found", id)
	}
	return d, nil
}
