package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) ContributorPreferencesGet(ctx context.Context, contributorID int64) (store.ContributorPreferences, error) {
	out := store.ContributorPreferences{ContributorID: contributorID}
	var raw string
	var updated int64
	err := t.tx.QueryRowContext(ctx, `SELECT preferences, version, updated_at FROM contributor_preferences WHERE contributor_id = ?`,
		contributorID).Scan(&raw, &out.Version, &updated)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return out, nil
	case err != nil:
		return out, fmt.Errorf("loading the web preferences of contributor %d: %w", contributorID, err)
	}
	if err := json.Unmarshal([]byte(raw), &out.Preferences); err != nil {
		return out, fmt.Errorf("decoding the web preferences of contributor %d: %w", contributorID, err)
	}
	out.UpdatedAt = time.UnixMilli(updated).UTC()
	return out, nil
}

func (t *Tx) ContributorPreferencesPut(ctx context.Context, contributorID int64, prefs workunits.WebPreferences, now time.Time) (store.ContributorPreferences, error) {
	out := store.ContributorPreferences{ContributorID: contributorID, Preferences: prefs, UpdatedAt: time.UnixMilli(now.UnixMilli()).UTC()}
	var one int
	if err := t.tx.QueryRowContext(ctx, `SELECT 1 FROM contributors WHERE id = ?`, contributorID).Scan(&one); err != nil {
		return out, notFound(err, "contributor %d not found", contributorID)
	}
	raw, err := json.Marshal(prefs)
	if err != nil {
		return out, fmt.Errorf("encoding web preferences: %w", err)
	}
	err = t.tx.QueryRowContext(ctx, `INSERT INTO contributor_preferences (contributor_id, preferences, version, updated_at)
		VALUES (?, ?, 1, ?)
		ON CONFLICT (contributor_id) DO UPDATE SET preferences = excluded.preferences,
			version = contributor_preferences.version + 1, updated_at = excluded.updated_at
		RETURNING version`, contributorID, string(raw), now.UnixMilli()).Scan(&out.Version)
	if err != nil {
		return out, fmt.Errorf("storing the web preferences of contributor %d: %w", contributorID, err)
	}
	return out, nil
}

func (t *Tx) HostStateSet(ctx context.Context, hostID int64, s workunits.HostState) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE hosts SET state = ?, state_reason = ?, state_detail = ?, state_at = ?, tasks_running = ?
		WHERE id = ? AND (state_at IS NULL OR state_at <= ?)`,
		string(s.State), s.Reason, s.Detail, s.At.UnixMilli(), s.TasksRunning, hostID, s.At.UnixMilli())
	if err != nil {
		return fmt.Errorf("recording the state of host %d: %w", hostID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		// Either a later state is already recorded or there is no such host.
		var one int
		if err := t.tx.QueryRowContext(ctx, `SELECT 1 FROM hosts WHERE id = ?`, hostID).Scan(&one); err != nil {
			return notFound(err, "host %d not found", hostID)
		}
	}
	return nil
}

func (t *Tx) HostStateGetMany(ctx context.Context, hostIDs []int64) (map[int64]workunits.HostState, error) {
	ids := slices.Compact(slices.Sorted(slices.Values(hostIDs)))
	out := make(map[int64]workunits.HostState, len(ids))
	err := chunks(ids, func(ids []int64) error {
		rows, err := t.tx.QueryContext(ctx, `SELECT id, state, state_reason, state_detail, state_at, tasks_running
			FROM hosts WHERE state IS NOT NULL AND id IN (`+placeholders(len(ids))+`)`, int64Args(ids)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var s workunits.HostState
			var at sql.NullInt64
			if err := rows.Scan(&id, &s.State, &s.Reason, &s.Detail, &at, &s.TasksRunning); err != nil {
				return err
			}
			s.At = fromMillis(at)
			out[id] = s
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("loading the states of %d hosts: %w", len(ids), err)
	}
	return out, nil
}
