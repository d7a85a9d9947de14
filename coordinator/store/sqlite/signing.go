package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) ProjectSigningKeySet(ctx context.Context, projectID int64, key []byte) error {
	res, err := t.tx.ExecContext(ctx, `UPDATE projects SET signing_public_key = ? WHERE id = ?`, key, projectID)
	if err != nil {
		return fmt.Errorf("setting the signing key of project %d: %w", projectID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("setting the signing key of project %d: %w", projectID, err)
	} else if n == 0 {
		return workunits.Errorf(workunits.ENOTFOUND, "project %d not found", projectID)
	}
	return nil
}

func (t *Tx) ProjectSigningKeyGet(ctx context.Context, projectID int64) ([]byte, error) {
	var key []byte
	if err := t.tx.QueryRowContext(ctx, `SELECT signing_public_key FROM projects WHERE id = ?`, projectID).Scan(&key); err != nil {
		return nil, notFound(err, "project %d not found", projectID)
	}
	if len(key) == 0 {
		return nil, nil
	}
	return key, nil
}

func (t *Tx) AppList(ctx context.Context, projectID int64) ([]store.AppSummary, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT a.name, count(v.id),
			coalesce(max(CASE WHEN v.deprecated_at IS NULL THEN v.version END), 0)
		FROM apps a LEFT JOIN app_versions v ON v.app_id = a.id
		WHERE a.project_id = ? GROUP BY a.id, a.name ORDER BY a.name`, projectID)
	if err != nil {
		return nil, fmt.Errorf("listing the apps of project %d: %w", projectID, err)
	}
	defer rows.Close()
	out := []store.AppSummary{}
	for rows.Next() {
		var a store.AppSummary
		if err := rows.Scan(&a.Name, &a.Versions, &a.Latest); err != nil {
			return nil, fmt.Errorf("listing the apps of project %d: %w", projectID, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (t *Tx) AppVersionList(ctx context.Context, projectID int64, appName string) ([]workunits.AppVersion, error) {
	out, err := collect(ctx, t, scanVersion, `SELECT `+versionColumns+` FROM app_versions v JOIN apps a ON a.id = v.app_id
		WHERE a.project_id = ? AND a.name = ? ORDER BY v.version`, projectID, appName)
	if err != nil {
		return nil, fmt.Errorf("listing versions of app %q: %w", appName, err)
	}
	if len(out) == 0 {
		return nil, workunits.Errorf(workunits.ENOTFOUND, "app %q not found", appName)
	}
	return out, nil
}

func (t *Tx) AppVersionDeprecate(ctx context.Context, projectID int64, appName string, version int, now time.Time) (workunits.AppVersion, error) {
	if _, err := t.tx.ExecContext(ctx, `UPDATE app_versions SET deprecated_at = ?
		WHERE deprecated_at IS NULL AND version = ?
		  AND app_id = (SELECT id FROM apps WHERE project_id = ? AND name = ?)`,
		now.UnixMilli(), version, projectID, appName); err != nil {
		return workunits.AppVersion{}, fmt.Errorf("deprecating version %d of app %q: %w", version, appName, err)
	}
	v, err := scanVersion(t.tx.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM app_versions v JOIN apps a ON a.id = v.app_id
		WHERE a.project_id = ? AND a.name = ? AND v.version = ?`, projectID, appName, version))
	if err != nil {
		return v, notFound(err, "app %q has no version %d", appName, version)
	}
	return v, nil
}

// versionColumns are what scanVersion reads, from app_versions v and apps a.
const versionColumns = `v.id, v.app_id, a.name, v.version, v.module_sha256, v.size, v.created_at,
	v.signature, v.est_ops, v.est_memory_mib, v.est_disk_mib, v.est_deadline_seconds, v.deprecated_at,
	v.validator_kind, v.abs_tol, v.rel_tol`

func scanVersion(row interface{ Scan(...any) error }) (workunits.AppVersion, error) {
	var v workunits.AppVersion
	var created, deadline int64
	var deprecated sql.NullInt64
	if err := row.Scan(&v.ID, &v.AppID, &v.AppName, &v.Version, &v.ModuleSHA256, &v.Size, &created,
		&v.Signature, &v.Estimates.Ops, &v.Estimates.MemoryMiB, &v.Estimates.DiskMiB, &deadline, &deprecated,
		&v.Validator.Kind, &v.Validator.AbsTol, &v.Validator.RelTol); err != nil {
		return v, err
	}
	v.CreatedAt = time.UnixMilli(created).UTC()
	v.Estimates.Deadline = time.Duration(deadline) * time.Second
	if deprecated.Valid {
		v.DeprecatedAt = time.UnixMilli(deprecated.Int64).UTC()
	}
	return v, nil
}
