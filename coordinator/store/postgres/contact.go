package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) ContributorPreferencesGet(ctx context.Context, contributorID int64) (store.ContributorPreferences, error) {
	out := store.ContributorPreferences{ContributorID: contributorID}
	var raw []byte
	var updated time.Time
	err := t.tx.QueryRow(ctx, `SELECT preferences, version, updated_at FROM contributor_preferences WHERE contributor_id = $1`,
		contributorID).Scan(&raw, &out.Version, &updated)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return out, nil
	case err != nil:
		return out, fmt.Errorf("loading the web preferences of contributor %d: %w", contributorID, err)
	}
	if err := json.Unmarshal(raw, &out.Preferences); err != nil {
		return out, fmt.Errorf("decoding the web preferences of contributor %d: %w", contributorID, err)
	}
	out.UpdatedAt = updated.UTC()
	return out, nil
}

func (t *Tx) ContributorPreferencesPut(ctx context.Context, contributorID int64, prefs workunits.WebPreferences, now time.Time) (store.ContributorPreferences, error) {
	out := store.ContributorPreferences{ContributorID: contributorID, Preferences: prefs, UpdatedAt: ts(now)}
	var one int
	if err := t.tx.QueryRow(ctx, `SELECT 1 FROM contributors WHERE id = $1`, contributorID).Scan(&one); err != nil {
		return out, notFound(err, "contributor %d not found", contributorID)
	}
	raw, err := json.Marshal(prefs)
	if err != nil {
		return out, fmt.Errorf("encoding web preferences: %w", err)
	}
	err = t.tx.QueryRow(ctx, `INSERT INTO contributor_preferences (contributor_id, preferences, version, updated_at)
		VALUES ($1, $2::jsonb, 1, $3)
		ON CONFLICT (contributor_id) DO UPDATE SET preferences = excluded.preferences,
			version = contributor_preferences.version + 1, updated_at = excluded.updated_at
		RETURNING version`, contributorID, string(raw), ts(now)).Scan(&out.Version)
	if err != nil {
		return out, fmt.Errorf("storing the web preferences of contributor %d: %w", contributorID, err)
	}
	return out, nil
}

func (t *Tx) HostStateSet(ctx context.Context, hostID int64, s workunits.HostState) error {
	tag, err := t.tx.Exec(ctx, `UPDATE hosts SET state = $1, state_reason = $2, state_detail = $3, state_at = $4, tasks_running = $5
		WHERE id = $6 AND (state_at IS NULL OR state_at <= $4)`,
		string(s.State), s.Reason, s.Detail, ts(s.At), s.TasksRunning, hostID)
	if err != nil {
		return fmt.Errorf("recording the state of host %d: %w", hostID, err)
	}
	if tag.RowsAffected() == 0 {
		// Either a later state is already recorded or there is no such host.
		var one int
		if err := t.tx.QueryRow(ctx, `SELECT 1 FROM hosts WHERE id = $1`, hostID).Scan(&one); err != nil {
			return notFound(err, "host %d not found", hostID)
		}
	}
	return nil
}

func (t *Tx) HostStateGetMany(ctx context.Context, hostIDs []int64) (map[int64]workunits.HostState, error) {
	ids := slices.Compact(slices.Sorted(slices.Values(hostIDs)))
	out := make(map[int64]workunits.HostState, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, _ := t.tx.Query(ctx, `SELECT id, state, state_reason, state_detail, state_at, tasks_running
		FROM hosts WHERE state IS NOT NULL AND id = ANY($1)`, ids)
	var id int64
	var s workunits.HostState
	var at pgtype.Timestamptz
	var tasks int32
	_, err := pgx.ForEachRow(rows, []any{&id, &s.State, &s.Reason, &s.Detail, &at, &tasks}, func() error {
		s.At, s.TasksRunning = fromTS(at), int(tasks)
		out[id] = s
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading the states of %d hosts: %w", len(ids), err)
	}
	return out, nil
}
