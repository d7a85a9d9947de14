package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nightshift-platform/nightshift/coordinator/store"
)

func (t *Tx) TaskListByHostSince(ctx context.Context, hostID int64, since time.Time) ([]store.HostTask, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+taskColumns+`, job_id FROM tasks
		WHERE host_id = $1 AND outcome = 'success' AND received_at >= $2 ORDER BY id`, hostID, ts(since))
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.HostTask, error) {
		var ht store.HostTask
		var err error
		ht.Task, err = scanTaskWith(row, &ht.JobID)
		return ht, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing the results of host %d: %w", hostID, err)
	}
	return out, nil
}

func (t *Tx) ClawbackInsert(ctx context.Context, c store.Clawback) (int64, error) {
	var id int64
	err := t.tx.QueryRow(ctx, `INSERT INTO clawbacks (host_id, since, reason, requested_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		c.HostID, nullTS(c.Since), c.Reason, ts(c.RequestedAt)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("requesting a clawback of host %d: %w", c.HostID, err)
	}
	return id, nil
}

const clawbackColumns = `id, host_id, since, reason, requested_at, done_at, tasks_invalidated, units_reopened, units_failed, amount_micros`

func scanClawback(row pgx.CollectableRow) (store.Clawback, error) {
	var c store.Clawback
	var since, done pgtype.Timestamptz
	err := row.Scan(&c.ID, &c.HostID, &since, &c.Reason, &c.RequestedAt, &done, &c.TasksInvalidated, &c.UnitsReopened, &c.UnitsFailed, &c.AmountMicros)
	c.Since, c.DoneAt, c.RequestedAt = fromTS(since), fromTS(done), c.RequestedAt.UTC()
	return c, err
}

func (t *Tx) ClawbackListPending(ctx context.Context, limit int) ([]store.Clawback, error) {
	lock := " FOR UPDATE SKIP LOCKED"
	if t.readOnly {
		lock = ""
	}
	rows, _ := t.tx.Query(ctx, `SELECT `+clawbackColumns+` FROM clawbacks WHERE done_at IS NULL ORDER BY id LIMIT $1`+lock, limit)
	out, err := pgx.CollectRows(rows, scanClawback)
	if err != nil {
		return nil, fmt.Errorf("listing pending clawbacks: %w", err)
	}
	return out, nil
}

func (t *Tx) ClawbackFinish(ctx context.Context, c store.Clawback) error {
	_, err := t.tx.Exec(ctx, `UPDATE clawbacks SET done_at = $1, since = $2, tasks_invalidated = $3, units_reopened = $4,
		units_failed = $5, amount_micros = $6 WHERE id = $7`,
		ts(c.DoneAt), nullTS(c.Since), c.TasksInvalidated, c.UnitsReopened, c.UnitsFailed, c.AmountMicros, c.ID)
	if err != nil {
		return fmt.Errorf("recording clawback %d: %w", c.ID, err)
	}
	return nil
}

func (t *Tx) ClawbackList(ctx context.Context, hostID int64) ([]store.Clawback, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+clawbackColumns+` FROM clawbacks WHERE host_id = $1 ORDER BY id DESC`, hostID)
	out, err := pgx.CollectRows(rows, scanClawback)
	if err != nil {
		return nil, fmt.Errorf("listing the clawbacks of host %d: %w", hostID, err)
	}
	return out, nil
}
