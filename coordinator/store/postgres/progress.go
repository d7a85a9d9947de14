package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// JobList walks the jobs_project index backwards from BeforeID.
func (t *Tx) JobList(ctx context.Context, p store.JobListParams) ([]workunits.Job, error) {
	before := p.BeforeID
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := t.tx.Query(ctx, `SELECT `+jobColumns+` FROM jobs
		WHERE project_id = $1 AND id < $2 AND ($3 = '' OR state = $3) ORDER BY id DESC LIMIT $4`,
		p.ProjectID, before, string(p.State), p.Limit)
	if err != nil {
		return nil, fmt.Errorf("listing jobs of project %d: %w", p.ProjectID, err)
	}
	jobs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (workunits.Job, error) { return scanJob(row) })
	if err != nil {
		return nil, fmt.Errorf("listing jobs of project %d: %w", p.ProjectID, err)
	}
	return jobs, nil
}

const unitColumns = `id, job_id, seq, input, state, coalesce(canonical_task_id, 0), error, finished_at`

func scanUnit(row pgx.Row) (workunits.Unit, error) {
	var u workunits.Unit
	var finished pgtype.Timestamptz
	err := row.Scan(&u.ID, &u.JobID, &u.Seq, &u.Input, &u.State, &u.CanonicalTaskID, &u.Error, &finished)
	u.FinishedAt = fromTS(finished)
	return u, err
}

// UnitList filters by state with two statements, so each one walks its
// own index (units_job_state_seq, or the unique (job_id, seq)) in order.
func (t *Tx) UnitList(ctx context.Context, p store.UnitListParams) ([]workunits.Unit, error) {
	var rows pgx.Rows
	var err error
	if p.State == "" {
		rows, err = t.tx.Query(ctx, `SELECT `+unitColumns+` FROM units
			WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, p.JobID, p.AfterSeq, p.Limit)
	} else {
		rows, err = t.tx.Query(ctx, `SELECT `+unitColumns+` FROM units
			WHERE job_id = $1 AND state = $2 AND seq > $3 ORDER BY seq LIMIT $4`, p.JobID, string(p.State), p.AfterSeq, p.Limit)
	}
	if err != nil {
		return nil, fmt.Errorf("listing units of job %d: %w", p.JobID, err)
	}
	units, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (workunits.Unit, error) { return scanUnit(row) })
	if err != nil {
		return nil, fmt.Errorf("listing units of job %d: %w", p.JobID, err)
	}
	return units, nil
}

func (t *Tx) UnitGetBySeq(ctx context.Context, jobID int64, seq int) (workunits.Unit, error) {
	u, err := scanUnit(t.tx.QueryRow(ctx, `SELECT `+unitColumns+` FROM units WHERE job_id = $1 AND seq = $2`, jobID, seq))
	if err != nil {
		return u, notFound(err, "unit %d of job %d not found", seq, jobID)
	}
	return u, nil
}

func (t *Tx) TaskOutputGet(ctx context.Context, taskID int64) ([]byte, error) {
	var out []byte
	if err := t.tx.QueryRow(ctx, `SELECT coalesce(output, '\x'::bytea) FROM tasks WHERE id = $1`, taskID).Scan(&out); err != nil {
		return nil, notFound(err, "task %d not found", taskID)
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

func (t *Tx) UnitCountFinishedSince(ctx context.Context, jobID int64, since time.Time) (int, error) {
	var n int
	if err := t.tx.QueryRow(ctx, `SELECT count(*) FROM units WHERE job_id = $1 AND finished_at >= $2`,
		jobID, ts(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting units of job %d finished since %s: %w", jobID, since, err)
	}
	return n, nil
}

func (t *Tx) TaskErrorList(ctx context.Context, jobID int64, limit int) ([]store.TaskError, error) {
	rows, err := t.tx.Query(ctx, `SELECT t.id, u.seq, coalesce(t.host_id, 0), t.received_at, t.stderr
		FROM tasks t JOIN units u ON u.id = t.unit_id
		WHERE t.job_id = $1 AND t.outcome = 'error' ORDER BY t.received_at DESC NULLS LAST, t.id DESC LIMIT $2`,
		jobID, limit)
	if err != nil {
		return nil, fmt.Errorf("listing failed tasks of job %d: %w", jobID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.TaskError, error) {
		var e store.TaskError
		var received pgtype.Timestamptz
		err := row.Scan(&e.TaskID, &e.UnitSeq, &e.HostID, &received, &e.Stderr)
		e.ReceivedAt = fromTS(received)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing failed tasks of job %d: %w", jobID, err)
	}
	return out, nil
}
