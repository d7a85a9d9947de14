package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) JobInsert(ctx context.Context, j workunits.Job) (workunits.Job, error) {
	p := j.Policy
	j.Validator = j.Validator.WithDefaults()
	res, err := t.tx.ExecContext(ctx, `INSERT INTO jobs (project_id, app_version_id, min_quorum, target_replicas,
		max_error_replicas, max_total_replicas, deadline_ms, reward_micros, state, unit_count, created_at, priority,
		validator_kind, abs_tol, rel_tol, adaptive_replication)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.ProjectID, j.AppVersionID, p.MinQuorum, p.TargetReplicas, p.MaxErrorReplicas, p.MaxTotalReplicas,
		p.Deadline.Milliseconds(), j.RewardMicros, j.State, j.UnitCount, j.CreatedAt.UnixMilli(), j.Priority,
		j.Validator.Kind, j.Validator.AbsTol, j.Validator.RelTol, p.Adaptive)
	if err != nil {
		return j, fmt.Errorf("inserting job: %w", err)
	}
	if j.ID, err = res.LastInsertId(); err != nil {
		return j, fmt.Errorf("reading job id: %w", err)
	}
	j.CreatedAt = time.UnixMilli(j.CreatedAt.UnixMilli()).UTC()
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

func scanJob(row interface{ Scan(...any) error }) (workunits.Job, error) {
	var j workunits.Job
	var deadlineMS, created int64
	var finished sql.NullInt64
	if err := row.Scan(&j.ID, &j.ProjectID, &j.AppVersionID, &j.Policy.MinQuorum,
		&j.Policy.TargetReplicas, &j.Policy.MaxErrorReplicas, &j.Policy.MaxTotalReplicas, &deadlineMS,
		&j.RewardMicros, &j.State, &j.UnitCount, &created, &finished, &j.Priority,
		&j.Validator.Kind, &j.Validator.AbsTol, &j.Validator.RelTol, &j.Policy.Adaptive); err != nil {
		return j, err
	}
	j.Policy.Deadline = time.Duration(deadlineMS) * time.Millisecond
	j.CreatedAt = time.UnixMilli(created).UTC()
	j.FinishedAt = fromMillis(finished)
	return j, nil
}

func (t *Tx) JobGet(ctx context.Context, id int64) (workunits.Job, error) {
	j, err := scanJob(t.tx.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if err != nil {
		return j, notFound(err, "job %d not found", id)
	}
	return j, nil
}

func (t *Tx) JobGetMany(ctx context.Context, ids []int64) ([]workunits.Job, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	var jobs []workunits.Job
	err := chunks(ids, func(ids []int64) error {
		rows, err := t.tx.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id IN (`+placeholders(len(ids))+`) ORDER BY id`, int64Args(ids)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j, err := scanJob(rows)
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("loading %d jobs: %w", len(ids), err)
	}
	if len(jobs) != len(ids) {
		return nil, workunits.Errorf(workunits.ENOTFOUND, "some of jobs %v not found", ids)
	}
	return jobs, nil
}

func (t *Tx) JobFinish(ctx context.Context, id int64, now time.Time) error {
	return t.JobFinishMany(ctx, []int64{id}, now)
}

func (t *Tx) JobFinishMany(ctx context.Context, ids []int64, now time.Time) error {
	err := chunks(ids, func(ids []int64) error {
		args := append([]any{workunits.JobDone, now.UnixMilli(), workunits.JobActive}, int64Args(ids)...)
		_, err := t.tx.ExecContext(ctx, `UPDATE jobs SET state = ?, finished_at = ?
			WHERE state = ? AND id IN (`+placeholders(len(ids))+`)`, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("finishing %d jobs: %w", len(ids), err)
	}
	return nil
}

func (t *Tx) JobListActive(ctx context.Context) ([]int64, error) {
	ids, err := t.int64s(ctx, `SELECT id FROM jobs WHERE state = ? ORDER BY id`, workunits.JobActive)
	if err != nil {
		return nil, fmt.Errorf("listing active jobs: %w", err)
	}
	return ids, nil
}

// JobListFinishable needs no locks: the single writer already excludes
// every other transaction.
func (t *Tx) JobListFinishable(ctx context.Context, jobIDs []int64) ([]int64, error) {
	var out []int64
	err := chunks(jobIDs, func(ids []int64) error {
		args := append(int64Args(ids), workunits.JobActive, workunits.UnitOpen, workunits.TaskInProgress)
		found, err := t.int64s(ctx, `SELECT j.id FROM jobs j
			WHERE j.id IN (`+placeholders(len(ids))+`) AND j.state = ?
			  AND NOT EXISTS (SELECT 1 FROM units u WHERE u.job_id = j.id AND u.state = ?)
			  AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state = ?)
			  AND NOT EXISTS (SELECT 1 FROM money_queue q WHERE q.job_id = j.id)
			  AND NOT EXISTS (SELECT 1 FROM money_refused r WHERE r.job_id = j.id)
			ORDER BY j.id`, args...)
		out = append(out, found...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("finding finished jobs: %w", err)
	}
	return out, nil
}

func (t *Tx) JobProgress(ctx context.Context, jobID int64) (store.JobProgress, error) {
	p := store.NewJobProgress()
	rows, err := t.tx.QueryContext(ctx, `SELECT state, count(*) FROM units WHERE job_id = ? GROUP BY state`, jobID)
	if err != nil {
		return p, fmt.Errorf("counting units of job %d: %w", jobID, err)
	}
	for rows.Next() {
		var st workunits.UnitState
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			rows.Close()
			return p, fmt.Errorf("scanning unit count: %w", err)
		}
		p.Units[st] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("counting units of job %d: %w", jobID, err)
	}
	rows, err = t.tx.QueryContext(ctx, `SELECT t.state, t.outcome, t.validate_state, count(*), coalesce(sum(t.cpu_micros), 0)
		FROM tasks t JOIN units u ON u.id = t.unit_id WHERE u.job_id = ?
		GROUP BY t.state, t.outcome, t.validate_state`, jobID)
	if err != nil {
		return p, fmt.Errorf("counting tasks of job %d: %w", jobID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var st workunits.TaskState
		var out workunits.Outcome
		var vs workunits.ValidateState
		var n int
		var cpu int64
		if err := rows.Scan(&st, &out, &vs, &n, &cpu); err != nil {
			return p, fmt.Errorf("scanning task count: %w", err)
		}
		p.AddTasks(st, out, vs, n, time.Duration(cpu)*time.Microsecond)
	}
	return p, rows.Err()
}

func (t *Tx) JobResultList(ctx context.Context, jobID int64, afterSeq, limit int) ([]store.UnitResult, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT u.seq, u.input, u.state, u.error, t.output
		FROM units u LEFT JOIN tasks t ON t.id = u.canonical_task_id
		WHERE u.job_id = ? AND u.seq > ? ORDER BY u.seq LIMIT ?`, jobID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("listing results of job %d: %w", jobID, err)
	}
	defer rows.Close()
	var out []store.UnitResult
	for rows.Next() {
		var r store.UnitResult
		if err := rows.Scan(&r.Seq, &r.Input, &r.State, &r.Error, &r.Output); err != nil {
			return nil, fmt.Errorf("scanning result: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func (t *Tx) UnitInsertMany(ctx context.Context, jobID int64, inputs [][]byte) ([]workunits.Unit, error) {
	stmt, err := t.tx.PrepareContext(ctx, `INSERT INTO units (job_id, seq, input, state) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return nil, fmt.Errorf("preparing unit insert: %w", err)
	}
	defer stmt.Close()
	units := make([]workunits.Unit, len(inputs))
	for i, in := range inputs {
		res, err := stmt.ExecContext(ctx, jobID, i, in, workunits.UnitOpen)
		if err != nil {
			return nil, fmt.Errorf("inserting unit %d of job %d: %w", i, jobID, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return nil, fmt.Errorf("reading unit id: %w", err)
		}
		units[i] = workunits.Unit{ID: id, JobID: jobID, Seq: i, Input: in, State: workunits.UnitOpen}
	}
	return units, nil
}

// UnitGetManyForUpdate needs no row locks: SQLite's IMMEDIATE transaction
// already holds the database's single write lock.
func (t *Tx) UnitGetManyForUpdate(ctx context.Context, unitIDs []int64) ([]workunits.Unit, error) {
	var units []workunits.Unit
	err := chunks(unitIDs, func(ids []int64) error {
		rows, err := t.tx.QueryContext(ctx, `SELECT id, job_id, seq, input, state, coalesce(canonical_task_id, 0), error
			FROM units WHERE id IN (`+placeholders(len(ids))+`) ORDER BY id`, int64Args(ids)...)
		if err != nil {
			return fmt.Errorf("loading units: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var u workunits.Unit
			if err := rows.Scan(&u.ID, &u.JobID, &u.Seq, &u.Input, &u.State, &u.CanonicalTaskID, &u.Error); err != nil {
				return fmt.Errorf("scanning unit: %w", err)
			}
			units = append(units, u)
		}
		return rows.Err()
	})
	return units, err
}

func (t *Tx) UnitUpdateMany(ctx context.Context, units []workunits.Unit) error {
	if len(units) == 0 {
		return nil
	}
	// A unit's finish time, once set, is kept: it finishes once.
	stmt, err := t.tx.PrepareContext(ctx, `UPDATE units SET state = ?, canonical_task_id = ?, error = ?,
		finished_at = coalesce(finished_at, ?) WHERE id = ?`)
	if err != nil {
		return fmt.Errorf("preparing unit update: %w", err)
	}
	defer stmt.Close()
	for _, u := range units {
		var canonical any
		if u.CanonicalTaskID != 0 {
			canonical = u.CanonicalTaskID
		}
		if _, err := stmt.ExecContext(ctx, u.State, canonical, u.Error, millis(u.FinishedAt), u.ID); err != nil {
			return fmt.Errorf("updating unit %d: %w", u.ID, err)
		}
	}
	return nil
}
