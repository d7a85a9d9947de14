package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) TaskInsertMany(ctx context.Context, unitIDs []int64, now time.Time) error {
	if len(unitIDs) == 0 {
		return nil
	}
	// An unknown unit gives a NULL job_id and fails the insert, as it does
	// on SQLite.
	if _, err := t.tx.Exec(ctx, `INSERT INTO tasks (unit_id, job_id, state, validate_state, created_at)
		SELECT x.unit_id, (SELECT job_id FROM units WHERE id = x.unit_id), $2, $3, $4
		FROM unnest($1::bigint[]) WITH ORDINALITY AS x(unit_id, i) ORDER BY x.i`,
		unitIDs, workunits.TaskUnsent, workunits.ValidatePending, ts(now)); err != nil {
		return fmt.Errorf("inserting tasks of %d units: %w", len(unitIDs), err)
	}
	return nil
}

const taskColumns = `id, unit_id, coalesce(host_id, 0), state, outcome, validate_state, created_at, sent_at,
	deadline_at, received_at, output_sha256, cpu_micros, stderr`

func scanTask(row pgx.CollectableRow) (workunits.Task, error) {
	var tk workunits.Task
	var cpu int64
	var sent, deadline, received pgtype.Timestamptz
	if err := row.Scan(&tk.ID, &tk.UnitID, &tk.HostID, &tk.State, &tk.Outcome, &tk.ValidateState, &tk.CreatedAt,
		&sent, &deadline, &received, &tk.OutputSHA256, &cpu, &tk.Stderr); err != nil {
		return tk, err
	}
	tk.CreatedAt = tk.CreatedAt.UTC()
	tk.SentAt, tk.DeadlineAt, tk.ReceivedAt = fromTS(sent), fromTS(deadline), fromTS(received)
	tk.CPUTime = time.Duration(cpu) * time.Microsecond
	return tk, nil
}

func (t *Tx) tasksWhereIn(ctx context.Context, column string, ids []int64) ([]workunits.Task, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT `+taskColumns+` FROM tasks WHERE `+column+` = ANY($1) ORDER BY id`, ids)
	if err != nil {
		return nil, fmt.Errorf("loading tasks by %s: %w", column, err)
	}
	tasks, err := pgx.CollectRows(rows, scanTask)
	if err != nil {
		return nil, fmt.Errorf("loading tasks by %s: %w", column, err)
	}
	return tasks, nil
}

func (t *Tx) TaskGetMany(ctx context.Context, taskIDs []int64) ([]workunits.Task, error) {
	return t.tasksWhereIn(ctx, "id", taskIDs)
}

func (t *Tx) TaskListByUnits(ctx context.Context, unitIDs []int64) ([]workunits.Task, error) {
	return t.tasksWhereIn(ctx, "unit_id", unitIDs)
}

func (t *Tx) TaskUpdateMany(ctx context.Context, tasks []workunits.Task) error {
	if len(tasks) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, tk := range tasks {
		b.Queue(`UPDATE tasks SET host_id = nullif($1::bigint, 0), state = $2, outcome = $3, validate_state = $4,
			sent_at = $5, deadline_at = $6, received_at = $7, output_sha256 = $8, cpu_micros = $9, stderr = $10 WHERE id = $11`,
			tk.HostID, tk.State, tk.Outcome, tk.ValidateState, nullTS(tk.SentAt), nullTS(tk.DeadlineAt), nullTS(tk.ReceivedAt),
			tk.OutputSHA256, tk.CPUTime.Microseconds(), tk.Stderr, tk.ID)
	}
	return t.sendBatch(ctx, b, func(i int) string { return fmt.Sprintf("updating task %d", tasks[i].ID) })
}

func (t *Tx) TaskOutputSetMany(ctx context.Context, outputs map[int64][]byte) error {
	if len(outputs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	ids := make([]int64, 0, len(outputs))
	for id, out := range outputs {
		if out == nil {
			out = []byte{} // an empty output is still an output, not NULL
		}
		b.Queue(`UPDATE tasks SET output = $1 WHERE id = $2`, out, id)
		ids = append(ids, id)
	}
	return t.sendBatch(ctx, b, func(i int) string { return fmt.Sprintf("storing output of task %d", ids[i]) })
}

func (t *Tx) TaskUnitsOverdue(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	rows, err := t.tx.Query(ctx, `SELECT DISTINCT unit_id FROM tasks
		WHERE state = 'in_progress' AND deadline_at <= $1 ORDER BY unit_id LIMIT $2`, ts(now), limit)
	if err != nil {
		return nil, fmt.Errorf("finding overdue tasks: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("finding overdue tasks: %w", err)
	}
	return ids, nil
}
