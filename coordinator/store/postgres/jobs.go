package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) JobInsert(ctx context.Context, j workunits.Job) (workunits.Job, error) {
	p := j.Policy
	j.CreatedAt = ts(j.CreatedAt)
	j.Validator = j.Validator.WithDefaults()
	if err := t.tx.QueryRow(ctx, `INSERT INTO jobs (project_id, app_version_id, min_quorum, target_replicas,
		max_error_replicas, max_total_replicas, deadline_ms, reward_micros, state, unit_count, created_at, priority,
		validator_kind, abs_tol, rel_tol, adaptive_replication)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
		j.ProjectID, j.AppVersionID, p.MinQuorum, p.TargetReplicas, p.MaxErrorReplicas, p.MaxTotalReplicas,
		p.Deadline.Milliseconds(), j.RewardMicros, j.State, j.UnitCount, j.CreatedAt, j.Priority,
		j.Validator.Kind, j.Validator.AbsTol, j.Validator.RelTol, p.Adaptive).Scan(&j.ID); err != nil {
		return j, fmt.Errorf("inserting job: %w", err)
	}
	if j.State == workunits.JobActive {
		if err := t.projectWake(ctx, j.ProjectID); err != nil {
			return j, err
		}
	}
	return j, nil
}

const jobColumns = `id, project_id, app_version_id, min_quorum, target_replicas,
	max_error_replicas, max_total_replicas, deadline_ms, reward_micros, state, unit_count, created_at, finished_at, priority,
	validator_kind, abs_tol, rel_tol, adaptive_replication`

func scanJob(row pgx.CollectableRow) (workunits.Job, error) {
	var j workunits.Job
	var deadlineMS int64
	var finished pgtype.Timestamptz
	if err := row.Scan(&j.ID, &j.ProjectID, &j.AppVersionID, &j.Policy.MinQuorum,
		&j.Policy.TargetReplicas, &j.Policy.MaxErrorReplicas, &j.Policy.MaxTotalReplicas, &deadlineMS,
		&j.RewardMicros, &j.State, &j.UnitCount, &j.CreatedAt, &finished, &j.Priority,
		&j.Validator.Kind, &j.Validator.AbsTol, &j.Validator.RelTol, &j.Policy.Adaptive); err != nil {
		return j, err
	}
	j.Policy.Deadline = time.Duration(deadlineMS) * time.Millisecond
	j.CreatedAt = j.CreatedAt.UTC()
	j.FinishedAt = fromTS(finished)
	return j, nil
}

func (t *Tx) JobGet(ctx context.Context, id int64) (workunits.Job, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = $1`, id)
	j, err := pgx.CollectExactlyOneRow(rows, scanJob)
	if err != nil {
		return j, notFound(err, "job %d not found", id)
	}
	return j, nil
}

func (t *Tx) JobGetMany(ctx context.Context, ids []int64) ([]workunits.Job, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, _ := t.tx.Query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ANY($1) ORDER BY id`, ids)
	jobs, err := pgx.CollectRows(rows, scanJob)
	if err != nil {
		return nil, fmt.Errorf("loading %d jobs: %w", len(ids), err)
	}
	if len(jobs) != len(slices.Compact(slices.Sorted(slices.Values(ids)))) {
		return nil, workunits.Errorf(workunits.ENOTFOUND, "some of jobs %v not found", ids)
	}
	return jobs, nil
}

func (t *Tx) JobFinish(ctx context.Context, id int64, now time.Time) error {
	return t.JobFinishMany(ctx, []int64{id}, now)
}

func (t *Tx) JobFinishMany(ctx context.Context, ids []int64, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := t.tx.Exec(ctx, `UPDATE jobs SET state = $1, finished_at = $2 WHERE id = ANY($3) AND state = $4`,
		workunits.JobDone, ts(now), ids, workunits.JobActive); err != nil {
		return fmt.Errorf("finishing %d jobs: %w", len(ids), err)
	}
	return nil
}

func (t *Tx) JobListActive(ctx context.Context) ([]int64, error) {
	rows, _ := t.tx.Query(ctx, `SELECT id FROM jobs WHERE state = $1 ORDER BY id`, workunits.JobActive)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("listing active jobs: %w", err)
	}
	return ids, nil
}

// JobListFinishable probes the partial indexes of open units and of tasks
// in progress, the credit queue and the refused credits: a job with any is
// not finishable, however large it is.
func (t *Tx) JobListFinishable(ctx context.Context, jobIDs []int64) ([]int64, error) {
	if len(jobIDs) == 0 {
		return nil, nil
	}
	rows, _ := t.tx.Query(ctx, `SELECT j.id FROM jobs j
		WHERE j.id = ANY($1) AND j.state = $2
		  AND NOT EXISTS (SELECT 1 FROM units u WHERE u.job_id = j.id AND u.state = $3)
		  AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state = $4)
		  AND NOT EXISTS (SELECT 1 FROM money_queue q WHERE q.job_id = j.id)
		  AND NOT EXISTS (SELECT 1 FROM money_refused r WHERE r.job_id = j.id)
		ORDER BY j.id`+t.forUpdateSkipLocked(), jobIDs, workunits.JobActive, workunits.UnitOpen, workunits.TaskInProgress)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("finding finished jobs: %w", err)
	}
	return ids, nil
}

func (t *Tx) JobProgress(ctx context.Context, jobID int64) (store.JobProgress, error) {
	p := store.NewJobProgress()
	rows, err := t.tx.Query(ctx, `SELECT state, count(*) FROM units WHERE job_id = $1 GROUP BY state`, jobID)
	if err != nil {
		return p, fmt.Errorf("counting units of job %d: %w", jobID, err)
	}
	var st workunits.UnitState
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&st, &n}, func() error {
		p.Units[st] = n
		return nil
	}); err != nil {
		return p, fmt.Errorf("counting units of job %d: %w", jobID, err)
	}
	rows, err = t.tx.Query(ctx, `SELECT t.state, t.outcome, t.validate_state, count(*), coalesce(sum(t.cpu_micros), 0)::bigint
		FROM tasks t JOIN units u ON u.id = t.unit_id WHERE u.job_id = $1
		GROUP BY t.state, t.outcome, t.validate_state`, jobID)
	if err != nil {
		return p, fmt.Errorf("counting tasks of job %d: %w", jobID, err)
	}
	var tst workunits.TaskState
	var out workunits.Outcome
	var vs workunits.ValidateState
	var cpu int64
	if _, err := pgx.ForEachRow(rows, []any{&tst, &out, &vs, &n, &cpu}, func() error {
		p.AddTasks(tst, out, vs, n, time.Duration(cpu)*time.Microsecond)
		return nil
	}); err != nil {
		return p, fmt.Errorf("counting tasks of job %d: %w", jobID, err)
	}
	return p, nil
}

func (t *Tx) JobResultList(ctx context.Context, jobID int64, afterSeq, limit int) ([]store.UnitResult, error) {
	rows, err := t.tx.Query(ctx, `SELECT u.seq, u.input, u.state, u.error, t.output
		FROM units u LEFT JOIN tasks t ON t.id = u.canonical_task_id
		WHERE u.job_id = $1 AND u.seq > $2 ORDER BY u.seq LIMIT $3`, jobID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("listing results of job %d: %w", jobID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.UnitResult, error) {
		var r store.UnitResult
		err := row.Scan(&r.Seq, &r.Input, &r.State, &r.Error, &r.Output)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing results of job %d: %w", jobID, err)
	}
	return out, nil
}

func (t *Tx) UnitInsertMany(ctx context.Context, jobID int64, inputs [][]byte) ([]workunits.Unit, error) {
	if len(inputs) == 0 {
		return []workunits.Unit{}, nil
	}
	stored := make([][]byte, len(inputs))
	for i, in := range inputs {
		if in == nil {
			in = []byte{} // an empty input is still an input, not NULL
		}
		stored[i] = in
	}
	rows, err := t.tx.Query(ctx, `INSERT INTO units (job_id, seq, input, state)
		SELECT $1, i - 1, input, $3 FROM unnest($2::bytea[]) WITH ORDINALITY AS x(input, i) ORDER BY i
		RETURNING id, seq`, jobID, stored, workunits.UnitOpen)
	if err != nil {
		return nil, fmt.Errorf("inserting units of job %d: %w", jobID, err)
	}
	units := make([]workunits.Unit, len(inputs))
	var id int64
	var seq int
	if _, err := pgx.ForEachRow(rows, []any{&id, &seq}, func() error {
		units[seq] = workunits.Unit{ID: id, JobID: jobID, Seq: seq, Input: inputs[seq], State: workunits.UnitOpen}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("inserting units of job %d: %w", jobID, err)
	}
	return units, nil
}

// UnitGetManyForUpdate locks the units in id order, so two transactions
// locking overlapping sets wait for each other instead of deadlocking.
func (t *Tx) UnitGetManyForUpdate(ctx context.Context, unitIDs []int64) ([]workunits.Unit, error) {
	if len(unitIDs) == 0 {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT id, job_id, seq, input, state, coalesce(canonical_task_id, 0), error
		FROM units WHERE id = ANY($1) ORDER BY id FOR UPDATE`, unitIDs)
	if err != nil {
		return nil, fmt.Errorf("loading units: %w", err)
	}
	units, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (workunits.Unit, error) {
		var u workunits.Unit
		err := row.Scan(&u.ID, &u.JobID, &u.Seq, &u.Input, &u.State, &u.CanonicalTaskID, &u.Error)
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("loading units: %w", err)
	}
	return units, nil
}

func (t *Tx) UnitUpdateMany(ctx context.Context, units []workunits.Unit) error {
	if len(units) == 0 {
		return nil
	}
	ids, states, canonical, errs := make([]int64, len(units)), make([]string, len(units)), make([]int64, len(units)), make([]string, len(units))
	finished := make([]pgtype.Timestamptz, len(units))
	for i, u := range units {
		ids[i], states[i], canonical[i], errs[i] = u.ID, string(u.State), u.CanonicalTaskID, u.Error
		finished[i] = nullTS(u.FinishedAt)
	}
	// A unit's finish time, once set, is kept: it finishes once.
	tag, err := t.tx.Exec(ctx, `UPDATE units u SET state = x.state, canonical_task_id = nullif(x.canonical, 0), error = x.error,
			finished_at = coalesce(u.finished_at, x.finished)
		FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::timestamptz[]) AS x(id, state, canonical, error, finished)
		WHERE u.id = x.id`, ids, states, canonical, errs, finished)
	if err != nil {
		return fmt.Errorf("updating %d units: %w", len(units), err)
	}
	if n := int(tag.RowsAffected()); n != len(units) {
		return fmt.Errorf("updating %d units: %d found", len(units), n)
	}
	return nil
}
