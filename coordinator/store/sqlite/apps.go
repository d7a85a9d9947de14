package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) BlobPut(ctx context.Context, sha256 string, data []byte) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO blobs (sha256, data) VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING`, sha256, data); err != nil {
		return fmt.Errorf("storing blob %s: %w", sha256, err)
	}
	return nil
}

func (t *Tx) BlobGet(ctx context.Context, sha256 string) ([]byte, error) {
	var data []byte
	if err := t.tx.QueryRowContext(ctx, `SELECT data FROM blobs WHERE sha256 = ?`, sha256).Scan(&data); err != nil {
		return nil, notFound(err, "blob %s not found", sha256)
	}
	return data, nil
}

func (t *Tx) BlobReferenced(ctx context.Context, sha256 string) (bool, error) {
	var n int
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM app_versions WHERE module_sha256 = ?`, sha256).Scan(&n); err != nil {
		return false, fmt.Errorf("checking references to blob %s: %w", sha256, err)
	}
	return n > 0, nil
}

func (t *Tx) AppVersionInsert(ctx context.Context, p store.AppVersionInsertParams) (workunits.AppVersion, error) {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO apps (project_id, name) VALUES (?, ?) ON CONFLICT (project_id, name) DO NOTHING`,
		p.ProjectID, p.AppName); err != nil {
		return workunits.AppVersion{}, fmt.Errorf("creating app %q: %w", p.AppName, err)
	}
	var appID int64
	var version int
	if err := t.tx.QueryRowContext(ctx, `SELECT a.id, coalesce(max(v.version), 0) + 1 FROM apps a
		LEFT JOIN app_versions v ON v.app_id = a.id WHERE a.project_id = ? AND a.name = ? GROUP BY a.id`,
		p.ProjectID, p.AppName).Scan(&appID, &version); err != nil {
		return workunits.AppVersion{}, fmt.Errorf("finding next version of app %q: %w", p.AppName, err)
	}
	est, val := p.Estimates.WithDefaults(), p.Validator.WithDefaults()
	res, err := t.tx.ExecContext(ctx, `INSERT INTO app_versions (app_id, version, module_sha256, size, created_at,
			signature, est_ops, est_memory_mib, est_disk_mib, est_deadline_seconds, validator_kind, abs_tol, rel_tol)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		appID, version, p.ModuleSHA256, p.Size, p.Now.UnixMilli(),
		nonNil(p.Signature), est.Ops, est.MemoryMiB, est.DiskMiB, int64(est.Deadline/time.Second), val.Kind, val.AbsTol, val.RelTol)
	if err != nil {
		return workunits.AppVersion{}, fmt.Errorf("inserting version %d of app %q: %w", version, p.AppName, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return workunits.AppVersion{}, fmt.Errorf("reading app version id: %w", err)
	}
	return workunits.AppVersion{ID: id, AppID: appID, AppName: p.AppName, Version: version,
		ModuleSHA256: p.ModuleSHA256, Size: p.Size, CreatedAt: time.UnixMilli(p.Now.UnixMilli()).UTC(),
		Signature: nonNil(p.Signature), Estimates: est, Validator: val}, nil
}

func (t *Tx) AppVersionGet(ctx context.Context, projectID int64, appName string, version int) (workunits.AppVersion, error) {
	v, err := scanVersion(t.tx.QueryRowContext(ctx, `SELECT `+versionColumns+`
		FROM app_versions v JOIN apps a ON a.id = v.app_id
		WHERE a.project_id = ? AND a.name = ? AND (? = 0 AND v.deprecated_at IS NULL OR v.version = ?)
		ORDER BY v.version DESC LIMIT 1`, projectID, appName, version, version))
	if err != nil {
		if version == 0 {
			return v, notFound(err, "app %q not found, or every version of it is deprecated", appName)
		}
		return v, notFound(err, "app %q has no version %d", appName, version)
	}
	return v, nil
}

// nonNil stores a missing signature as empty, not NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
