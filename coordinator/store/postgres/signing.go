package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) ProjectSigningKeySet(ctx context.Context, projectID int64, key []byte) error {
	tag, err := t.tx.Exec(ctx, `UPDATE projects SET signing_public_key = $1 WHERE id = $2`, key, projectID)
	if err != nil {
		return fmt.Errorf("setting the signing key of project %d: %w", projectID, err)
	}
	if tag.RowsAffected() == 0 {
		return workunits.Errorf(workunits.ENOTFOUND, "project %d not found", projectID)
	}
	return nil
}

func (t *Tx) ProjectSigningKeyGet(ctx context.Context, projectID int64) ([]byte, error) {
	var key []byte
	if err := t.tx.QueryRow(ctx, `SELECT signing_public_key FROM projects WHERE id = $1`, projectID).Scan(&key); err != nil {
		return nil, notFound(err, "project %d not found", projectID)
	}
	if len(key) == 0 {
		return nil, nil
	}
	return key, nil
}

func (t *Tx) AppList(ctx context.Context, projectID int64) ([]store.AppSummary, error) {
	rows, err := t.tx.Query(ctx, `SELECT a.name, count(v.id),
			coalesce(max(v.version) FILTER (WHERE v.deprecated_at IS NULL), 0)
		FROM apps a LEFT JOIN app_versions v ON v.app_id = a.id
		WHERE a.project_id = $1 GROUP BY a.id, a.name ORDER BY a.name`, projectID)
	if err != nil {
		return nil, fmt.Errorf("listing the apps of project %d: %w", projectID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.AppSummary, error) {
		var a store.AppSummary
		err := row.Scan(&a.Name, &a.Versions, &a.Latest)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing the apps of project %d: %w", projectID, err)
	}
	if out == nil {
		out = []store.AppSummary{}
	}
	return out, nil
}

func (t *Tx) AppVersionList(ctx context.Context, projectID int64, appName string) ([]workunits.AppVersion, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+versionColumns+` FROM app_versions v JOIN apps a ON a.id = v.app_id
		WHERE a.project_id = $1 AND a.name = $2 ORDER BY v.version`, projectID, appName)
	if err != nil {
		return nil, fmt.Errorf("listing versions of app %q: %w", appName, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (workunits.AppVersion, error) { return scanVersion(row) })
	if err != nil {
		return nil, fmt.Errorf("listing versions of app %q: %w", appName, err)
	}
	if len(out) == 0 {
		return nil, workunits.Errorf(workunits.ENOTFOUND, "app %q not found", appName)
	}
	return out, nil
}

func (t *Tx) AppVersionDeprecate(ctx context.Context, projectID int64, appName string, version int, now time.Time) (workunits.AppVersion, error) {
	if _, err := t.tx.Exec(ctx, `UPDATE app_versions v SET deprecated_at = $4 FROM apps a
		WHERE a.id = v.app_id AND a.project_id = $1 AND a.name = $2 AND v.version = $3 AND v.deprecated_at IS NULL`,
		projectID, appName, version, ts(now)); err != nil {
		return workunits.AppVersion{}, fmt.Errorf("deprecating version %d of app %q: %w", version, appName, err)
	}
	v, err := scanVersion(t.tx.QueryRow(ctx, `SELECT `+versionColumns+` FROM app_versions v JOIN apps a ON a.id = v.app_id
		WHERE a.project_id = $1 AND a.name = $2 AND v.version = $3`, projectID, appName, version))
	if err != nil {
		return v, notFound(err, "app %q has no version %d", appName, version)
	}
	return v, nil
}

// versionColumns are what scanVersion reads, from app_versions v and apps a.
const versionColumns = `v.id, v.app_id, a.name, v.version, v.module_sha256, v.size, v.created_at,
	v.signature, v.est_ops, v.est_memory_mib, v.est_disk_mib, v.est_deadline_seconds, v.deprecated_at,
	v.validator_kind, v.abs_tol, v.rel_tol`

func scanVersion(row pgx.Row) (workunits.AppVersion, error) {
	var v workunits.AppVersion
	var deadline int64
	var deprecated pgtype.Timestamptz
	if err := row.Scan(&v.ID, &v.AppID, &v.AppName, &v.Version, &v.ModuleSHA256, &v.Size, &v.CreatedAt,
		&v.Signature, &v.Estimates.Ops, &v.Estimates.MemoryMiB, &v.Estimates.DiskMiB, &deadline, &deprecated,
		&v.Validator.Kind, &v.Validator.AbsTol, &v.Validator.RelTol); err != nil {
		return v, err
	}
	v.CreatedAt = v.CreatedAt.UTC()
	v.Estimates.Deadline = time.Duration(deadline) * time.Second
	if deprecated.Valid {
		v.DeprecatedAt = deprecated.Time.UTC()
	}
	return v, nil
}
