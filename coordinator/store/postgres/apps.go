package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) BlobPut(ctx context.Context, sha256 string, data []byte) error {
	if data == nil {
		data = []byte{} // an empty blob is still a blob, not NULL
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO blobs (sha256, data) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING`, sha256, data); err != nil {
		return fmt.Errorf("storing blob %s: %w", sha256, err)
	}
	return nil
}

func (t *Tx) BlobGet(ctx context.Context, sha256 string) ([]byte, error) {
	var data []byte
	if err := t.tx.QueryRow(ctx, `SELECT data FROM blobs WHERE sha256 = $1`, sha256).Scan(&data); err != nil {
		return nil, notFound(err, "blob %s not found", sha256)
	}
	return data, nil
}

func (t *Tx) BlobReferenced(ctx context.Context, sha256 string) (bool, error) {
	var ok bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM app_versions WHERE module_sha256 = $1)`, sha256).Scan(&ok); err != nil {
		return false, fmt.Errorf("checking references to blob %s: %w", sha256, err)
	}
	return ok, nil
}

func (t *Tx) AppVersionInsert(ctx context.Context, p store.AppVersionInsertParams) (workunits.AppVersion, error) {
	if _, err := t.tx.Exec(ctx, `INSERT INTO apps (project_id, name) VALUES ($1, $2) ON CONFLICT (project_id, name) DO NOTHING`,
		p.ProjectID, p.AppName); err != nil {
		return workunits.AppVersion{}, fmt.Errorf("creating app %q: %w", p.AppName, err)
	}
	// Locking the app serialises uploads of its versions, so two at once
	// number themselves one after the other instead of clashing.
	var appID int64
	if err := t.tx.QueryRow(ctx, `SELECT id FROM apps WHERE project_id = $1 AND name = $2 FOR NO KEY UPDATE`,
		p.ProjectID, p.AppName).Scan(&appID); err != nil {
		return workunits.AppVersion{}, fmt.Errorf("locking app %q: %w", p.AppName, err)
	}
	v := workunits.AppVersion{AppID: appID, AppName: p.AppName, ModuleSHA256: p.ModuleSHA256, Size: p.Size, CreatedAt: ts(p.Now),
		Signature: p.Signature, Estimates: p.Estimates.WithDefaults(), Validator: p.Validator.WithDefaults()}
	if v.Signature == nil {
		v.Signature = []byte{} // stored empty, not NULL
	}
	if err := t.tx.QueryRow(ctx, `INSERT INTO app_versions (app_id, version, module_sha256, size, created_at,
			signature, est_ops, est_memory_mib, est_disk_mib, est_deadline_seconds, validator_kind, abs_tol, rel_tol)
		SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM app_versions WHERE app_id = $1
		RETURNING id, version`, appID, p.ModuleSHA256, p.Size, v.CreatedAt, v.Signature, v.Estimates.Ops,
		v.Estimates.MemoryMiB, v.Estimates.DiskMiB, int64(v.Estimates.Deadline/time.Second),
		v.Validator.Kind, v.Validator.AbsTol, v.Validator.RelTol).Scan(&v.ID, &v.Version); err != nil {
		return workunits.AppVersion{}, fmt.Errorf("inserting the next version of app %q: %w", p.AppName, err)
	}
	return v, nil
}

func (t *Tx) AppVersionGet(ctx context.Context, projectID int64, appName string, version int) (workunits.AppVersion, error) {
	v, err := scanVersion(t.tx.QueryRow(ctx, `SELECT `+versionColumns+`
		FROM app_versions v JOIN apps a ON a.id = v.app_id
		WHERE a.project_id = $1 AND a.name = $2 AND ($3 = 0 AND v.deprecated_at IS NULL OR v.version = $3)
		ORDER BY v.version DESC LIMIT 1`, projectID, appName, version))
	if err != nil {
		if version == 0 {
			return v, notFound(err, "app %q not found, or every version of it is deprecated", appName)
		}
		return v, notFound(err, "app %q has no version %d", appName, version)
	}
	return v, nil
}
