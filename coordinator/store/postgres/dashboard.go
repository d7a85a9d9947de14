package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// rewardKey matches the keys of store.RewardKeyPatterns in lt.key.
var rewardKey = "(" + strings.Join(func() []string {
	var or []string
	for _, p := range store.RewardKeyPatterns {
		or = append(or, "lt.key LIKE '"+p+"'")
	}
	return or
}(), " OR ") + ")"

// ContributorEarningsByDay reads the account's entries forward from the
// first transaction of the window less store.LedgerOrderSlack, through
// ledger_entries_account_transaction.
func (t *Tx) ContributorEarningsByDay(ctx context.Context, contributorID int64, since, until time.Time) ([]store.DayMicros, error) {
	var first int64
	err := t.tx.QueryRow(ctx, `SELECT id FROM ledger_transactions WHERE created_at >= $1 ORDER BY created_at LIMIT 1`,
		ts(since.Add(-store.LedgerOrderSlack))).Scan(&first)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("finding the ledger from %s: %w", since, err)
	}
	rows, err := t.tx.Query(ctx, `SELECT floor(extract(epoch FROM lt.created_at) / 86400)::bigint AS day, sum(e.amount)::bigint
		FROM ledger_entries e JOIN ledger_transactions lt ON lt.id = e.transaction_id
		WHERE e.account = $1 AND e.transaction_id >= $2 AND lt.created_at >= $3 AND lt.created_at < $4 AND `+rewardKey+`
		GROUP BY day ORDER BY day`,
		payouts.ContributorAvailable(contributorID), first, ts(since), ts(until))
	if err != nil {
		return nil, fmt.Errorf("summing the earnings of contributor %d by day: %w", contributorID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.DayMicros, error) {
		var d store.DayMicros
		var day int64
		err := row.Scan(&day, &d.Micros)
		d.Day = time.Unix(day*86400, 0).UTC()
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("summing the earnings of contributor %d by day: %w", contributorID, err)
	}
	return out, nil
}

func (t *Tx) ContributorRank(ctx context.Context, contributorID int64) (rank, of int, err error) {
	err = t.tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM contributors o WHERE o.total_credit > c.total_credit) + 1,
			(SELECT count(*) FROM contributors)
		FROM contributors c WHERE c.id = $1`, contributorID).Scan(&rank, &of)
	if err != nil {
		return 0, 0, notFound(err, "contributor %d not found", contributorID)
	}
	return rank, of, nil
}

// HostOverviewList counts the tasks of the contributor's hosts through
// tasks_host_id and sums their rewards from the entries of the
// contributor's available account: the contributor's own rows only.
func (t *Tx) HostOverviewList(ctx context.Context, contributorID int64) ([]store.HostOverview, error) {
	rows, err := t.tx.Query(ctx, `SELECT id, contributor_id, name, platform, cores, created_at, last_contact_at, blocked_at, blocked_reason
		FROM hosts WHERE contributor_id = $1 ORDER BY id`, contributorID)
	if err != nil {
		return nil, fmt.Errorf("listing the hosts of contributor %d: %w", contributorID, err)
	}
	hosts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.HostOverview, error) {
		var h store.HostOverview
		var contact, blocked pgtype.Timestamptz
		err := row.Scan(&h.ID, &h.ContributorID, &h.Name, &h.Platform, &h.Cores, &h.CreatedAt, &contact, &blocked, &h.BlockedReason)
		h.CreatedAt, h.LastContactAt, h.BlockedAt = h.CreatedAt.UTC(), fromTS(contact), fromTS(blocked)
		h.Tasks = map[workunits.TaskStatus]int{}
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing the hosts of contributor %d: %w", contributorID, err)
	}
	index := make(map[int64]int, len(hosts))
	for i, h := range hosts {
		index[h.ID] = i
	}
	rows, err = t.tx.Query(ctx, `SELECT t.host_id, t.state, t.outcome, t.validate_state, count(*)
		FROM hosts h JOIN tasks t ON t.host_id = h.id WHERE h.contributor_id = $1
		GROUP BY t.host_id, t.state, t.outcome, t.validate_state`, contributorID)
	if err != nil {
		return nil, fmt.Errorf("counting the tasks of contributor %d: %w", contributorID, err)
	}
	var host int64
	var st workunits.TaskState
	var out workunits.Outcome
	var vs workunits.ValidateState
	var n int
	if _, err := pgx.ForEachRow(rows, []any{&host, &st, &out, &vs, &n}, func() error {
		if s := workunits.StatusOf(st, out, vs); s != "" {
			hosts[index[host]].Tasks[s] += n
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("counting the tasks of contributor %d: %w", contributorID, err)
	}
	rows, err = t.tx.Query(ctx, `SELECT t.host_id, sum(e.amount)::bigint
		FROM ledger_entries e JOIN ledger_transactions lt ON lt.id = e.transaction_id
		JOIN tasks t ON t.id = split_part(lt.key, ':', 3)::bigint
		WHERE e.account = $1 AND `+rewardKey+` GROUP BY t.host_id`, payouts.ContributorAvailable(contributorID))
	if err != nil {
		return nil, fmt.Errorf("summing the earnings of contributor %d by host: %w", contributorID, err)
	}
	var micros int64
	if _, err := pgx.ForEachRow(rows, []any{&host, &micros}, func() error {
		if i, ok := index[host]; ok {
			hosts[i].EarnedMicros = micros
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("summing the earnings of contributor %d by host: %w", contributorID, err)
	}
	return hosts, nil
}

// ContributorTaskList walks each host's tasks backwards through
// tasks_host_id, at most p.Limit from each (a lateral join), and keeps the
// newest p.Limit: a page reads a page per host, whatever their history.
func (t *Tx) ContributorTaskList(ctx context.Context, p store.ContributorTaskListParams) ([]store.ContributorTask, error) {
	before := p.BeforeID
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := t.tx.Query(ctx, `SELECT t.id FROM hosts h CROSS JOIN LATERAL (
			SELECT t.id FROM tasks t WHERE t.host_id = h.id AND t.id < $2
				AND ($3::text[] IS NULL OR t.state = ANY($3))
				AND ($4::text[] IS NULL OR t.outcome = ANY($4))
				AND ($5::text[] IS NULL OR t.validate_state = ANY($5))
				AND ($6::bigint = 0 OR t.job_id IN (SELECT id FROM jobs WHERE project_id = $6))
				AND ($7::text = '' OR t.job_id IN (SELECT j.id FROM apps a JOIN app_versions av ON av.app_id = a.id
					JOIN jobs j ON j.app_version_id = av.id WHERE a.name = $7))
			ORDER BY t.id DESC LIMIT $8) t
		WHERE h.contributor_id = $1 AND ($9::bigint = 0 OR h.id = $9)
		ORDER BY t.id DESC LIMIT $8`,
		p.ContributorID, before, textArray(p.Match.States), textArray(p.Match.Outcomes), textArray(p.Match.ValidateStates),
		p.ProjectID, p.App, p.Limit, p.HostID)
	if err != nil {
		return nil, fmt.Errorf("listing the tasks of contributor %d: %w", p.ContributorID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("listing the tasks of contributor %d: %w", p.ContributorID, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err = t.tx.Query(ctx, `SELECT t.id, t.host_id, h.name, j.project_id, p.name, a.name, t.job_id, u.seq,
			t.state, t.outcome, t.validate_state, t.sent_at, t.received_at, t.cpu_micros, coalesce(t.credit, 0),
			coalesce((SELECT sum(e.amount) FROM ledger_transactions lt
				JOIN ledger_entries e ON e.transaction_id = lt.id AND e.account = $1
				WHERE lt.key IN ('post:task:' || t.id, 'reward:task:' || t.id, 'clawback:task:' || t.id)), 0)::bigint
		FROM tasks t
		JOIN hosts h ON h.id = t.host_id
		JOIN units u ON u.id = t.unit_id
		JOIN jobs j ON j.id = t.job_id
		JOIN projects p ON p.id = j.project_id
		JOIN app_versions av ON av.id = j.app_version_id
		JOIN apps a ON a.id = av.app_id
		WHERE t.id = ANY($2) ORDER BY t.id DESC`, payouts.ContributorAvailable(p.ContributorID), ids)
	if err != nil {
		return nil, fmt.Errorf("loading the tasks of contributor %d: %w", p.ContributorID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.ContributorTask, error) {
		var c store.ContributorTask
		var sent, received pgtype.Timestamptz
		var cpu int64
		err := row.Scan(&c.TaskID, &c.HostID, &c.HostName, &c.ProjectID, &c.ProjectName, &c.App, &c.JobID, &c.UnitSeq,
			&c.State, &c.Outcome, &c.ValidateState, &sent, &received, &cpu, &c.Credit, &c.RewardMicros)
		c.SentAt, c.ReceivedAt, c.CPUTime = fromTS(sent), fromTS(received), time.Duration(cpu)*time.Microsecond
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("loading the tasks of contributor %d: %w", p.ContributorID, err)
	}
	return out, nil
}

// textArray is vals as a text[] parameter, NULL when empty: no filter.
func textArray[S ~string](vals []S) []string {
	if len(vals) == 0 {
		return nil
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = string(v)
	}
	return out
}

// ProjectSummaryList counts the finished units of running jobs through
// units_finished; a done job's units are all finished, so its unit count
// is enough.
func (t *Tx) ProjectSummaryList(ctx context.Context) ([]store.ProjectSummary, error) {
	rows, err := t.tx.Query(ctx, `SELECT p.id, p.name, p.description, p.created_at,
			count(*) FILTER (WHERE j.state IN ('active', 'waiting')),
			count(*) FILTER (WHERE j.state = 'done'),
			coalesce(sum(j.unit_count) FILTER (WHERE j.state <> 'cancelled'), 0)::bigint,
			coalesce(sum(CASE WHEN j.state = 'done' THEN j.unit_count
				WHEN j.state IN ('active', 'waiting') THEN
					(SELECT count(*) FROM units u WHERE u.job_id = j.id AND u.finished_at IS NOT NULL) END), 0)::bigint
		FROM projects p LEFT JOIN jobs j ON j.project_id = p.id
		GROUP BY p.id ORDER BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("summing projects: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.ProjectSummary, error) {
		var p store.ProjectSummary
		err := row.Scan(&p.ID, &p.Name, &p.Description, &p.CreatedAt, &p.JobsActive, &p.JobsDone, &p.UnitsTotal, &p.UnitsDone)
		p.CreatedAt = p.CreatedAt.UTC()
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("summing projects: %w", err)
	}
	return out, nil
}

func (t *Tx) ProjectListByMemberEmail(ctx context.Context, email string) ([]store.MemberOf, error) {
	if email == "" {
		return nil, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT p.id, p.name, p.description, m.role FROM project_members m JOIN projects p ON p.id = m.project_id
		WHERE lower(m.email) = lower($1) AND m.removed_at IS NULL AND m.email <> '' ORDER BY p.id`, email)
	if err != nil {
		return nil, fmt.Errorf("listing the projects of a member: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.MemberOf, error) {
		var m store.MemberOf
		return m, row.Scan(&m.ProjectID, &m.Name, &m.Description, &m.Role)
	})
	if err != nil {
		return nil, fmt.Errorf("listing the projects of a member: %w", err)
	}
	return out, nil
}

func (t *Tx) ProjectDescriptionSet(ctx context.Context, id int64, description string) error {
	tag, err := t.tx.Exec(ctx, `UPDATE projects SET description = $1 WHERE id = $2`, description, id)
	if err != nil {
		return fmt.Errorf("describing project %d: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return workunits.Errorf(workunits.ENOTFOUND, "project %d not found", id)
	}
	return nil
}
