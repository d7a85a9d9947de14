package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/nightshift-platform/nightshift/coordinator/store"
)

// leaseCandidates walks unsent tasks of active jobs, oldest job first, that
// the contributor holds no replica of ($1), whose unit is not already
// taken in this call ($2) and whose job the host did not ask to skip ($4),
// and locks up to $3 of them. SKIP LOCKED passes
// over tasks another transaction is leasing; every task locked here is
// leased, so a host told there is nothing has not merely been unlucky.
// Fair share (fairshare.go) takes from chosen jobs with leaseTakeFirstReplicas.
const leaseCandidates = `SELECT t.id, t.unit_id FROM tasks t
	JOIN jobs j ON j.id = t.job_id
	WHERE t.state = 'unsent' AND j.state = 'active'
	  AND t.unit_id <> ALL($2) AND t.job_id <> ALL($4)
	  AND NOT EXISTS (SELECT 1 FROM tasks o JOIN hosts oh ON oh.id = o.host_id
	                  WHERE o.unit_id = t.unit_id AND oh.contributor_id = $1)
	  %s
	ORDER BY t.job_id, t.id
	LIMIT $3
	FOR UPDATE OF t SKIP LOCKED`

// leaseAnyReplica is leaseCandidates for one task at a time: it finds a
// unit whose first replica another transaction has locked.
var leaseAnyReplica = fmt.Sprintf(leaseCandidates, ``)

func (t *Tx) TaskLease(ctx context.Context, p store.TaskLeaseParams) ([]store.Lease, error) {
	if p.Max <= 0 {
		return nil, nil
	}
	// Empty, not nil: a nil slice is sent as NULL, and "<> ALL(NULL)"
	// would exclude every unit.
	taskIDs, unitIDs := []int64{}, []int64{}
	skipJobs := p.SkipJobs
	if skipJobs == nil {
		skipJobs = []int64{}
	}
	contributorID, jobs, err := t.leaseStart(ctx, p.HostID, skipJobs)
	if err != nil {
		return nil, err
	}
	pick := func(query string, limit int) (int, error) {
		rows, err := t.tx.Query(ctx, query, contributorID, unitIDs, limit, skipJobs)
		if err != nil {
			return 0, fmt.Errorf("finding unsent tasks: %w", err)
		}
		var taskID, unitID int64
		n, err := pgx.ForEachRow(rows, []any{&taskID, &unitID}, func() error {
			taskIDs, unitIDs = append(taskIDs, taskID), append(unitIDs, unitID)
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("finding unsent tasks: %w", err)
		}
		return int(n.RowsAffected()), nil
	}
	adv, err := store.LeaseFairShare(jobs, p.Max, func(asks []store.JobTake) ([]int, error) {
		return t.leaseTake(ctx, contributorID, asks, &taskIDs, &unitIDs)
	})
	if err != nil {
		return nil, err
	}
	// Short only if the pool ran dry or some units' first replicas were
	// locked by other leases; those units may have another replica free.
	for len(taskIDs) < p.Max {
		n, err := pick(leaseAnyReplica, 1)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
	}
	if len(taskIDs) == 0 {
		return nil, nil
	}

	// The passes advance in the same statement, in project order, so that
	// leases advancing the same projects lock their rows in one order and
	// never deadlock, each in its contributor's stripe.
	advIDs, advDeltas := make([]int64, len(adv)), make([]int64, len(adv))
	for i, a := range adv {
		advIDs[i], advDeltas[i] = a.ProjectID, a.Delta
	}
	rows, err := t.tx.Query(ctx, `WITH advance AS (INSERT INTO project_usage (project_id, stripe, pass)
			SELECT id, $6, delta FROM unnest($4::bigint[], $5::bigint[]) AS x(id, delta) ORDER BY id
			ON CONFLICT (project_id, stripe) DO UPDATE SET pass = project_usage.pass + EXCLUDED.pass)
		UPDATE tasks t SET host_id = $1, state = 'in_progress', sent_at = $2::timestamptz,
			deadline_at = $2::timestamptz + j.deadline_ms * interval '1 millisecond'
		FROM units u, jobs j, app_versions v, apps a, projects p
		WHERE t.id = ANY($3) AND t.state = 'unsent'
		  AND u.id = t.unit_id AND j.id = t.job_id AND v.id = j.app_version_id AND a.id = v.app_id AND p.id = j.project_id
		RETURNING t.id, t.unit_id, t.job_id, a.name, v.module_sha256, u.input, t.deadline_at,
		  j.project_id, v.signature, p.signing_public_key`,
		p.HostID, ts(p.Now), taskIDs, advIDs, advDeltas, int16(contributorID%passStripes))
	if err != nil {
		return nil, fmt.Errorf("leasing tasks: %w", err)
	}
	leases, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.Lease, error) {
		var l store.Lease
		err := row.Scan(&l.TaskID, &l.UnitID, &l.JobID, &l.AppName, &l.ModuleSHA256, &l.Input, &l.DeadlineAt,
			&l.ProjectID, &l.ModuleSignature, &l.SigningKey)
		l.DeadlineAt = l.DeadlineAt.UTC()
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("leasing tasks: %w", err)
	}
	slices.SortFunc(leases, func(a, b store.Lease) int { return cmp.Compare(a.TaskID, b.TaskID) })
	return t.withInputRefs(ctx, leases)
}
