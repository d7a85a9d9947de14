package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
)

func (t *Tx) PayoutSettingsGet(ctx context.Context, contributorID int64) (store.PayoutSettings, error) {
	s := store.PayoutSettings{ContributorID: contributorID}
	var threshold sql.NullInt64
	var updated int64
	err := t.tx.QueryRowContext(ctx, `SELECT threshold_micros, method, destination, updated_at
		FROM contributor_payout_settings WHERE contributor_id = ?`, contributorID).Scan(&threshold, &s.Method, &s.Destination, &updated)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return s, nil
	case err != nil:
		return s, fmt.Errorf("reading payout settings of contributor %d: %w", contributorID, err)
	}
	s.ThresholdMicros, s.UpdatedAt = threshold.Int64, time.UnixMilli(updated).UTC()
	return s, nil
}

func (t *Tx) PayoutSettingsPut(ctx context.Context, s store.PayoutSettings) (store.PayoutSettings, error) {
	var one int
	if err := t.tx.QueryRowContext(ctx, `SELECT 1 FROM contributors WHERE id = ?`, s.ContributorID).Scan(&one); err != nil {
		return store.PayoutSettings{}, notFound(err, "contributor %d not found", s.ContributorID)
	}
	threshold := sql.NullInt64{Int64: s.ThresholdMicros, Valid: s.ThresholdMicros != 0}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO contributor_payout_settings
		(contributor_id, threshold_micros, method, destination, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (contributor_id) DO UPDATE SET threshold_micros = excluded.threshold_micros, method = excluded.method,
			destination = excluded.destination, updated_at = excluded.updated_at`,
		s.ContributorID, threshold, string(s.Method), s.Destination, s.UpdatedAt.UnixMilli()); err != nil {
		// The destination is personal data: the error names the contributor only.
		return store.PayoutSettings{}, fmt.Errorf("storing payout settings of contributor %d: %w", s.ContributorID, err)
	}
	return t.PayoutSettingsGet(ctx, s.ContributorID)
}
