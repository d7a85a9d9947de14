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
		ORDER BY priority DESC, id FOR UPDATE`, projectID, workunits.JobWaiting)
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

// projectPass is the pass of job j's project: the sum of its stripes.
const projectPass = `coalesce((SELECT sum(u.pass) FROM project_usage u WHERE u.project_id = j.project_id), 0)::bigint`

// passStripes is how many rows a project's pass is spread over.
const passStripes = 16

// leasable is the condition on jobs j that have a task to lease.
const leasable = `j.state = 'active' AND EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state = 'unsent')`

// projectWake puts a project about to get leasable work, if it has none
// now, at the lowest pass of the projects that have: it neither banks
// credit while idle nor pays for what it used long ago. With no other
// project in the running, its pass is left alone.
func (t *Tx) projectWake(ctx context.Context, projectID int64) error {
	// The pass is moved to stripe 0, the other stripes emptied: different
	// rows, so the two parts of the statement never touch one row twice.
	if _, err := t.tx.Exec(ctx, `WITH target AS (
			SELECT m FROM (SELECT min(`+projectPass+`) AS m FROM jobs j WHERE j.project_id <> $1 AND `+leasable+`) x
			WHERE m IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.project_id = $1 AND `+leasable+`)),
		cleared AS (DELETE FROM project_usage WHERE project_id = $1 AND stripe <> 0 AND EXISTS (SELECT 1 FROM target))
		INSERT INTO project_usage (project_id, stripe, pass) SELECT $1, 0, m FROM target
		ON CONFLICT (project_id, stripe) DO UPDATE SET pass = EXCLUDED.pass`, projectID); err != nil {
		return fmt.Errorf("placing project %d in the fair share: %w", projectID, err)
	}
	return nil
}

// leaseTakeFirstReplicas is leaseCandidates for several jobs at once ($3),
// up to a limit each ($4), restricted to the lowest unsent task of each
// unit, so that one statement can take many tasks without taking (and so
// locking) two of one unit. It returns each task with the index (from 1)
// of its job in $3.
const leaseTakeFirstReplicas = `SELECT c.id, c.unit_id, q.i
	FROM unnest($3::bigint[], $4::bigint[]) WITH ORDINALITY AS q(job_id, lim, i)
	CROSS JOIN LATERAL (SELECT t.id, t.unit_id FROM tasks t JOIN jobs j ON j.id = t.job_id
		WHERE t.job_id = q.job_id AND t.state = 'unsent' AND j.state = 'active' AND t.unit_id <> ALL($2)
		  AND NOT EXISTS (SELECT 1 FROM tasks o JOIN hosts oh ON oh.id = o.host_id
		                  WHERE o.unit_id = t.unit_id AND oh.contributor_id = $1)
		  AND NOT EXISTS (SELECT 1 FROM tasks s WHERE s.unit_id = t.unit_id AND s.state = 'unsent' AND s.id < t.id)
		ORDER BY t.id
		LIMIT q.lim
		FOR UPDATE OF t SKIP LOCKED) c`

// leaseStart locks the host's contributor and lists the jobs with work
// and what fair share needs of their projects, in one round trip.
//
// Locking the contributor serialises leases to the hosts of one
// contributor: otherwise two of their hosts asking at once could each take
// a replica of the same unit, neither seeing the other's. The job list is
// read before the lock is granted, so it may be stale; it only says where
// to look, and every task is checked again when it is taken.
func (t *Tx) leaseStart(ctx context.Context, hostID int64, skipJobs []int64) (int64, []store.LeasableJob, error) {
	var contributorID int64
	var ids, projects, priorities, shares, passes []int64
	if err := t.tx.QueryRow(ctx, `SELECT c.id, l.ids, l.projects, l.priorities, l.shares, l.passes
		FROM hosts h JOIN contributors c ON c.id = h.contributor_id
		CROSS JOIN LATERAL (SELECT array_agg(j.id ORDER BY j.id) AS ids, array_agg(j.project_id ORDER BY j.id) AS projects,
		                           array_agg(j.priority::bigint ORDER BY j.id) AS priorities,
		                           array_agg(p.share::bigint ORDER BY j.id) AS shares,
		                           array_agg(`+projectPass+` ORDER BY j.id) AS passes
		                    FROM jobs j JOIN projects p ON p.id = j.project_id
		                    WHERE `+leasable+` AND j.id <> ALL($2)) l
		WHERE h.id = $1 FOR NO KEY UPDATE OF c`, hostID, skipJobs).Scan(&contributorID, &ids, &projects, &priorities, &shares, &passes); err != nil {
		return 0, nil, notFound(err, "host %d not found", hostID)
	}
	jobs := make([]store.LeasableJob, len(ids))
	for i := range ids {
		jobs[i] = store.LeasableJob{JobID: ids[i], ProjectID: projects[i], Priority: int(priorities[i]),
			Share: int(shares[i]), Pass: passes[i]}
	}
	return contributorID, jobs, nil
}

// leaseTake locks the tasks fair share asks for, appending them to
// taskIDs and unitIDs, and says how many it took of each job.
func (t *Tx) leaseTake(ctx context.Context, contributorID int64, asks []store.JobTake, taskIDs, unitIDs *[]int64) ([]int, error) {
	jobs, limits := make([]int64, len(asks)), make([]int64, len(asks))
	for i, a := range asks {
		jobs[i], limits[i] = a.JobID, int64(a.Limit)
	}
	rows, err := t.tx.Query(ctx, leaseTakeFirstReplicas, contributorID, *unitIDs, jobs, limits)
	if err != nil {
		return nil, fmt.Errorf("finding unsent tasks: %w", err)
	}
	got := make([]int, len(asks))
	var taskID, unitID, i int64
	if _, err := pgx.ForEachRow(rows, []any{&taskID, &unitID, &i}, func() error {
		*taskIDs, *unitIDs = append(*taskIDs, taskID), append(*unitIDs, unitID)
		got[i-1]++
		return nil
	}); err != nil {
		return nil, fmt.Errorf("finding unsent tasks: %w", err)
	}
	return got, nil
}
