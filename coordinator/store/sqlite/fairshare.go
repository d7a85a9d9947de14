package sqlite

import (
	"context"
	"fmt"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) ProjectShareSet(ctx context.Context, projectID int64, share int) error {
	if err := workunits.ValidateShare(share); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, `UPDATE projects SET share = ? WHERE id = ?`, share, projectID)
	if err != nil {
		return fmt.Errorf("setting the share of project %d: %w", projectID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return workunits.Errorf(workunits.ENOTFOUND, "project %d not found", projectID)
	}
	return nil
}

func (t *Tx) JobListWaiting(ctx context.Context, projectID int64) ([]workunits.Job, error) {
	jobs, err := collect(ctx, t, scanJob, `SELECT `+jobColumns+` FROM jobs WHERE project_id = ? AND state = ?
		ORDER BY priority DESC, id`, projectID, workunits.JobWaiting)
	if err != nil {
		return nil, fmt.Errorf("listing waiting jobs of project %d: %w", projectID, err)
	}
	return jobs, nil
}

func (t *Tx) JobActivateMany(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return chunks(ids, func(ids []int64) error {
		projects, err := t.int64s(ctx, `SELECT DISTINCT project_id FROM jobs WHERE state = ? AND id IN (`+placeholders(len(ids))+`)
			ORDER BY project_id`, append([]any{workunits.JobWaiting}, int64Args(ids)...)...)
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
		if _, err := t.tx.ExecContext(ctx, `UPDATE jobs SET state = ? WHERE state = ? AND id IN (`+placeholders(len(ids))+`)`,
			append([]any{workunits.JobActive, workunits.JobWaiting}, int64Args(ids)...)...); err != nil {
			return fmt.Errorf("activating %d jobs: %w", len(ids), err)
		}
		return nil
	})
}

// leasable is the condition on jobs j that have a task to lease.
const leasable = `j.state = 'active' AND EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state = 'unsent')`

// projectWake puts a project about to get leasable work, if it has none
// now, at the lowest pass of the projects that have: it neither banks
// credit while idle nor pays for what it used long ago. With no other
// project in the running, its pass is left alone.
func (t *Tx) projectWake(ctx context.Context, projectID int64) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO project_usage (project_id, pass)
		SELECT ?1, m FROM (SELECT min(coalesce(u.pass, 0)) AS m FROM jobs j
		                   LEFT JOIN project_usage u ON u.project_id = j.project_id
		                   WHERE j.project_id <> ?1 AND `+leasable+`)
		WHERE m IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.project_id = ?1 AND `+leasable+`)
		ON CONFLICT (project_id) DO UPDATE SET pass = excluded.pass`, projectID); err != nil {
		return fmt.Errorf("placing project %d in the fair share: %w", projectID, err)
	}
	return nil
}

// leaseFairShare picks up to max tasks in fair share with take and
// advances the passes of the projects it took from.
func (t *Tx) leaseFairShare(ctx context.Context, max int, skipJobs []int64, take func(jobID int64, limit int) (int, error)) error {
	skip, args := "", []any{}
	if len(skipJobs) > 0 {
		skip, args = "AND j.id NOT IN ("+placeholders(len(skipJobs))+")", int64Args(skipJobs)
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT j.id, j.project_id, j.priority, p.share, coalesce(u.pass, 0)
		FROM jobs j JOIN projects p ON p.id = j.project_id LEFT JOIN project_usage u ON u.project_id = j.project_id
		WHERE `+leasable+` `+skip, args...)
	if err != nil {
		return fmt.Errorf("finding jobs with unsent tasks: %w", err)
	}
	var jobs []store.LeasableJob
	for rows.Next() {
		var j store.LeasableJob
		if err := rows.Scan(&j.JobID, &j.ProjectID, &j.Priority, &j.Share, &j.Pass); err != nil {
			rows.Close()
			return fmt.Errorf("finding jobs with unsent tasks: %w", err)
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("finding jobs with unsent tasks: %w", err)
	}
	adv, err := store.LeaseFairShare(jobs, max, func(asks []store.JobTake) ([]int, error) {
		got := make([]int, len(asks))
		for i, a := range asks {
			n, err := take(a.JobID, a.Limit)
			if err != nil {
				return nil, err
			}
			got[i] = n
		}
		return got, nil
	})
	if err != nil {
		return err
	}
	for _, a := range adv {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO project_usage (project_id, pass) VALUES (?, ?)
			ON CONFLICT (project_id) DO UPDATE SET pass = pass + excluded.pass`, a.ProjectID, a.Delta); err != nil {
			return fmt.Errorf("advancing the fair share of project %d: %w", a.ProjectID, err)
		}
	}
	return nil
}
