package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
)

func (t *Tx) TaskListByHostSince(ctx context.Context, hostID int64, since time.Time) ([]store.HostTask, error) {
	out, err := collect(ctx, t, func(row scanner) (store.HostTask, error) {
		var ht store.HostTask
		var err error
		ht.Task, err = scanTask(row, &ht.JobID)
		return ht, err
	}, `SELECT `+taskColumns+`, job_id FROM tasks
		WHERE host_id = ? AND outcome = 'success' AND received_at >= ? ORDER BY id`, hostID, since.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("listing the results of host %d: %w", hostID, err)
	}
	return out, nil
}

func (t *Tx) ClawbackInsert(ctx context.Context, c store.Clawback) (int64, error) {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO clawbacks (host_id, since, reason, requested_at) VALUES (?, ?, ?, ?)`,
		c.HostID, millis(c.Since), c.Reason, c.RequestedAt.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("requesting a clawback of host %d: %w", c.HostID, err)
	}
	return res.LastInsertId()
}

const clawbackColumns = `id, host_id, since, reason, requested_at, done_at, tasks_invalidated, units_reopened, units_failed, amount_micros`

func scanClawback(row scanner) (store.Clawback, error) {
	var c store.Clawback
	var since, done sql.NullInt64
	var requested int64
	err := row.Scan(&c.ID, &c.HostID, &since, &c.Reason, &requested, &done, &c.TasksInvalidated, &c.UnitsReopened, &c.UnitsFailed, &c.AmountMicros)
	c.Since, c.DoneAt, c.RequestedAt = fromMillis(since), fromMillis(done), time.UnixMilli(requested).UTC()
	return c, err
}

// ClawbackListPending needs no row locks: SQLite has one writer.
func (t *Tx) ClawbackListPending(ctx context.Context, limit int) ([]store.Clawback, error) {
	out, err := collect(ctx, t, scanClawback, `SELECT `+clawbackColumns+` FROM clawbacks WHERE done_at IS NULL ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("listing pending clawbacks: %w", err)
	}
	return out, nil
}

func (t *Tx) ClawbackFinish(ctx context.Context, c store.Clawback) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE clawbacks SET done_at = ?, since = ?, tasks_invalidated = ?, units_reopened = ?,
		units_failed = ?, amount_micros = ? WHERE id = ?`,
		c.DoneAt.UnixMilli(), millis(c.Since), c.TasksInvalidated, c.UnitsReopened, c.UnitsFailed, c.AmountMicros, c.ID)
	if err != nil {
		return fmt.Errorf("recording clawback %d: %w", c.ID, err)
	}
	return nil
}

func (t *Tx) ClawbackList(ctx context.Context, hostID int64) ([]store.Clawback, error) {
	out, err := collect(ctx, t, scanClawback, `SELECT `+clawbackColumns+` FROM clawbacks WHERE host_id = ? ORDER BY id DESC`, hostID)
	if err != nil {
		return nil, fmt.Errorf("listing the clawbacks of host %d: %w", hostID, err)
	}
	return out, nil
}
