package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) ProjectShareSet(ctx context.Context, projectID int64, share int) error {
	if err := workunits.ValidateShare(share); err != nil {
		return err
	}
	tag, err := t.tx.Exec(ctx, `UPDATE projects SET share = $2 WHERE id = $1`, projectID, share)
	if err != nil {
		return fmt.Errorf("setting the share of project %d: %w", projectID, err)
	}
	if tag.RowsAffected() == 0 {
		return workunits.Errorf(workunits.ENOTFOUND, "project %d not found", projectID)
	}
	return nil
}

func (t *Tx) JobListWaiting(ctx context.Context, projectID int64) ([]workunits.Job, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+jobColumns+` FROM jobs WHERE project_id = $1 AND state = $2
		ORDER BY priority DESC, id`, projectID, workunits.JobWaiting)
	jobs, err := pgx.CollectRows(rows, scanJob)
	if err != nil {
		return nil, fmt.Errorf("listing waiting jobs of project %d: %w", projectID, err)
	}
	return jobs, nil
}

func (t *Tx) JobActivateMany(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	rows, _ := t.tx.Query(ctx, `SELECT DISTINCT project_id FROM jobs WHERE id = ANY($1) AND state = $2 ORDER BY project_id`,
		ids, workunits.JobWaiting)
	projects, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("activating %d jobs: %w", len(ids), err)
	}
	// Before the jobs turn active: a project is waking if it had no
	// leasable work without them.
	for _, p := range projects {
		if err := t.projectWake(ctx, p); err != nil {
			return err
		}
	}
	if _, err := t.tx.Exec(ctx, `UPDATE jobs SET state = $2 WHERE id = ANY($1) AND state = $3`,
		ids, workunits.JobActive, workunits.JobWaiting); err != nil {
		return fmt.Errorf("activating %d jobs: %w", len(ids), err)
	}
	return nil
}

// leasable is the condition on jobs j that have a task to lease.
const leasable = `j.state = 'active' AND EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state = 'unsent')`

// projectWake puts a project about to get leasable work, if it has none
// now, at the lowest pass of the projects that have: it neither banks
// credit while idle nor pays for what it used long ago. With no other
// project in the running, its pass is left alone.
func (t *Tx) projectWake(ctx context.Context, projectID int64) error {
	if _, err := t.tx.Exec(ctx, `INSERT INTO project_usage (project_id, pass)
		SELECT $1, m FROM (SELECT min(coalesce(u.pass, 0)) AS m FROM jobs j
		                   LEFT JOIN project_usage u ON u.project_id = j.project_id
		                   WHERE j.project_id <> $1 AND `+leasable+`) x
		WHERE m IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.project_id = $1 AND `+leasable+`)
		ON CONFLICT (project_id) DO UPDATE SET pass = EXCLUDED.pass`, projectID); err != nil {
		return fmt.Errorf("placing project %d in the fair share: %w", projectID, err)
	}
	return nil
}

// leaseJobFirstReplicas is leaseCandidates for one job ($5), restricted to
// the lowest unsent task of each unit, so that one statement can take many
// tasks without taking (and so locking) two of one unit.
var leaseJobFirstReplicas = fmt.Sprintf(leaseCandidates, `AND t.job_id = $5 AND NOT EXISTS (SELECT 1 FROM tasks s
	                  WHERE s.unit_id = t.unit_id AND s.state = 'unsent' AND s.id < t.id)`)

// leaseFairShare picks up to max tasks in fair share with pick, which runs
// a candidate query with the job id as $5, and advances the passes of the
// projects it took from.
func (t *Tx) leaseFairShare(ctx context.Context, max int, skipJobs []int64, pick func(query string, limit int, jobID int64) (int, error)) error {
	rows, _ := t.tx.Query(ctx, `SELECT j.id, j.project_id, j.priority, p.share, coalesce(u.pass, 0)
		FROM jobs j JOIN projects p ON p.id = j.project_id LEFT JOIN project_usage u ON u.project_id = j.project_id
		WHERE `+leasable+` AND j.id <> ALL($1)`, skipJobs)
	jobs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.LeasableJob, error) {
		var j store.LeasableJob
		err := row.Scan(&j.JobID, &j.ProjectID, &j.Priority, &j.Share, &j.Pass)
		return j, err
	})
	if err != nil {
		return fmt.Errorf("finding jobs with unsent tasks: %w", err)
	}
	adv, err := store.LeaseFairShare(jobs, max, func(jobID int64, limit int) (int, error) {
		return pick(leaseJobFirstReplicas, limit, jobID)
	})
	if err != nil || len(adv) == 0 {
		return err
	}
	ids, deltas := make([]int64, len(adv)), make([]int64, len(adv))
	for i, a := range adv {
		ids[i], deltas[i] = a.ProjectID, a.Delta
	}
	// In project order, so that leases advancing the same projects lock
	// their rows in one order and never deadlock.
	if _, err := t.tx.Exec(ctx, `INSERT INTO project_usage (project_id, pass)
		SELECT id, delta FROM unnest($1::bigint[], $2::bigint[]) AS x(id, delta) ORDER BY id
		ON CONFLICT (project_id) DO UPDATE SET pass = project_usage.pass + EXCLUDED.pass`, ids, deltas); err != nil {
		return fmt.Errorf("advancing the fair share of %d projects: %w", len(ids), err)
	}
	return nil
}
