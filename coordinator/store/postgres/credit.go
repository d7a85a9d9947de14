package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// racPerMilli is the decay rate of RAC per millisecond: a RAC as of at is
// worth rac·exp(−racPerMilli·(now−at)) at now (payouts.RACDecay).
var racPerMilli = math.Ln2 / float64(payouts.RACHalfLife.Milliseconds())

// racAt is the RAC of rows x decayed to now; $1 is racPerMilli and $2 now.
// A RAC stamped after now is not grown.
func racAt(x string) string {
	return `(` + x + `.rac * exp(-$1::float8 * greatest(extract(epoch FROM ($2::timestamptz - coalesce(` + x +
		`.rac_at, $2::timestamptz)))::float8 * 1000, 0)))`
}

func (t *Tx) HostOpsPerSecondSet(ctx context.Context, hostID int64, opsPerSecond float64) error {
	if _, err := t.tx.Exec(ctx, `UPDATE hosts SET ops_per_second = $2 WHERE id = $1 AND ops_per_second IS DISTINCT FROM $2`,
		hostID, opsPerSecond); err != nil {
		return fmt.Errorf("recording the benchmark of host %d: %w", hostID, err)
	}
	return nil
}

// floatsByID runs query ($1 the ids) and collects (id, value) rows.
func (t *Tx) floatsByID(ctx context.Context, query string, ids []int64) (map[int64]float64, error) {
	out := make(map[int64]float64, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, _ := t.tx.Query(ctx, query, ids)
	var id int64
	var v float64
	_, err := pgx.ForEachRow(rows, []any{&id, &v}, func() error {
		out[id] = v
		return nil
	})
	return out, err
}

func (t *Tx) HostOpsPerSecondMany(ctx context.Context, hostIDs []int64) (map[int64]float64, error) {
	out, err := t.floatsByID(ctx, `SELECT id, ops_per_second FROM hosts WHERE id = ANY($1) AND ops_per_second IS NOT NULL`, hostIDs)
	if err != nil {
		return nil, fmt.Errorf("loading host benchmarks: %w", err)
	}
	return out, nil
}

func (t *Tx) AppVersionEstimatesMany(ctx context.Context, ids []int64) (map[int64]workunits.Estimates, error) {
	out := make(map[int64]workunits.Estimates, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, _ := t.tx.Query(ctx, `SELECT id, est_ops, est_memory_mib, est_disk_mib, est_deadline_seconds
		FROM app_versions WHERE id = ANY($1)`, ids)
	var id, deadline int64
	var e workunits.Estimates
	if _, err := pgx.ForEachRow(rows, []any{&id, &e.Ops, &e.MemoryMiB, &e.DiskMiB, &deadline}, func() error {
		e.Deadline = time.Duration(deadline) * time.Second
		out[id] = e
		return nil
	}); err != nil {
		return nil, fmt.Errorf("loading app version estimates: %w", err)
	}
	return out, nil
}

func (t *Tx) UnitGrantedCreditMany(ctx context.Context, unitIDs []int64) (map[int64]float64, error) {
	out, err := t.floatsByID(ctx, `SELECT id, granted_credit FROM units WHERE id = ANY($1) AND granted_credit IS NOT NULL`, unitIDs)
	if err != nil {
		return nil, fmt.Errorf("loading granted credit of units: %w", err)
	}
	return out, nil
}

func (t *Tx) UnitGrantedCreditSetMany(ctx context.Context, granted map[int64]float64) error {
	if len(granted) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(granted))
	credits := make([]float64, len(ids))
	for i, id := range ids {
		credits[i] = granted[id]
	}
	if _, err := t.tx.Exec(ctx, `UPDATE units SET granted_credit = g.credit
		FROM unnest($1::bigint[], $2::float8[]) AS g(id, credit)
		WHERE units.id = g.id AND units.granted_credit IS NULL`, ids, credits); err != nil {
		return fmt.Errorf("fixing the granted credit of %d units: %w", len(ids), err)
	}
	return nil
}

func (t *Tx) CreditGrantMany(ctx context.Context, grants []store.CreditGrant, now time.Time) error {
	if len(grants) == 0 {
		return nil
	}
	ids, credits := make([]int64, len(grants)), make([]float64, len(grants))
	for i, g := range grants {
		ids[i], credits[i] = g.TaskID, max(g.Credit, 0)
	}
	rows, _ := t.tx.Query(ctx, `UPDATE tasks SET credit = g.credit
		FROM unnest($1::bigint[], $2::float8[]) AS g(id, credit)
		WHERE tasks.id = g.id AND tasks.credit IS NULL AND tasks.host_id IS NOT NULL
		RETURNING tasks.host_id, g.credit`, ids, credits)
	byHost := map[int64]float64{}
	var host int64
	var credit float64
	if _, err := pgx.ForEachRow(rows, []any{&host, &credit}, func() error {
		byHost[host] += credit
		return nil
	}); err != nil {
		return fmt.Errorf("granting credit to %d tasks: %w", len(grants), err)
	}
	if len(byHost) == 0 {
		return nil
	}
	owner, err := t.HostContributorMany(ctx, slices.Sorted(maps.Keys(byHost)))
	if err != nil {
		return err
	}
	byContributor := map[int64]float64{}
	for h, c := range byHost {
		byContributor[owner[h]] += c
	}
	if err := t.creditAdd(ctx, "hosts", byHost, now); err != nil {
		return err
	}
	return t.creditAdd(ctx, "contributors", byContributor, now)
}

// creditAdd adds credit to rows of table (hosts or contributors) by id:
// to their totals, and to their RAC brought up to now. The rows are
// locked in id order, so concurrent grants queue rather than deadlock.
func (t *Tx) creditAdd(ctx context.Context, table string, credit map[int64]float64, now time.Time) error {
	what := strings.TrimSuffix(table, "s")
	ids := slices.Sorted(maps.Keys(credit))
	rows, _ := t.tx.Query(ctx, `SELECT id, rac, rac_at FROM `+table+` WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids)
	racs, stamps := make([]float64, 0, len(ids)), make([]time.Time, 0, len(ids))
	found := make([]int64, 0, len(ids))
	var id int64
	var rac float64
	var at pgtype.Timestamptz
	if _, err := pgx.ForEachRow(rows, []any{&id, &rac, &at}, func() error {
		// A RAC stamped later than now (another coordinator's clock) keeps
		// its stamp: stamps never move back.
		stamp := ts(now)
		if at.Valid && at.Time.After(stamp) {
			stamp = at.Time
		}
		found = append(found, id)
		racs = append(racs, payouts.RACAdd(rac, fromTS(at), credit[id], now))
		stamps = append(stamps, stamp)
		return nil
	}); err != nil {
		return fmt.Errorf("adding credit to %d %s: %w", len(ids), table, err)
	}
	if len(found) != len(ids) {
		return errors.New("adding credit: a " + what + " is missing")
	}
	adds := make([]float64, len(found))
	for i, id := range found {
		adds[i] = credit[id]
	}
	if _, err := t.tx.Exec(ctx, `UPDATE `+table+` x SET total_credit = x.total_credit + g.add, rac = g.rac, rac_at = g.at
		FROM unnest($1::bigint[], $2::float8[], $3::float8[], $4::timestamptz[]) AS g(id, add, rac, at)
		WHERE x.id = g.id`, found, adds, racs, stamps); err != nil {
		return fmt.Errorf("adding credit to %d %s: %w", len(found), table, err)
	}
	return nil
}

func (t *Tx) ContributorCreditGet(ctx context.Context, contributorID int64, now time.Time) (store.ContributorCredit, error) {
	c := store.ContributorCredit{Hosts: map[int64]store.CreditTotals{}}
	var team pgtype.Int8
	if err := t.tx.QueryRow(ctx, `SELECT c.total_credit, `+racAt("c")+`, c.team_id FROM contributors c WHERE c.id = $3`,
		racPerMilli, ts(now), contributorID).Scan(&c.Total, &c.RAC, &team); err != nil {
		return c, notFound(err, "contributor %d not found", contributorID)
	}
	c.TeamID = team.Int64
	rows, _ := t.tx.Query(ctx, `SELECT h.id, h.total_credit, `+racAt("h")+` FROM hosts h
		WHERE h.contributor_id = $3 AND h.rac_at IS NOT NULL`, racPerMilli, ts(now), contributorID)
	var id int64
	var h store.CreditTotals
	if _, err := pgx.ForEachRow(rows, []any{&id, &h.Total, &h.RAC}, func() error {
		c.Hosts[id] = h
		return nil
	}); err != nil {
		return c, fmt.Errorf("loading the credit of contributor %d's hosts: %w", contributorID, err)
	}
	return c, nil
}

// publicName is the name a leaderboard may show: only an opted-in
// contributor's display name.
const publicName = `CASE WHEN c.leaderboard_opt_in THEN c.display_name ELSE '' END`

func scanStanding(row pgx.CollectableRow) (store.CreditStanding, error) {
	var s store.CreditStanding
	var team pgtype.Int8
	err := row.Scan(&s.ContributorID, &s.Name, &team, &s.Total, &s.RAC, &s.PublicName)
	s.TeamID = team.Int64
	return s, err
}

func (t *Tx) ContributorLeaderboard(ctx context.Context, offset, limit int, now time.Time) ([]store.CreditStanding, error) {
	rows, _ := t.tx.Query(ctx, `SELECT c.id, c.name, c.team_id, c.total_credit, `+racAt("c")+` AS r, `+publicName+`
		FROM contributors c WHERE c.rac_at IS NOT NULL ORDER BY r DESC, c.id LIMIT $3 OFFSET $4`,
		racPerMilli, ts(now), limit, offset)
	out, err := pgx.CollectRows(rows, scanStanding)
	if err != nil {
		return nil, fmt.Errorf("listing contributors by credit: %w", err)
	}
	return out, nil
}

func (t *Tx) TeamInsert(ctx context.Context, p store.TeamInsertParams) (store.Team, error) {
	tm := store.Team{Name: p.Name, Description: p.Description, CreatedBy: p.CreatedBy, CreatedAt: ts(p.Now)}
	err := t.tx.QueryRow(ctx, `INSERT INTO teams (name, name_key, description, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name_key) DO NOTHING RETURNING id`,
		p.Name, store.TeamNameKey(p.Name), p.Description, p.CreatedBy, tm.CreatedAt).Scan(&tm.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Team{}, workunits.Errorf(workunits.ECONFLICT, "a team named %q already exists", p.Name)
	}
	if err != nil {
		return store.Team{}, fmt.Errorf("creating team %q: %w", p.Name, err)
	}
	return tm, nil
}

func (t *Tx) TeamJoin(ctx context.Context, contributorID, teamID int64) error {
	tag, err := t.tx.Exec(ctx, `UPDATE contributors SET team_id = $2
		WHERE id = $1 AND EXISTS (SELECT 1 FROM teams WHERE id = $2)`, contributorID, teamID)
	if err != nil {
		return fmt.Errorf("joining team %d: %w", teamID, err)
	}
	if tag.RowsAffected() == 0 {
		return workunits.Errorf(workunits.ENOTFOUND, "team %d not found", teamID)
	}
	return nil
}

func (t *Tx) TeamLeave(ctx context.Context, contributorID int64) error {
	if _, err := t.tx.Exec(ctx, `UPDATE contributors SET team_id = NULL WHERE id = $1 AND team_id IS NOT NULL`, contributorID); err != nil {
		return fmt.Errorf("leaving team: %w", err)
	}
	return nil
}

// teamSelect sums each team's members; $1 and $2 are as for racAt.
var teamSelect = `SELECT t.id, t.name, t.description, t.created_by, t.created_at,
	count(c.id), coalesce(sum(c.total_credit), 0)::float8, coalesce(sum(` + racAt("c") + `), 0)::float8 AS r
	FROM teams t LEFT JOIN contributors c ON c.team_id = t.id`

func scanTeam(row pgx.CollectableRow) (store.Team, error) {
	var tm store.Team
	err := row.Scan(&tm.ID, &tm.Name, &tm.Description, &tm.CreatedBy, &tm.CreatedAt, &tm.Members, &tm.Total, &tm.RAC)
	tm.CreatedAt = tm.CreatedAt.UTC()
	return tm, err
}

func (t *Tx) TeamGet(ctx context.Context, teamID int64, now time.Time) (store.Team, error) {
	rows, _ := t.tx.Query(ctx, teamSelect+` WHERE t.id = $3 GROUP BY t.id`, racPerMilli, ts(now), teamID)
	tm, err := pgx.CollectExactlyOneRow(rows, scanTeam)
	if err != nil {
		return tm, notFound(err, "team %d not found", teamID)
	}
	return tm, nil
}

func (t *Tx) TeamMemberList(ctx context.Context, teamID int64, now time.Time) ([]store.CreditStanding, error) {
	rows, _ := t.tx.Query(ctx, `SELECT c.id, c.name, c.team_id, c.total_credit, `+racAt("c")+` AS r, `+publicName+`
		FROM contributors c WHERE c.team_id = $3 ORDER BY r DESC, c.id`, racPerMilli, ts(now), teamID)
	out, err := pgx.CollectRows(rows, scanStanding)
	if err != nil {
		return nil, fmt.Errorf("listing the members of team %d: %w", teamID, err)
	}
	return out, nil
}

func (t *Tx) TeamList(ctx context.Context, offset, limit int, now time.Time) ([]store.Team, error) {
	rows, _ := t.tx.Query(ctx, teamSelect+` GROUP BY t.id ORDER BY r DESC, t.id LIMIT $3 OFFSET $4`,
		racPerMilli, ts(now), limit, offset)
	out, err := pgx.CollectRows(rows, scanTeam)
	if err != nil {
		return nil, fmt.Errorf("listing teams: %w", err)
	}
	return out, nil
}
