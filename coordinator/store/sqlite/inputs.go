package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) InputBlobPartPut(ctx context.Context, sha256 string, seq int64, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO blob_parts (sha256, seq, data) VALUES (?, ?, ?)
		ON CONFLICT (sha256, seq) DO NOTHING`, sha256, seq, data); err != nil {
		return fmt.Errorf("storing part %d of blob %s: %w", seq, sha256, err)
	}
	return nil
}

func (t *Tx) InputBlobPartGet(ctx context.Context, sha256 string, seq int64) ([]byte, error) {
	var data []byte
	if err := t.tx.QueryRowContext(ctx, `SELECT data FROM blob_parts WHERE sha256 = ? AND seq = ?`, sha256, seq).Scan(&data); err != nil {
		return nil, notFound(err, "part %d of blob %s not found", seq, sha256)
	}
	return data, nil
}

func (t *Tx) InputBlobInsert(ctx context.Context, b store.InputBlob) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO input_blobs (sha256, size, part_size, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (sha256) DO NOTHING`, b.SHA256, b.Size, b.PartSize, b.CreatedAt.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("recording blob %s: %w", b.SHA256, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("recording blob %s: %w", b.SHA256, err)
	}
	return n == 1, nil
}

func scanInputBlob(row *sql.Row) (store.InputBlob, error) {
	var b store.InputBlob
	var created int64
	err := row.Scan(&b.SHA256, &b.Size, &b.PartSize, &created)
	b.CreatedAt = time.UnixMilli(created).UTC()
	return b, err
}

func (t *Tx) InputBlobGet(ctx context.Context, sha256 string) (store.InputBlob, error) {
	b, err := scanInputBlob(t.tx.QueryRowContext(ctx, `SELECT sha256, size, part_size, created_at FROM input_blobs WHERE sha256 = ?`, sha256))
	if err != nil {
		return b, notFound(err, "blob %s not found", sha256)
	}
	return b, nil
}

// InputBlobLock takes no lock: the single writer keeps InputBlobsRelease
// out until this transaction ends.
func (t *Tx) InputBlobLock(ctx context.Context, sha256 string) (store.InputBlob, error) {
	return t.InputBlobGet(ctx, sha256)
}

func (t *Tx) InputBlobPartCount(ctx context.Context, sha256 string) (int64, error) {
	var n int64
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM blob_parts WHERE sha256 = ?`, sha256).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting the parts of blob %s: %w", sha256, err)
	}
	return n, nil
}

func (t *Tx) ProjectBlobGrant(ctx context.Context, projectID int64, sha256 string, now time.Time) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO project_blobs (project_id, sha256, created_at) VALUES (?, ?, ?)
		ON CONFLICT (project_id, sha256) DO NOTHING`, projectID, sha256, now.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("granting blob %s to project %d: %w", sha256, projectID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("granting blob %s to project %d: %w", sha256, projectID, err)
	}
	return n == 1, nil
}

func (t *Tx) ProjectBlobGet(ctx context.Context, projectID int64, sha256 string) (store.InputBlob, error) {
	b, err := scanInputBlob(t.tx.QueryRowContext(ctx, `SELECT b.sha256, b.size, b.part_size, p.created_at
		FROM project_blobs p JOIN input_blobs b ON b.sha256 = p.sha256 WHERE p.project_id = ? AND p.sha256 = ?`, projectID, sha256))
	if err != nil {
		return b, notFound(err, "blob %s not found", sha256)
	}
	return b, nil
}

func (t *Tx) ProjectBlobList(ctx context.Context, projectID int64, afterSHA256 string, limit int) ([]store.InputBlob, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT b.sha256, b.size, b.part_size, p.created_at
		FROM project_blobs p JOIN input_blobs b ON b.sha256 = p.sha256
		WHERE p.project_id = ? AND p.sha256 > ? ORDER BY p.sha256 LIMIT ?`, projectID, afterSHA256, limit)
	if err != nil {
		return nil, fmt.Errorf("listing blobs of project %d: %w", projectID, err)
	}
	defer rows.Close()
	var out []store.InputBlob
	for rows.Next() {
		var b store.InputBlob
		var created int64
		if err := rows.Scan(&b.SHA256, &b.Size, &b.PartSize, &created); err != nil {
			return nil, fmt.Errorf("scanning blob: %w", err)
		}
		b.CreatedAt = time.UnixMilli(created).UTC()
		out = append(out, b)
	}
	return out, rows.Err()
}

func (t *Tx) HostBlobRangeInUse(ctx context.Context, hostID int64, sha256 string, offset, length int64) (bool, error) {
	var ok bool
	if err := t.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM tasks t JOIN units u ON u.id = t.unit_id
		WHERE t.host_id = ? AND t.state = ? AND u.input_blob = ? AND u.input_offset = ? AND u.input_length = ?)`,
		hostID, workunits.TaskInProgress, sha256, offset, length).Scan(&ok); err != nil {
		return false, fmt.Errorf("checking host %d's use of %d bytes of blob %s from %d: %w", hostID, length, sha256, offset, err)
	}
	return ok, nil
}

func (t *Tx) UnitInsertRefs(ctx context.Context, jobID int64, refs []workunits.InputRef) ([]workunits.Unit, error) {
	stmt, err := t.tx.PrepareContext(ctx, `INSERT INTO units (job_id, seq, input, state, input_blob, input_offset, input_length, input_sha256)
		VALUES (?, ?, x'', ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, fmt.Errorf("preparing unit insert: %w", err)
	}
	defer stmt.Close()
	units := make([]workunits.Unit, len(refs))
	for i, r := range refs {
		res, err := stmt.ExecContext(ctx, jobID, i, workunits.UnitOpen, r.Blob, r.Offset, r.Length, r.SHA256)
		if err != nil {
			return nil, fmt.Errorf("inserting unit %d of job %d: %w", i, jobID, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return nil, fmt.Errorf("reading unit id: %w", err)
		}
		units[i] = workunits.Unit{ID: id, JobID: jobID, Seq: i, Input: []byte{}, State: workunits.UnitOpen}
	}
	return units, nil
}

func (t *Tx) UnitInputRefMany(ctx context.Context, unitIDs []int64) (map[int64]workunits.InputRef, error) {
	out := map[int64]workunits.InputRef{}
	err := chunks(unitIDs, func(ids []int64) error {
		rows, err := t.tx.QueryContext(ctx, `SELECT id, input_blob, input_offset, input_length, input_sha256
			FROM units WHERE id IN (`+placeholders(len(ids))+`) AND input_blob <> ''`, int64Args(ids)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var r workunits.InputRef
			if err := rows.Scan(&id, &r.Blob, &r.Offset, &r.Length, &r.SHA256); err != nil {
				return err
			}
			out[id] = r
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("loading input refs of %d units: %w", len(unitIDs), err)
	}
	return out, nil
}

func (t *Tx) JobInputRefList(ctx context.Context, jobID int64, afterSeq, throughSeq int) (map[int]workunits.InputRef, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT seq, input_blob, input_offset, input_length, input_sha256
		FROM units WHERE job_id = ? AND seq > ? AND seq <= ? AND input_blob <> ''`, jobID, afterSeq, throughSeq)
	if err != nil {
		return nil, fmt.Errorf("loading input refs of job %d: %w", jobID, err)
	}
	defer rows.Close()
	out := map[int]workunits.InputRef{}
	for rows.Next() {
		var seq int
		var r workunits.InputRef
		if err := rows.Scan(&seq, &r.Blob, &r.Offset, &r.Length, &r.SHA256); err != nil {
			return nil, fmt.Errorf("scanning input ref: %w", err)
		}
		out[seq] = r
	}
	return out, rows.Err()
}

// IdempotencyInsert needs no lock: the single writer already serialises
// two submissions with one key.
func (t *Tx) IdempotencyInsert(ctx context.Context, r store.IdempotencyRecord) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO idempotency_keys (project_id, key, request_hash, job_id, created_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (project_id, key) DO NOTHING`,
		r.ProjectID, r.Key, r.RequestHash, r.JobID, r.CreatedAt.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("recording idempotency key: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("recording idempotency key: %w", err)
	}
	return n == 1, nil
}

func (t *Tx) IdempotencyGet(ctx context.Context, projectID int64, key string) (store.IdempotencyRecord, error) {
	r := store.IdempotencyRecord{ProjectID: projectID, Key: key}
	var created int64
	err := t.tx.QueryRowContext(ctx, `SELECT request_hash, job_id, created_at FROM idempotency_keys WHERE project_id = ? AND key = ?`,
		projectID, key).Scan(&r.RequestHash, &r.JobID, &created)
	if err != nil {
		return r, notFound(err, "idempotency key %q not found", key)
	}
	r.CreatedAt = time.UnixMilli(created).UTC()
	return r, nil
}

// withInputRefs adds their input refs to leases of units cut from blobs.
func (t *Tx) withInputRefs(ctx context.Context, leases []store.Lease) ([]store.Lease, error) {
	ids := make([]int64, len(leases))
	for i, l := range leases {
		ids[i] = l.UnitID
	}
	refs, err := t.UnitInputRefMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	for i := range leases {
		if r, ok := refs[leases[i].UnitID]; ok {
			leases[i].InputRef = &r
		}
	}
	return leases, nil
}
