package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func (t *Tx) InputBlobPartPut(ctx context.Context, sha256 string, seq int64, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO blob_parts (sha256, seq, data) VALUES ($1, $2, $3)
		ON CONFLICT (sha256, seq) DO NOTHING`, sha256, seq, data); err != nil {
		return fmt.Errorf("storing part %d of blob %s: %w", seq, sha256, err)
	}
	return nil
}

func (t *Tx) InputBlobPartGet(ctx context.Context, sha256 string, seq int64) ([]byte, error) {
	var data []byte
	if err := t.tx.QueryRow(ctx, `SELECT data FROM blob_parts WHERE sha256 = $1 AND seq = $2`, sha256, seq).Scan(&data); err != nil {
		return nil, notFound(err, "part %d of blob %s not found", seq, sha256)
	}
	return data, nil
}

func (t *Tx) InputBlobInsert(ctx context.Context, b store.InputBlob) (bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO input_blobs (sha256, size, part_size, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (sha256) DO NOTHING`, b.SHA256, b.Size, b.PartSize, ts(b.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("recording blob %s: %w", b.SHA256, err)
	}
	return tag.RowsAffected() == 1, nil
}

func scanInputBlob(row pgx.Row) (store.InputBlob, error) {
	var b store.InputBlob
	err := row.Scan(&b.SHA256, &b.Size, &b.PartSize, &b.CreatedAt)
	b.CreatedAt = b.CreatedAt.UTC()
	return b, err
}

func (t *Tx) InputBlobGet(ctx context.Context, sha256 string) (store.InputBlob, error) {
	b, err := scanInputBlob(t.tx.QueryRow(ctx, `SELECT sha256, size, part_size, created_at FROM input_blobs WHERE sha256 = $1`, sha256))
	if err != nil {
		return b, notFound(err, "blob %s not found", sha256)
	}
	return b, nil
}

// InputBlobLock holds the blob's row FOR SHARE: InputBlobsRelease, which
// takes it FOR UPDATE, waits for this transaction, and this one, if the
// release went first, finds the row gone.
func (t *Tx) InputBlobLock(ctx context.Context, sha256 string) (store.InputBlob, error) {
	b, err := scanInputBlob(t.tx.QueryRow(ctx, `SELECT sha256, size, part_size, created_at FROM input_blobs WHERE sha256 = $1 FOR SHARE`, sha256))
	if err != nil {
		return b, notFound(err, "blob %s not found", sha256)
	}
	return b, nil
}

func (t *Tx) InputBlobPartCount(ctx context.Context, sha256 string) (int64, error) {
	var n int64
	if err := t.tx.QueryRow(ctx, `SELECT count(*) FROM blob_parts WHERE sha256 = $1`, sha256).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting the parts of blob %s: %w", sha256, err)
	}
	return n, nil
}

func (t *Tx) ProjectBlobGrant(ctx context.Context, projectID int64, sha256 string, now time.Time) (bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO project_blobs (project_id, sha256, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (project_id, sha256) DO NOTHING`, projectID, sha256, ts(now))
	if err != nil {
		return false, fmt.Errorf("granting blob %s to project %d: %w", sha256, projectID, err)
	}
	return tag.RowsAffected() == 1, nil
}

func (t *Tx) ProjectBlobGet(ctx context.Context, projectID int64, sha256 string) (store.InputBlob, error) {
	b, err := scanInputBlob(t.tx.QueryRow(ctx, `SELECT b.sha256, b.size, b.part_size, p.created_at
		FROM project_blobs p JOIN input_blobs b ON b.sha256 = p.sha256 WHERE p.project_id = $1 AND p.sha256 = $2`, projectID, sha256))
	if err != nil {
		return b, notFound(err, "blob %s not found", sha256)
	}
	return b, nil
}

func (t *Tx) ProjectBlobList(ctx context.Context, projectID int64, afterSHA256 string, limit int) ([]store.InputBlob, error) {
	rows, err := t.tx.Query(ctx, `SELECT b.sha256, b.size, b.part_size, p.created_at
		FROM project_blobs p JOIN input_blobs b ON b.sha256 = p.sha256
		WHERE p.project_id = $1 AND p.sha256 > $2 ORDER BY p.sha256 LIMIT $3`, projectID, afterSHA256, limit)
	if err != nil {
		return nil, fmt.Errorf("listing blobs of project %d: %w", projectID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.InputBlob, error) { return scanInputBlob(row) })
	if err != nil {
		return nil, fmt.Errorf("listing blobs of project %d: %w", projectID, err)
	}
	return out, nil
}

func (t *Tx) HostBlobRangeInUse(ctx context.Context, hostID int64, sha256 string, offset, length int64) (bool, error) {
	var ok bool
	if err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tasks t JOIN units u ON u.id = t.unit_id
		WHERE t.host_id = $1 AND t.state = $2 AND u.input_blob = $3 AND u.input_offset = $4 AND u.input_length = $5)`,
		hostID, workunits.TaskInProgress, sha256, offset, length).Scan(&ok); err != nil {
		return false, fmt.Errorf("checking host %d's use of %d bytes of blob %s from %d: %w", hostID, length, sha256, offset, err)
	}
	return ok, nil
}

func (t *Tx) UnitInsertRefs(ctx context.Context, jobID int64, refs []workunits.InputRef) ([]workunits.Unit, error) {
	if len(refs) == 0 {
		return []workunits.Unit{}, nil
	}
	n := len(refs)
	blobs, shas := make([]string, n), make([]string, n)
	offsets, lengths := make([]int64, n), make([]int64, n)
	for i, r := range refs {
		blobs[i], offsets[i], lengths[i], shas[i] = r.Blob, r.Offset, r.Length, r.SHA256
	}
	rows, err := t.tx.Query(ctx, `INSERT INTO units (job_id, seq, input, state, input_blob, input_offset, input_length, input_sha256)
		SELECT $1, i - 1, '\x'::bytea, $2, b, o, l, s
		FROM unnest($3::text[], $4::bigint[], $5::bigint[], $6::text[]) WITH ORDINALITY AS x(b, o, l, s, i) ORDER BY i
		RETURNING id, seq`, jobID, workunits.UnitOpen, blobs, offsets, lengths, shas)
	if err != nil {
		return nil, fmt.Errorf("inserting units of job %d: %w", jobID, err)
	}
	units := make([]workunits.Unit, n)
	var id int64
	var seq int
	if _, err := pgx.ForEachRow(rows, []any{&id, &seq}, func() error {
		units[seq] = workunits.Unit{ID: id, JobID: jobID, Seq: seq, Input: []byte{}, State: workunits.UnitOpen}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("inserting units of job %d: %w", jobID, err)
	}
	return units, nil
}

func (t *Tx) UnitInputRefMany(ctx context.Context, unitIDs []int64) (map[int64]workunits.InputRef, error) {
	out := map[int64]workunits.InputRef{}
	if len(unitIDs) == 0 {
		return out, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT id, input_blob, input_offset, input_length, input_sha256
		FROM units WHERE id = ANY($1) AND input_blob <> ''`, unitIDs)
	if err != nil {
		return nil, fmt.Errorf("loading input refs of %d units: %w", len(unitIDs), err)
	}
	var id int64
	var r workunits.InputRef
	if _, err := pgx.ForEachRow(rows, []any{&id, &r.Blob, &r.Offset, &r.Length, &r.SHA256}, func() error {
		out[id] = r
		return nil
	}); err != nil {
		return nil, fmt.Errorf("loading input refs of %d units: %w", len(unitIDs), err)
	}
	return out, nil
}

func (t *Tx) JobInputRefList(ctx context.Context, jobID int64, afterSeq, throughSeq int) (map[int]workunits.InputRef, error) {
	rows, err := t.tx.Query(ctx, `SELECT seq, input_blob, input_offset, input_length, input_sha256
		FROM units WHERE job_id = $1 AND seq > $2 AND seq <= $3 AND input_blob <> ''`, jobID, afterSeq, throughSeq)
	if err != nil {
		return nil, fmt.Errorf("loading input refs of job %d: %w", jobID, err)
	}
	out := map[int]workunits.InputRef{}
	var seq int
	var r workunits.InputRef
	if _, err := pgx.ForEachRow(rows, []any{&seq, &r.Blob, &r.Offset, &r.Length, &r.SHA256}, func() error {
		out[seq] = r
		return nil
	}); err != nil {
		return nil, fmt.Errorf("loading input refs of job %d: %w", jobID, err)
	}
	return out, nil
}

// IdempotencyInsert relies on the primary key: a second transaction
// inserting the same key waits on the first's uncommitted row, then
// inserts nothing if it committed.
func (t *Tx) IdempotencyInsert(ctx context.Context, r store.IdempotencyRecord) (bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO idempotency_keys (project_id, key, request_hash, job_id, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, key) DO NOTHING`,
		r.ProjectID, r.Key, r.RequestHash, r.JobID, ts(r.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("recording idempotency key: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

func (t *Tx) IdempotencyGet(ctx context.Context, projectID int64, key string) (store.IdempotencyRecord, error) {
	r := store.IdempotencyRecord{ProjectID: projectID, Key: key}
	err := t.tx.QueryRow(ctx, `SELECT request_hash, job_id, created_at FROM idempotency_keys WHERE project_id = $1 AND key = $2`,
		projectID, key).Scan(&r.RequestHash, &r.JobID, &r.CreatedAt)
	if err != nil {
		return r, notFound(err, "idempotency key %q not found", key)
	}
	r.CreatedAt = r.CreatedAt.UTC()
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
