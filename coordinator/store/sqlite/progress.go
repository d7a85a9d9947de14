package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// JobList walks the jobs_project index backwards from BeforeID.
func (t *Tx) JobList(ctx context.Context, p store.JobListParams) ([]workunits.Job, error) {
	before := p.BeforeID
	if before <= 0 {
		before = 1<<63 - 1
	}
	jobs, err := collect(ctx, t, scanJob, `SELECT `+jobColumns+` FROM jobs
		WHERE project_id = ? AND id < ? AND (? = '' OR state = ?) ORDER BY id DESC LIMIT ?`,
		p.ProjectID, before, p.State, p.State, p.Limit)
	if err != nil {
		return nil, fmt.Errorf("listing jobs of project %d: %w", p.ProjectID, err)
	}
	return jobs, nil
}

const unitColumns = `id, job_id, seq, input, state, coalesce(canonical_task_id, 0), error, finished_at`

func scanUnit(row interface{ Scan(...any) error }) (workunits.Unit, error) {
	var u workunits.Unit
	var finished sql.NullInt64
	err := row.Scan(&u.ID, &u.JobID, &u.Seq, &u.Input, &u.State, &u.CanonicalTaskID, &u.Error, &finished)
	u.FinishedAt = fromMillis(finished)
	return u, err
}

// UnitList filters by state with two statements, so each one walks its
// own index (units_job_state_seq, or the unique (job_id, seq)) in order.
func (t *Tx) UnitList(ctx context.Context, p store.UnitListParams) ([]workunits.Unit, error) {
	var units []workunits.Unit
	var err error
	if p.State == "" {
		units, err = collect(ctx, t, scanUnit, `SELECT `+unitColumns+` FROM units
			WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?`, p.JobID, p.AfterSeq, p.Limit)
	} else {
		units, err = collect(ctx, t, scanUnit, `SELECT `+unitColumns+` FROM units
			WHERE job_id = ? AND state = ? AND seq > ? ORDER BY seq LIMIT ?`, p.JobID, p.State, p.AfterSeq, p.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("listing units of job %d: %w", p.JobID, err)
	}
	return units, nil
}

func (t *Tx) UnitGetBySeq(ctx context.Context, jobID int64, seq int) (workunits.Unit, error) {
	u, err := scanUnit(t.tx.QueryRowContext(ctx, `SELECT `+unitColumns+` FROM units WHERE job_id = ? AND seq = ?`, jobID, seq))
	if err != nil {
		return u, notFound(err, "unit %d of job %d not found", seq, jobID)
	}
	return u, nil
}

func (t *Tx) TaskOutputGet(ctx context.Context, taskID int64) ([]byte, error) {
	var out []byte
	if err := t.tx.QueryRowContext(ctx, `SELECT coalesce(output, x'') FROM tasks WHERE id = ?`, taskID).Scan(&out); err != nil {
		return nil, notFound(err, "task %d not found", taskID)
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

func (t *Tx) UnitCountFinishedSince(ctx context.Context, jobID int64, since time.Time) (int, error) {
	var n int
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM units WHERE job_id = ? AND finished_at >= ?`,
		jobID, since.UnixMilli()).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting units of job %d finished since %s: %w", jobID, since, err)
	}
	return n, nil
}

func (t *Tx) TaskErrorList(ctx context.Context, jobID int64, limit int) ([]store.TaskError, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT t.id, u.seq, coalesce(t.host_id, 0), t.received_at, t.stderr
		FROM tasks t JOIN units u ON u.id = t.unit_id
		WHERE t.job_id = ? AND t.outcome = 'error' ORDER BY t.received_at DESC, t.id DESC LIMIT ?`,
		jobID, limit)
	if err != nil {
		return nil, fmt.Errorf("listing failed tasks of job %d: %w", jobID, err)
	}
	defer rows.Close()
	var out []store.TaskError
	for rows.Next() {
		var e store.TaskError
		var received sql.NullInt64
		if err := rows.Scan(&e.TaskID, &e.UnitSeq, &e.HostID, &received, &e.Stderr); err != nil {
			return nil, fmt.Errorf("scanning failed task: %w", err)
		}
		e.ReceivedAt = fromMillis(received)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing failed tasks of job %d: %w", jobID, err)
	}
	return out, nil
}
