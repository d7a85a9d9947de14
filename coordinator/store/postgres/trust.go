package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// HostQuotaGetMany locks the hosts in id order, so that two transactions
// locking overlapping sets queue rather than deadlock.
func (t *Tx) HostQuotaGetMany(ctx context.Context, hostIDs []int64) ([]workunits.HostQuota, error) {
	ids := slices.Compact(slices.Sorted(slices.Values(hostIDs)))
	lock := " FOR UPDATE"
	if t.readOnly {
		lock = ""
	}
	rows, _ := t.tx.Query(ctx, `SELECT id, daily_quota, leased_today, quota_day, invalid_streak, blocked_at, blocked_reason
		FROM hosts WHERE id = ANY($1) ORDER BY id`+lock, ids)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (workunits.HostQuota, error) {
		var q workunits.HostQuota
		var day, blocked pgtype.Timestamptz
		err := row.Scan(&q.HostID, &q.DailyQuota, &q.LeasedToday, &day, &q.InvalidStreak, &blocked, &q.BlockedReason)
		q.QuotaDay, q.BlockedAt = fromTS(day), fromTS(blocked)
		return q, err
	})
	if err != nil {
		return nil, fmt.Errorf("loading the quotas of %d hosts: %w", len(ids), err)
	}
	if len(out) != len(ids) {
		return nil, workunits.Errorf(workunits.ENOTFOUND, "some of hosts %v not found", ids)
	}
	return out, nil
}

func (t *Tx) HostQuotaUpdateMany(ctx context.Context, quotas []workunits.HostQuota) error {
	if len(quotas) == 0 {
		return nil
	}
	quotas = slices.SortedFunc(slices.Values(quotas), func(a, b workunits.HostQuota) int { return cmp.Compare(a.HostID, b.HostID) })
	n := len(quotas)
	ids, daily, leased, streak := make([]int64, n), make([]int32, n), make([]int32, n), make([]int32, n)
	days, blocked, reasons := make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n), make([]string, n)
	for i, q := range quotas {
		ids[i], daily[i], leased[i], streak[i] = q.HostID, int32(q.DailyQuota), int32(q.LeasedToday), int32(q.InvalidStreak)
		days[i], blocked[i], reasons[i] = nullTS(q.QuotaDay), nullTS(q.BlockedAt), q.BlockedReason
	}
	tag, err := t.tx.Exec(ctx, `UPDATE hosts h SET daily_quota = x.daily, leased_today = x.leased, quota_day = x.day,
			invalid_streak = x.streak, blocked_at = x.blocked, blocked_reason = x.reason
		FROM unnest($1::bigint[], $2::int[], $3::int[], $4::timestamptz[], $5::int[], $6::timestamptz[], $7::text[])
			AS x(id, daily, leased, day, streak, blocked, reason)
		WHERE h.id = x.id`, ids, daily, leased, days, streak, blocked, reasons)
	if err != nil {
		return fmt.Errorf("updating the quotas of %d hosts: %w", n, err)
	}
	if int(tag.RowsAffected()) != n {
		return workunits.Errorf(workunits.ENOTFOUND, "some of hosts %v not found", ids)
	}
	return nil
}

const hostTrustColumns = `host_id, app_version_id, consecutive_valid, valid_total, invalid_total, spot_check_failures, last_verified_at`

func scanHostTrust(row pgx.CollectableRow) (workunits.HostTrust, error) {
	var h workunits.HostTrust
	var verified pgtype.Timestamptz
	err := row.Scan(&h.HostID, &h.AppVersionID, &h.ConsecutiveValid, &h.ValidTotal, &h.InvalidTotal, &h.SpotCheckFailures, &verified)
	h.LastVerifiedAt = fromTS(verified)
	return h, err
}

func (t *Tx) HostTrustGetMany(ctx context.Context, keys []store.HostAppVersion) (map[store.HostAppVersion]workunits.HostTrust, error) {
	out := make(map[store.HostAppVersion]workunits.HostTrust, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	hosts, versions := make([]int64, len(keys)), make([]int64, len(keys))
	for i, k := range keys {
		hosts[i], versions[i] = k.HostID, k.AppVersionID
	}
	rows, _ := t.tx.Query(ctx, `SELECT `+hostTrustColumns+` FROM host_trust
		WHERE (host_id, app_version_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))`, hosts, versions)
	found, err := pgx.CollectRows(rows, scanHostTrust)
	if err != nil {
		return nil, fmt.Errorf("loading the trust of %d hosts: %w", len(keys), err)
	}
	for _, h := range found {
		out[store.TrustKey(h)] = h
	}
	return out, nil
}

// HostTrustUpsertMany writes in key order, so that concurrent batches lock
// the rows they share in one order.
func (t *Tx) HostTrustUpsertMany(ctx context.Context, trusts []workunits.HostTrust) error {
	if len(trusts) == 0 {
		return nil
	}
	trusts = slices.SortedFunc(slices.Values(trusts), func(a, b workunits.HostTrust) int {
		return cmp.Or(cmp.Compare(a.HostID, b.HostID), cmp.Compare(a.AppVersionID, b.AppVersionID))
	})
	n := len(trusts)
	hosts, versions := make([]int64, n), make([]int64, n)
	cv, valid, invalid, spot := make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n)
	verified := make([]pgtype.Timestamptz, n)
	for i, h := range trusts {
		hosts[i], versions[i] = h.HostID, h.AppVersionID
		cv[i], valid[i], invalid[i], spot[i] = int32(h.ConsecutiveValid), int32(h.ValidTotal), int32(h.InvalidTotal), int32(h.SpotCheckFailures)
		verified[i] = nullTS(h.LastVerifiedAt)
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO host_trust (`+hostTrustColumns+`)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::int[], $5::int[], $6::int[], $7::timestamptz[])
		ON CONFLICT (host_id, app_version_id) DO UPDATE SET consecutive_valid = excluded.consecutive_valid,
			valid_total = excluded.valid_total, invalid_total = excluded.invalid_total,
			spot_check_failures = excluded.spot_check_failures, last_verified_at = excluded.last_verified_at`,
		hosts, versions, cv, valid, invalid, spot, verified); err != nil {
		return fmt.Errorf("storing the trust of %d hosts: %w", n, err)
	}
	return nil
}

func (t *Tx) HostTrustList(ctx context.Context, hostID int64) ([]workunits.HostTrust, error) {
	rows, _ := t.tx.Query(ctx, `SELECT `+hostTrustColumns+` FROM host_trust WHERE host_id = $1 ORDER BY app_version_id`, hostID)
	out, err := pgx.CollectRows(rows, scanHostTrust)
	if err != nil {
		return nil, fmt.Errorf("listing the trust of host %d: %w", hostID, err)
	}
	return out, nil
}
