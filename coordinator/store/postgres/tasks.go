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
	if len(unitIDs) >= analyzeAfter {
		// Autovacuum analyzes within a minute or so; until then the planner
		// would take the tables for nearly empty and may pick nested loops
		// over sequential scans for leasing, seconds per lease on a job of
		// a few thousand units. ANALYZE counts this transaction's rows.
		if _, err := t.tx.Exec(ctx, `ANALYZE units, tasks`); err != nil {
			return fmt.Errorf("analyzing after inserting %d tasks: %w", len(unitIDs), err)
		}
	}
	return nil
}

// analyzeAfter is the size of a task insert (a job's submission, in
// practice) after which the planner's statistics are refreshed at once.
const analyzeAfter = 1000

const taskColumns = `id, unit_id, coalesce(host_id, 0), state, outcome, validate_state, created_at, sent_at,
	deadline_at, received_at, output_sha256, cpu_micros, stderr, on_trust`

func scanTask(row pgx.CollectableRow) (workunits.Task, error) { return scanTaskWith(row) }

// scanTaskWith scans taskColumns, then into extra the columns selected after them.
func scanTaskWith(row pgx.CollectableRow, extra ...any) (workunits.Task, error) {
	var tk workunits.Task
	var cpu int64
	var sent, deadline, received pgtype.Timestamptz
	if err := row.Scan(append([]any{&tk.ID, &tk.UnitID, &tk.HostID, &tk.State, &tk.Outcome, &tk.ValidateState, &tk.CreatedAt,
		&sent, &deadline, &received, &tk.OutputSHA256, &cpu, &tk.Stderr, &tk.OnTrust}, extra...)...); err != nil {
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

func (t *Tx) TaskOutputGetMany(ctx context.Context, taskIDs []int64) (map[int64][]byte, error) {
	out := make(map[int64][]byte, len(taskIDs))
	if len(taskIDs) == 0 {
		return out, nil
	}
	rows, _ := t.tx.Query(ctx, `SELECT id, output FROM tasks WHERE id = ANY($1) AND output IS NOT NULL`, taskIDs)
	var id int64
	var output []byte
	_, err := pgx.ForEachRow(rows, []any{&id, &output}, func() error {
		out[id] = append([]byte{}, output...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading the outputs of %d tasks: %w", len(taskIDs), err)
	}
	return out, nil
}

// TaskUpdateMany writes all its rows in one statement, outputs included.
func (t *Tx) TaskUpdateMany(ctx context.Context, tasks []workunits.Task, outputs map[int64][]byte) error {
	if len(tasks) == 0 {
		return nil
	}
	n := len(tasks)
	var (
		ids, hosts, cpu           = make([]int64, n), make([]int64, n), make([]int64, n)
		states, outcomes, vstates = make([]string, n), make([]string, n), make([]string, n)
		sent, deadline, received  = make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n)
		outputHashes, stderrs     = make([]string, n), make([]string, n)
		hasOutput, output         = make([]bool, n), make([][]byte, n)
		onTrust                   = make([]bool, n)
	)
	for i, tk := range tasks {
		ids[i], hosts[i], cpu[i] = tk.ID, tk.HostID, tk.CPUTime.Microseconds()
		states[i], outcomes[i], vstates[i] = string(tk.State), string(tk.Outcome), string(tk.ValidateState)
		sent[i], deadline[i], received[i] = nullTS(tk.SentAt), nullTS(tk.DeadlineAt), nullTS(tk.ReceivedAt)
		outputHashes[i], stderrs[i], onTrust[i] = tk.OutputSHA256, tk.Stderr, tk.OnTrust
		if out, ok := outputs[tk.ID]; ok {
			hasOutput[i], output[i] = true, out
			if out == nil {
				output[i] = []byte{} // an empty output is still an output, not NULL
			}
		}
	}
	tag, err := t.tx.Exec(ctx, `UPDATE tasks t SET host_id = nullif(x.host, 0), state = x.state, outcome = x.outcome,
			validate_state = x.vstate, sent_at = x.sent, deadline_at = x.deadline, received_at = x.received,
			output_sha256 = x.output_sha256, cpu_micros = x.cpu, stderr = x.stderr, on_trust = x.on_trust,
			output = CASE WHEN x.has_output THEN x.output ELSE t.output END
		FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::timestamptz[],
			$7::timestamptz[], $8::timestamptz[], $9::text[], $10::bigint[], $11::text[], $12::bool[], $13::bytea[], $14::bool[])
			AS x(id, host, state, outcome, vstate, sent, deadline, received, output_sha256, cpu, stderr, has_output, output, on_trust)
		WHERE t.id = x.id`,
		ids, hosts, states, outcomes, vstates, sent, deadline, received, outputHashes, cpu, stderrs, hasOutput, output, onTrust)
	if err != nil {
		return fmt.Errorf("updating %d tasks: %w", n, err)
	}
	if got := int(tag.RowsAffected()); got != n {
		return fmt.Errorf("updating %d tasks: %d found", n, got)
	}
	return nil
}

// TaskUnitsOverdue claims the units with SKIP LOCKED: a unit a report or
// another coordinator's sweep holds is left to it.
func (t *Tx) TaskUnitsOverdue(ctx context.Context, now time.Time, limit int) ([]int64, error) {
	rows, _ := t.tx.Query(ctx, `SELECT u.id FROM units u
		WHERE u.id IN (SELECT unit_id FROM tasks WHERE state = 'in_progress' AND deadline_at <= $1)
		ORDER BY u.id LIMIT $2`+t.forUpdateSkipLocked(), ts(now), limit)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("finding overdue tasks: %w", err)
	}
	return ids, nil
}
