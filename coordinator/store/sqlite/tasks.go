package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) TaskInsertMany(ctx context.Context, unitIDs []int64, now time.Time) error {
	if len(unitIDs) == 0 {
		return nil
	}
	stmt, err := t.tx.PrepareContext(ctx, `INSERT INTO tasks (unit_id, job_id, state, validate_state, created_at)
		VALUES (?, (SELECT job_id FROM units WHERE id = ?), ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("preparing task insert: %w", err)
	}
	defer stmt.Close()
	for _, u := range unitIDs {
		if _, err := stmt.ExecContext(ctx, u, u, workunits.TaskUnsent, workunits.ValidatePending, now.UnixMilli()); err != nil {
			return fmt.Errorf("inserting task of unit %d: %w", u, err)
		}
	}
	return nil
}

const taskColumns = `id, unit_id, coalesce(host_id, 0), state, outcome, validate_state, created_at, sent_at,
	deadline_at, received_at, output_sha256, cpu_micros, stderr, on_trust`

func scanTasks(rows *sql.Rows) ([]workunits.Task, error) {
	defer rows.Close()
	var tasks []workunits.Task
	for rows.Next() {
		tk, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("scanning task: %w", err)
		}
		tasks = append(tasks, tk)
	}
	return tasks, rows.Err()
}

// scanTask scans taskColumns, then into extra the columns selected after them.
func scanTask(row scanner, extra ...any) (workunits.Task, error) {
	var tk workunits.Task
	var created, cpu int64
	var sent, deadline, received sql.NullInt64
	err := row.Scan(append([]any{&tk.ID, &tk.UnitID, &tk.HostID, &tk.State, &tk.Outcome, &tk.ValidateState, &created,
		&sent, &deadline, &received, &tk.OutputSHA256, &cpu, &tk.Stderr, &tk.OnTrust}, extra...)...)
	tk.CreatedAt = time.UnixMilli(created).UTC()
	tk.SentAt, tk.DeadlineAt, tk.ReceivedAt = fromMillis(sent), fromMillis(deadline), fromMillis(received)
	tk.CPUTime = time.Duration(cpu) * time.Microsecond
	return tk, err
}

func (t *Tx) tasksWhereIn(ctx context.Context, column string, ids []int64) ([]workunits.Task, error) {
	var tasks []workunits.Task
	err := chunks(ids, func(ids []int64) error {
		rows, err := t.tx.QueryContext(ctx, `SELECT `+taskColumns+` FROM tasks WHERE `+column+` IN (`+placeholders(len(ids))+`) ORDER BY id`, int64Args(ids)...)
		if err != nil {
			return fmt.Errorf("loading tasks by %s: %w", column, err)
		}
		got, err := scanTasks(rows)
		tasks = append(tasks, got...)
		return err
	})
	return tasks, err
}

func (t *Tx) TaskGetMany(ctx context.Context, taskIDs []int64) ([]workunits.Task, error) {
	return t.tasksWhereIn(ctx, "id", taskIDs)
}

func (t *Tx) TaskListByUnits(ctx context.Context, unitIDs []int64) ([]workunits.Task, error) {
	return t.tasksWhereIn(ctx, "unit_id", unitIDs)
}

func (t *Tx) TaskOutputGetMany(ctx context.Context, taskIDs []int64) (map[int64][]byte, error) {
	out := make(map[int64][]byte, len(taskIDs))
	err := chunks(taskIDs, func(ids []int64) error {
		rows, err := t.tx.QueryContext(ctx, `SELECT id, output FROM tasks WHERE id IN (`+placeholders(len(ids))+`) AND output IS NOT NULL`, int64Args(ids)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var output []byte
			if err := rows.Scan(&id, &output); err != nil {
				return err
			}
			out[id] = nonNil(output)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("loading the outputs of %d tasks: %w", len(taskIDs), err)
	}
	return out, nil
}

func (t *Tx) TaskUpdateMany(ctx context.Context, tasks []workunits.Task, outputs map[int64][]byte) error {
	if len(tasks) == 0 {
		return nil
	}
	stmt, err := t.tx.PrepareContext(ctx, `UPDATE tasks SET host_id = ?, state = ?, outcome = ?, validate_state = ?,
		sent_at = ?, deadline_at = ?, received_at = ?, output_sha256 = ?, cpu_micros = ?, stderr = ?, on_trust = ?,
		output = CASE WHEN ? THEN ? ELSE output END WHERE id = ?`)
	if err != nil {
		return fmt.Errorf("preparing task update: %w", err)
	}
	defer stmt.Close()
	for _, tk := range tasks {
		var host any
		if tk.HostID != 0 {
			host = tk.HostID
		}
		out, hasOutput := outputs[tk.ID]
		if hasOutput && out == nil {
			out = []byte{} // an empty output is still an output, not NULL
		}
		if _, err := stmt.ExecContext(ctx, host, tk.State, tk.Outcome, tk.ValidateState, millis(tk.SentAt),
			millis(tk.DeadlineAt), millis(tk.ReceivedAt), tk.OutputSHA256, tk.CPUTime.Microseconds(), tk.Stderr,
			tk.OnTrust, hasOutput, out, tk.ID); err != nil {
			return fmt.Errorf("updating task %d: %w", tk.ID, err)
		}
	}
	return nil
}

// leaseWindow is how many candidate tasks are read per task wanted: some
// candidates are dropped because they belong to a unit already in the batch.
const leaseWindow = 4

func (t *Tx) TaskLease(ctx context.Context, p store.TaskLeaseParams) ([]store.Lease, error) {
	if p.Max <= 0 {
		return nil, nil
	}
	var contributorID int64
	if err := t.tx.QueryRowContext(ctx, `SELECT contributor_id FROM hosts WHERE id = ?`, p.HostID).Scan(&contributorID); err != nil {
		return nil, notFound(err, "host %d not found", p.HostID)
	}
	type candidate struct {
		taskID, unitID, deadlineMS int64
	}
	var picked []candidate
	seenUnit := map[int64]bool{}
	// take picks up to limit tasks of one job, a unit at most once, that
	// the contributor holds no replica of.
	take := func(jobID int64, limit int) (int, error) {
		got := 0
		for got < limit {
			window := (limit - got) * leaseWindow
			args := []any{jobID, contributorID}
			notSeen := ""
			if len(seenUnit) > 0 {
				notSeen = "AND t.unit_id NOT IN (" + placeholders(len(seenUnit)) + ")"
				for u := range seenUnit {
					args = append(args, u)
				}
			}
			rows, err := t.tx.QueryContext(ctx, `SELECT t.id, t.unit_id, j.deadline_ms FROM tasks t
				JOIN jobs j ON j.id = t.job_id
				WHERE t.job_id = ? AND t.state = 'unsent' AND j.state = 'active'
				  AND NOT EXISTS (SELECT 1 FROM tasks o JOIN hosts oh ON oh.id = o.host_id
				                  WHERE o.unit_id = t.unit_id AND oh.contributor_id = ?)
				  `+notSeen+`
				ORDER BY t.id LIMIT ?`, append(args, window)...)
			if err != nil {
				return got, fmt.Errorf("finding unsent tasks of job %d: %w", jobID, err)
			}
			read := 0
			for rows.Next() {
				read++
				var c candidate
				if err := rows.Scan(&c.taskID, &c.unitID, &c.deadlineMS); err != nil {
					rows.Close()
					return got, fmt.Errorf("scanning unsent task: %w", err)
				}
				if seenUnit[c.unitID] || got == limit {
					continue
				}
				seenUnit[c.unitID] = true
				picked = append(picked, c)
				got++
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return got, fmt.Errorf("finding unsent tasks of job %d: %w", jobID, err)
			}
			if read < window {
				break // the job has no more for this host
			}
		}
		return got, nil
	}
	if err := t.leaseFairShare(ctx, p.Max, p.SkipJobs, take); err != nil {
		return nil, err
	}
	if len(picked) == 0 {
		return nil, nil
	}
	now := p.Now.UnixMilli()
	upd, err := t.tx.PrepareContext(ctx, `UPDATE tasks SET host_id = ?, state = 'in_progress', sent_at = ?, deadline_at = ?
		WHERE id = ? AND state = 'unsent'`)
	if err != nil {
		return nil, fmt.Errorf("preparing lease: %w", err)
	}
	defer upd.Close()
	ids := make([]int64, len(picked))
	for i, c := range picked {
		if _, err := upd.ExecContext(ctx, p.HostID, now, now+c.deadlineMS, c.taskID); err != nil {
			return nil, fmt.Errorf("leasing task %d: %w", c.taskID, err)
		}
		ids[i] = c.taskID
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT t.id, t.unit_id, u.job_id, a.name, v.module_sha256, u.input, t.deadline_at,
			j.project_id, v.signature, p.signing_public_key
		FROM tasks t JOIN units u ON u.id = t.unit_id JOIN jobs j ON j.id = u.job_id
		JOIN app_versions v ON v.id = j.app_version_id JOIN apps a ON a.id = v.app_id JOIN projects p ON p.id = j.project_id
		WHERE t.id IN (`+placeholders(len(ids))+`) ORDER BY t.id`, int64Args(ids)...)
	if err != nil {
		return nil, fmt.Errorf("loading leased tasks: %w", err)
	}
	defer rows.Close()
	leases := make([]store.Lease, 0, len(ids))
	for rows.Next() {
		var l store.Lease
		var deadline int64
		if err := rows.Scan(&l.TaskID, &l.UnitID, &l.JobID, &l.AppName, &l.ModuleSHA256, &l.Input, &deadline,
			&l.ProjectID, &l.ModuleSignature, &l.SigningKey); err != nil {
			return nil, fmt.Errorf("scanning leased task: %w", err)
		}
		l.DeadlineAt = time.UnixMilli(deadline).UTC()
		leases = append(leases, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("loading leased tasks: %w", err)
	}
	return t.withInputRefs(ctx, leases)
}

func (t *Tx) TaskUnitsOverdue(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	// Without INDEXED BY the planner walks every task in unit order (for
	// the ORDER BY) instead of the few that are overdue: 22 ms a sweep at
	// 100,000 tasks, found in a CPU profile of scripts/bench.
	ids, err := t.int64s(ctx, `SELECT DISTINCT unit_id FROM tasks INDEXED BY tasks_deadline
		WHERE state = 'in_progress' AND deadline_at <= ? ORDER BY unit_id LIMIT ?`, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("finding overdue tasks: %w", err)
	}
	return ids, nil
}
