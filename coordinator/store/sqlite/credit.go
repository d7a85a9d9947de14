package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// racPerMilli is the decay rate of RAC per millisecond: a RAC as of at is
// worth rac·exp(−racPerMilli·(now−at)) at now (payouts.RACDecay).
var racPerMilli = math.Ln2 / float64(payouts.RACHalfLife.Milliseconds())

// racAt is the RAC of rows x decayed to now; ?1 is racPerMilli and ?2 now
// in Unix ms. A RAC stamped after now is not grown.
func racAt(x string) string {
	return `(` + x + `.rac * exp(-?1 * max(?2 - coalesce(` + x + `.rac_at, ?2), 0)))`
}

func (t *Tx) HostOpsPerSecondSet(ctx context.Context, hostID int64, opsPerSecond float64) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE hosts SET ops_per_second = ?2 WHERE id = ?1 AND ops_per_second IS NOT ?2`,
		hostID, opsPerSecond); err != nil {
		return fmt.Errorf("recording the benchmark of host %d: %w", hostID, err)
	}
	return nil
}

// floatsByID runs query over ids in chunks and collects (id, value) rows.
func (t *Tx) floatsByID(ctx context.Context, query string, ids []int64) (map[int64]float64, error) {
	out := make(map[int64]float64, len(ids))
	err := chunks(ids, func(ids []int64) error {
		rows, err := t.tx.QueryContext(ctx, fmt.Sprintf(query, placeholders(len(ids))), int64Args(ids)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var v float64
			if err := rows.Scan(&id, &v); err != nil {
				return err
			}
			out[id] = v
		}
		return rows.Err()
	})
	return out, err
}

func (t *Tx) HostOpsPerSecondMany(ctx context.Context, hostIDs []int64) (map[int64]float64, error) {
	out, err := t.floatsByID(ctx, `SELECT id, ops_per_second FROM hosts WHERE ops_per_second IS NOT NULL AND id IN (%s)`, hostIDs)
	if err != nil {
		return nil, fmt.Errorf("loading host benchmarks: %w", err)
	}
	return out, nil
}

func (t *Tx) AppVersionEstimatesMany(ctx context.Context, ids []int64) (map[int64]workunits.Estimates, error) {
	out := make(map[int64]workunits.Estimates, len(ids))
	err := chunks(ids, func(ids []int64) error {
		rows, err := t.tx.QueryContext(ctx, `SELECT id, est_ops, est_memory_mib, est_disk_mib, est_deadline_seconds
			FROM app_versions WHERE id IN (`+placeholders(len(ids))+`)`, int64Args(ids)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, deadline int64
			var e workunits.Estimates
			if err := rows.Scan(&id, &e.Ops, &e.MemoryMiB, &e.DiskMiB, &deadline); err != nil {
				return err
			}
			e.Deadline = time.Duration(deadline) * time.Second
			out[id] = e
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("loading app version estimates: %w", err)
	}
	return out, nil
}

func (t *Tx) UnitGrantedCreditMany(ctx context.Context, unitIDs []int64) (map[int64]float64, error) {
	out, err := t.floatsByID(ctx, `SELECT id, granted_credit FROM units WHERE granted_credit IS NOT NULL AND id IN (%s)`, unitIDs)
	if err != nil {
		return nil, fmt.Errorf("loading granted credit of units: %w", err)
	}
	return out, nil
}

func (t *Tx) UnitGrantedCreditSetMany(ctx context.Context, granted map[int64]float64) error {
	for _, id := range slices.Sorted(maps.Keys(granted)) {
		if _, err := t.tx.ExecContext(ctx, `UPDATE units SET granted_credit = ? WHERE id = ? AND granted_credit IS NULL`,
			granted[id], id); err != nil {
			return fmt.Errorf("fixing the granted credit of unit %d: %w", id, err)
		}
	}
	return nil
}

func (t *Tx) CreditGrantMany(ctx context.Context, grants []store.CreditGrant, now time.Time) error {
	byHost := map[int64]float64{}
	for _, g := range grants {
		var host sql.NullInt64
		err := t.tx.QueryRowContext(ctx, `UPDATE tasks SET credit = ? WHERE id = ? AND credit IS NULL RETURNING host_id`,
			max(g.Credit, 0), g.TaskID).Scan(&host)
		switch {
		case err == sql.ErrNoRows: // granted before
		case err != nil:
			return fmt.Errorf("granting credit to task %d: %w", g.TaskID, err)
		case host.Valid:
			byHost[host.Int64] += max(g.Credit, 0)
		}
	}
	if len(byHost) == 0 {
		return nil
	}
	hostIDs := slices.Sorted(maps.Keys(byHost))
	owner, err := t.HostContributorMany(ctx, hostIDs)
	if err != nil {
		return err
	}
	byContributor := map[int64]float64{}
	for _, h := range hostIDs {
		byContributor[owner[h]] += byHost[h]
	}
	if err := t.creditAdd(ctx, "hosts", byHost, now); err != nil {
		return err
	}
	return t.creditAdd(ctx, "contributors", byContributor, now)
}

// creditAdd adds credit to rows of table (hosts or contributors) by id:
// to their totals, and to their RAC brought up to now.
func (t *Tx) creditAdd(ctx context.Context, table string, credit map[int64]float64, now time.Time) error {
	for _, id := range slices.Sorted(maps.Keys(credit)) {
		var rac float64
		var at sql.NullInt64
		if err := t.tx.QueryRowContext(ctx, `SELECT rac, rac_at FROM `+table+` WHERE id = ?`, id).Scan(&rac, &at); err != nil {
			return notFound(err, "adding credit to %s %d", strings.TrimSuffix(table, "s"), id)
		}
		// A RAC stamped later than now (another coordinator's clock) keeps
		// its stamp: stamps never move back.
		stamp := max(now.UnixMilli(), at.Int64)
		if _, err := t.tx.ExecContext(ctx, `UPDATE `+table+` SET total_credit = total_credit + ?, rac = ?, rac_at = ? WHERE id = ?`,
			credit[id], payouts.RACAdd(rac, fromMillis(at), credit[id], now), stamp, id); err != nil {
			return fmt.Errorf("adding credit to %s %d: %w", strings.TrimSuffix(table, "s"), id, err)
		}
	}
	return nil
}

func (t *Tx) ContributorCreditGet(ctx context.Context, contributorID int64, now time.Time) (store.ContributorCredit, error) {
	c := store.ContributorCredit{Hosts: map[int64]store.CreditTotals{}}
	var team sql.NullInt64
	if err := t.tx.QueryRowContext(ctx, `SELECT c.total_credit, `+racAt("c")+`, c.team_id FROM contributors c WHERE c.id = ?3`,
		racPerMilli, now.UnixMilli(), contributorID).Scan(&c.Total, &c.RAC, &team); err != nil {
		return c, notFound(err, "contributor %d not found", contributorID)
	}
	c.TeamID = team.Int64
	rows, err := t.tx.QueryContext(ctx, `SELECT h.id, h.total_credit, `+racAt("h")+` FROM hosts h
		WHERE h.contributor_id = ?3 AND h.rac_at IS NOT NULL`, racPerMilli, now.UnixMilli(), contributorID)
	if err != nil {
		return c, fmt.Errorf("loading the credit of contributor %d's hosts: %w", contributorID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var h store.CreditTotals
		if err := rows.Scan(&id, &h.Total, &h.RAC); err != nil {
			return c, fmt.Errorf("loading the credit of contributor %d's hosts: %w", contributorID, err)
		}
		c.Hosts[id] = h
	}
	return c, rows.Err()
}

// publicName is the name a leaderboard may show: only an opted-in
// contributor's display name.
const publicName = `CASE WHEN c.leaderboard_opt_in THEN c.display_name ELSE '' END`

func scanStanding(row scanner) (store.CreditStanding, error) {
	var s store.CreditStanding
	var team sql.NullInt64
	err := row.Scan(&s.ContributorID, &s.Name, &team, &s.Total, &s.RAC, &s.PublicName)
	s.TeamID = team.Int64
	return s, err
}

func (t *Tx) ContributorLeaderboard(ctx context.Context, offset, limit int, now time.Time) ([]store.CreditStanding, error) {
	out, err := collect(ctx, t, scanStanding, `SELECT c.id, c.name, c.team_id, c.total_credit, `+racAt("c")+` AS r, `+publicName+`
		FROM contributors c WHERE c.rac_at IS NOT NULL ORDER BY r DESC, c.id LIMIT ?3 OFFSET ?4`,
		racPerMilli, now.UnixMilli(), limit, offset)
	if err != nil {
		return nil, fmt.Errorf("listing contributors by credit: %w", err)
	}
	return out, nil
}

func (t *Tx) TeamInsert(ctx context.Context, p store.TeamInsertParams) (store.Team, error) {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO teams (name, name_key, description, created_by, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (name_key) DO NOTHING`,
		p.Name, store.TeamNameKey(p.Name), p.Description, p.CreatedBy, p.Now.UnixMilli())
	if err != nil {
		return store.Team{}, fmt.Errorf("creating team %q: %w", p.Name, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return store.Team{}, workunits.Errorf(workunits.ECONFLICT, "a team named %q already exists", p.Name)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return store.Team{}, fmt.Errorf("reading team id: %w", err)
	}
	return store.Team{ID: id, Name: p.Name, Description: p.Description, CreatedBy: p.CreatedBy,
		CreatedAt: time.UnixMilli(p.Now.UnixMilli()).UTC()}, nil
}

func (t *Tx) TeamJoin(ctx context.Context, contributorID, teamID int64) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE contributors SET team_id = ?2
		WHERE id = ?1 AND EXISTS (SELECT 1 FROM teams WHERE id = ?2)`, contributorID, teamID)
	if err != nil {
		return fmt.Errorf("joining team %d: %w", teamID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return workunits.Errorf(workunits.ENOTFOUND, "team %d not found", teamID)
	}
	return nil
}

func (t *Tx) TeamLeave(ctx context.Context, contributorID int64) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE contributors SET team_id = NULL WHERE id = ?`, contributorID); err != nil {
		return fmt.Errorf("leaving team: %w", err)
	}
	return nil
}

// racAtC is racAt("c"), for constants.
const racAtC = `(c.rac * exp(-?1 * max(?2 - coalesce(c.rac_at, ?2), 0)))`

// teamSelect sums each team's members; ?1 and ?2 are as for racAt.
const teamSelect = `SELECT t.id, t.name, t.description, t.created_by, t.created_at,
	count(c.id), coalesce(sum(c.total_credit), 0), coalesce(sum(` + racAtC + `), 0) AS r
	FROM teams t LEFT JOIN contributors c ON c.team_id = t.id`

func scanTeam(row scanner) (store.Team, error) {
	var tm store.Team
	var created int64
	err := row.Scan(&tm.ID, &tm.Name, &tm.Description, &tm.CreatedBy, &created, &tm.Members, &tm.Total, &tm.RAC)
	tm.CreatedAt = time.UnixMilli(created).UTC()
	return tm, err
}

func (t *Tx) TeamGet(ctx context.Context, teamID int64, now time.Time) (store.Team, error) {
	tm, err := scanTeam(t.tx.QueryRowContext(ctx, teamSelect+` WHERE t.id = ?3 GROUP BY t.id`, racPerMilli, now.UnixMilli(), teamID))
	if err != nil {
		return tm, notFound(err, "team %d not found", teamID)
	}
	return tm, nil
}

func (t *Tx) TeamMemberList(ctx context.Context, teamID int64, now time.Time) ([]store.CreditStanding, error) {
	out, err := collect(ctx, t, scanStanding, `SELECT c.id, c.name, c.team_id, c.total_credit, `+racAt("c")+` AS r, `+publicName+`
		FROM contributors c WHERE c.team_id = ?3 ORDER BY r DESC, c.id`, racPerMilli, now.UnixMilli(), teamID)
	if err != nil {
		return nil, fmt.Errorf("listing the members of team %d: %w", teamID, err)
	}
	return out, nil
}

func (t *Tx) TeamList(ctx context.Context, offset, limit int, now time.Time) ([]store.Team, error) {
	out, err := collect(ctx, t, scanTeam, teamSelect+` GROUP BY t.id ORDER BY r DESC, t.id LIMIT ?3 OFFSET ?4`,
		racPerMilli, now.UnixMilli(), limit, offset)
	if err != nil {
		return nil, fmt.Errorf("listing teams: %w", err)
	}
	return out, nil
}
