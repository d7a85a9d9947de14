package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// HostQuotaGetMany needs no row locks: the single writer already excludes
// every other transaction.
func (t *Tx) HostQuotaGetMany(ctx context.Context, hostIDs []int64) ([]workunits.HostQuota, error) {
	ids := slices.Compact(slices.Sorted(slices.Values(hostIDs)))
	var out []workunits.HostQuota
	err := chunks(ids, func(ids []int64) error {
		got, err := collect(ctx, t, scanHostQuota, `SELECT id, daily_quota, leased_today, quota_day, invalid_streak,
			blocked_at, blocked_reason FROM hosts WHERE id IN (`+placeholders(len(ids))+`) ORDER BY id`, int64Args(ids)...)
		out = append(out, got...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("loading the quotas of %d hosts: %w", len(ids), err)
	}
	if len(out) != len(ids) {
		return nil, workunits.Errorf(workunits.ENOTFOUND, "some of hosts %v not found", ids)
	}
	return out, nil
}

func scanHostQuota(row scanner) (workunits.HostQuota, error) {
	var q workunits.HostQuota
	var day, blocked sql.NullInt64
	err := row.Scan(&q.HostID, &q.DailyQuota, &q.LeasedToday, &day, &q.InvalidStreak, &blocked, &q.BlockedReason)
	q.QuotaDay, q.BlockedAt = fromMillis(day), fromMillis(blocked)
	return q, err
}

func (t *Tx) HostQuotaUpdateMany(ctx context.Context, quotas []workunits.HostQuota) error {
	for _, q := range quotas {
		stmt, err := t.stmt(ctx, `UPDATE hosts SET daily_quota = ?, leased_today = ?, quota_day = ?, invalid_streak = ?,
			blocked_at = ?, blocked_reason = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		res, err := stmt.ExecContext(ctx, q.DailyQuota, q.LeasedToday, millis(q.QuotaDay), q.InvalidStreak,
			millis(q.BlockedAt), q.BlockedReason, q.HostID)
		if err != nil {
			return fmt.Errorf("updating the quota of host %d: %w", q.HostID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return workunits.Errorf(workunits.ENOTFOUND, "host %d not found", q.HostID)
		}
	}
	return nil
}

const hostTrustColumns = `host_id, app_version_id, consecutive_valid, valid_total, invalid_total, spot_check_failures, last_verified_at`

func scanHostTrust(row scanner) (workunits.HostTrust, error) {
	var h workunits.HostTrust
	var verified sql.NullInt64
	err := row.Scan(&h.HostID, &h.AppVersionID, &h.ConsecutiveValid, &h.ValidTotal, &h.InvalidTotal, &h.SpotCheckFailures, &verified)
	h.LastVerifiedAt = fromMillis(verified)
	return h, err
}

func (t *Tx) HostTrustGetMany(ctx context.Context, keys []store.HostAppVersion) (map[store.HostAppVersion]workunits.HostTrust, error) {
	out := make(map[store.HostAppVersion]workunits.HostTrust, len(keys))
	for _, k := range keys {
		stmt, err := t.stmt(ctx, `SELECT `+hostTrustColumns+` FROM host_trust WHERE host_id = ? AND app_version_id = ?`)
		if err != nil {
			return nil, err
		}
		h, err := scanHostTrust(stmt.QueryRowContext(ctx, k.HostID, k.AppVersionID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue
		case err != nil:
			return nil, fmt.Errorf("loading the trust of host %d in app version %d: %w", k.HostID, k.AppVersionID, err)
		}
		out[k] = h
	}
	return out, nil
}

func (t *Tx) HostTrustUpsertMany(ctx context.Context, trusts []workunits.HostTrust) error {
	trusts = slices.SortedFunc(slices.Values(trusts), compareTrust)
	for _, h := range trusts {
		stmt, err := t.stmt(ctx, `INSERT INTO host_trust (`+hostTrustColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (host_id, app_version_id) DO UPDATE SET consecutive_valid = excluded.consecutive_valid,
				valid_total = excluded.valid_total, invalid_total = excluded.invalid_total,
				spot_check_failures = excluded.spot_check_failures, last_verified_at = excluded.last_verified_at`)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, h.HostID, h.AppVersionID, h.ConsecutiveValid, h.ValidTotal, h.InvalidTotal,
			h.SpotCheckFailures, millis(h.LastVerifiedAt)); err != nil {
			return fmt.Errorf("storing the trust of host %d in app version %d: %w", h.HostID, h.AppVersionID, err)
		}
	}
	return nil
}

func compareTrust(a, b workunits.HostTrust) int {
	return cmp.Or(cmp.Compare(a.HostID, b.HostID), cmp.Compare(a.AppVersionID, b.AppVersionID))
}

func (t *Tx) HostTrustList(ctx context.Context, hostID int64) ([]workunits.HostTrust, error) {
	out, err := collect(ctx, t, scanHostTrust, `SELECT `+hostTrustColumns+` FROM host_trust WHERE host_id = ? ORDER BY app_version_id`, hostID)
	if err != nil {
		return nil, fmt.Errorf("listing the trust of host %d: %w", hostID, err)
	}
	return out, nil
}
