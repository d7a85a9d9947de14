package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

const dayMillis = 24 * 60 * 60 * 1000

// rewardKey matches the keys of store.RewardKeyPatterns in lt.key.
var rewardKey = "(" + strings.Join(func() []string {
	var or []string
	for _, p := range store.RewardKeyPatterns {
		or = append(or, "lt.key LIKE '"+p+"'")
	}
	return or
}(), " OR ") + ")"

// rewardTaskID is the task id in a reward key: what follows ":task:".
const rewardTaskID = `CAST(substr(lt.key, instr(lt.key, ':task:') + 6) AS INTEGER)`

// ContributorEarningsByDay reads the account's entries forward from the
// first transaction of the window less store.LedgerOrderSlack, through
// ledger_entries_account_transaction.
func (t *Tx) ContributorEarningsByDay(ctx context.Context, contributorID int64, since, until time.Time) ([]store.DayMicros, error) {
	var first int64
	err := t.tx.QueryRowContext(ctx, `SELECT id FROM ledger_transactions WHERE created_at >= ? ORDER BY created_at LIMIT 1`,
		since.Add(-store.LedgerOrderSlack).UnixMilli()).Scan(&first)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("finding the ledger from %s: %w", since, err)
	}
	out, err := collect(ctx, t, func(row scanner) (store.DayMicros, error) {
		var d store.DayMicros
		var day int64
		err := row.Scan(&day, &d.Micros)
		d.Day = time.UnixMilli(day * dayMillis).UTC()
		return d, err
	}, `SELECT lt.created_at / `+fmt.Sprint(dayMillis)+` AS day, sum(e.amount)
		FROM ledger_entries e JOIN ledger_transactions lt ON lt.id = e.transaction_id
		WHERE e.account = ? AND e.transaction_id >= ? AND lt.created_at >= ? AND lt.created_at < ? AND `+rewardKey+`
		GROUP BY day ORDER BY day`,
		payouts.ContributorAvailable(contributorID), first, since.UnixMilli(), until.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("summing the earnings of contributor %d by day: %w", contributorID, err)
	}
	return out, nil
}

func (t *Tx) ContributorRank(ctx context.Context, contributorID int64) (rank, of int, err error) {
	err = t.tx.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM contributors o WHERE o.total_credit > c.total_credit) + 1,
			(SELECT count(*) FROM contributors)
		FROM contributors c WHERE c.id = ?`, contributorID).Scan(&rank, &of)
	if err != nil {
		return 0, 0, notFound(err, "contributor %d not found", contributorID)
	}
	return rank, of, nil
}

// HostOverviewList counts the tasks of the contributor's hosts through
// tasks_host and sums their rewards from the entries of the contributor's
// available account: the contributor's own rows, nobody else's.
func (t *Tx) HostOverviewList(ctx context.Context, contributorID int64) ([]store.HostOverview, error) {
	hosts, err := collect(ctx, t, func(row scanner) (store.HostOverview, error) {
		var h store.HostOverview
		var created int64
		var contact, blocked sql.NullInt64
		err := row.Scan(&h.ID, &h.ContributorID, &h.Name, &h.Platform, &h.Cores, &created, &contact, &blocked, &h.BlockedReason)
		h.CreatedAt, h.LastContactAt, h.BlockedAt = time.UnixMilli(created).UTC(), fromMillis(contact), fromMillis(blocked)
		h.Tasks = map[workunits.TaskStatus]int{}
		return h, err
	}, `SELECT id, contributor_id, name, platform, cores, created_at, last_contact_at, blocked_at, blocked_reason
		FROM hosts WHERE contributor_id = ? ORDER BY id`, contributorID)
	if err != nil {
		return nil, fmt.Errorf("listing the hosts of contributor %d: %w", contributorID, err)
	}
	index := make(map[int64]int, len(hosts))
	for i, h := range hosts {
		index[h.ID] = i
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT t.host_id, t.state, t.outcome, t.validate_state, count(*)
		FROM hosts h JOIN tasks t ON t.host_id = h.id WHERE h.contributor_id = ?
		GROUP BY t.host_id, t.state, t.outcome, t.validate_state`, contributorID)
	if err != nil {
		return nil, fmt.Errorf("counting the tasks of contributor %d: %w", contributorID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var host int64
		var st workunits.TaskState
		var out workunits.Outcome
		var vs workunits.ValidateState
		var n int
		if err := rows.Scan(&host, &st, &out, &vs, &n); err != nil {
			return nil, fmt.Errorf("counting the tasks of contributor %d: %w", contributorID, err)
		}
		if s := workunits.StatusOf(st, out, vs); s != "" {
			hosts[index[host]].Tasks[s] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting the tasks of contributor %d: %w", contributorID, err)
	}
	rows, err = t.tx.QueryContext(ctx, `SELECT t.host_id, sum(e.amount)
		FROM ledger_entries e JOIN ledger_transactions lt ON lt.id = e.transaction_id
		JOIN tasks t ON t.id = `+rewardTaskID+`
		WHERE e.account = ? AND `+rewardKey+` GROUP BY t.host_id`, payouts.ContributorAvailable(contributorID))
	if err != nil {
		return nil, fmt.Errorf("summing the earnings of contributor %d by host: %w", contributorID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var host, micros int64
		if err := rows.Scan(&host, &micros); err != nil {
			return nil, fmt.Errorf("summing the earnings of contributor %d by host: %w", contributorID, err)
		}
		if i, ok := index[host]; ok {
			hosts[i].EarnedMicros = micros
		}
	}
	return hosts, rows.Err()
}

// ContributorTaskList walks each host's tasks backwards through
// tasks_host, which holds the rowid and so is (host_id, id), taking at
// most p.Limit from each, and keeps the newest p.Limit of them: a page
// reads a page per host, whatever the hosts' history.
func (t *Tx) ContributorTaskList(ctx context.Context, p store.ContributorTaskListParams) ([]store.ContributorTask, error) {
	hostQuery, hostArgs := `SELECT id FROM hosts WHERE contributor_id = ?`, []any{p.ContributorID}
	if p.HostID != 0 {
		hostQuery, hostArgs = hostQuery+` AND id = ?`, append(hostArgs, p.HostID)
	}
	hosts, err := t.int64s(ctx, hostQuery, hostArgs...)
	if err != nil {
		return nil, fmt.Errorf("listing the hosts of contributor %d: %w", p.ContributorID, err)
	}
	before := p.BeforeID
	if before <= 0 {
		before = 1<<63 - 1
	}
	where, args := taskFilter(p)
	var ids []int64
	for _, h := range hosts {
		got, err := t.int64s(ctx, `SELECT t.id FROM tasks t WHERE t.host_id = ? AND t.id < ?`+where+`
			ORDER BY t.id DESC LIMIT ?`, append(append([]any{h, before}, args...), p.Limit)...)
		if err != nil {
			return nil, fmt.Errorf("listing the tasks of host %d: %w", h, err)
		}
		ids = append(ids, got...)
	}
	slices.SortFunc(ids, func(a, b int64) int { return cmp.Compare(b, a) })
	ids = ids[:min(len(ids), p.Limit)]
	if len(ids) == 0 {
		return nil, nil
	}
	out, err := collect(ctx, t, func(row scanner) (store.ContributorTask, error) {
		var c store.ContributorTask
		var sent, received sql.NullInt64
		var cpu int64
		err := row.Scan(&c.TaskID, &c.HostID, &c.HostName, &c.ProjectID, &c.ProjectName, &c.App, &c.JobID, &c.UnitSeq,
			&c.State, &c.Outcome, &c.ValidateState, &sent, &received, &cpu, &c.Credit, &c.RewardMicros)
		c.SentAt, c.ReceivedAt, c.CPUTime = fromMillis(sent), fromMillis(received), time.Duration(cpu)*time.Microsecond
		return c, err
	}, `SELECT t.id, t.host_id, h.name, j.project_id, p.name, a.name, t.job_id, u.seq,
			t.state, t.outcome, t.validate_state, t.sent_at, t.received_at, t.cpu_micros, coalesce(t.credit, 0),
			coalesce((SELECT sum(e.amount) FROM ledger_transactions lt
				JOIN ledger_entries e ON e.transaction_id = lt.id AND e.account = ?
				WHERE lt.key IN ('post:task:' || t.id, 'reward:task:' || t.id, 'clawback:task:' || t.id)), 0)
		FROM tasks t
		JOIN hosts h ON h.id = t.host_id
		JOIN units u ON u.id = t.unit_id
		JOIN jobs j ON j.id = t.job_id
		JOIN projects p ON p.id = j.project_id
		JOIN app_versions av ON av.id = j.app_version_id
		JOIN apps a ON a.id = av.app_id
		WHERE t.id IN (`+placeholders(len(ids))+`) ORDER BY t.id DESC`,
		append([]any{payouts.ContributorAvailable(p.ContributorID)}, int64Args(ids)...)...)
	if err != nil {
		return nil, fmt.Errorf("loading the tasks of contributor %d: %w", p.ContributorID, err)
	}
	return out, nil
}

// taskFilter is the SQL (each condition after " AND ") and arguments of
// p's filters other than host and contributor.
func taskFilter(p store.ContributorTaskListParams) (string, []any) {
	var b strings.Builder
	var args []any
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		fmt.Fprintf(&b, " AND %s IN (%s)", col, placeholders(len(vals)))
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("t.state", strs(p.Match.States))
	in("t.outcome", strs(p.Match.Outcomes))
	in("t.validate_state", strs(p.Match.ValidateStates))
	if p.ProjectID != 0 {
		b.WriteString(" AND t.job_id IN (SELECT id FROM jobs WHERE project_id = ?)")
		args = append(args, p.ProjectID)
	}
	if p.App != "" {
		b.WriteString(` AND t.job_id IN (SELECT j.id FROM apps a JOIN app_versions av ON av.app_id = a.id
			JOIN jobs j ON j.app_version_id = av.id WHERE a.name = ?)`)
		args = append(args, p.App)
	}
	return b.String(), args
}

func strs[S ~string](vals []S) []string {
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
	out, err := collect(ctx, t, func(row scanner) (store.ProjectSummary, error) {
		var p store.ProjectSummary
		var created int64
		err := row.Scan(&p.ID, &p.Name, &p.Description, &created, &p.JobsActive, &p.JobsDone, &p.UnitsTotal, &p.UnitsDone)
		p.CreatedAt = time.UnixMilli(created).UTC()
		return p, err
	}, `SELECT p.id, p.name, p.description, p.created_at,
			count(CASE WHEN j.state IN ('active', 'waiting') THEN 1 END),
			count(CASE WHEN j.state = 'done' THEN 1 END),
			coalesce(sum(CASE WHEN j.state <> 'cancelled' THEN j.unit_count END), 0),
			coalesce(sum(CASE WHEN j.state = 'done' THEN j.unit_count
				WHEN j.state IN ('active', 'waiting') THEN
					(SELECT count(*) FROM units u WHERE u.job_id = j.id AND u.finished_at IS NOT NULL) END), 0)
		FROM projects p LEFT JOIN jobs j ON j.project_id = p.id
		GROUP BY p.id ORDER BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("summing projects: %w", err)
	}
	return out, nil
}

func (t *Tx) ProjectListByMemberEmail(ctx context.Context, email string) ([]store.MemberOf, error) {
	if email == "" {
		return nil, nil
	}
	out, err := collect(ctx, t, func(row scanner) (store.MemberOf, error) {
		var m store.MemberOf
		return m, row.Scan(&m.ProjectID, &m.Name, &m.Description, &m.Role)
	}, `SELECT p.id, p.name, p.description, m.role FROM project_members m JOIN projects p ON p.id = m.project_id
		WHERE lower(m.email) = lower(?) AND m.removed_at IS NULL AND m.email <> '' ORDER BY p.id`, email)
	if err != nil {
		return nil, fmt.Errorf("listing the projects of a member: %w", err)
	}
	return out, nil
}

func (t *Tx) ProjectDescriptionSet(ctx context.Context, id int64, description string) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE projects SET description = ? WHERE id = ?`, description, id)
	if err != nil {
		return fmt.Errorf("describing project %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return workunits.Errorf(workunits.ENOTFOUND, "project %d not found", id)
	}
	return nil
}
