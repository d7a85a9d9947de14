package store

import (
	"context"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// BlobPartSize is the size of the parts an input blob is stored in: small
// enough to read and write one at a time, large enough to be few.
const BlobPartSize = 1 << 20

// InputBlob is an uploaded input file, stored once in parts of PartSize
// bytes however many projects use it.
type InputBlob struct {
	SHA256    string
	Size      int64
	PartSize  int64
	CreatedAt time.Time // for a project's blob: when the project got it
}

// IdempotencyRecord is a job submission remembered under its key.
type IdempotencyRecord struct {
	ProjectID   int64
	Key         string
	RequestHash string
	JobID       int64
	CreatedAt   time.Time
}

// InputTx stores input blobs, the units that reference them and the keys
// that make a job submission happen once.
type InputTx interface {
	// InputBlobPartPut stores part seq of a blob unless it is already there.
	InputBlobPartPut(ctx context.Context, sha256 string, seq int64, data []byte) error
	// InputBlobPartGet returns part seq of a blob.
	InputBlobPartGet(ctx context.Context, sha256 string, seq int64) ([]byte, error)
	// InputBlobInsert records a blob whose parts are all stored; created
	// is false if it was already recorded.
	InputBlobInsert(ctx context.Context, b InputBlob) (created bool, err error)
	// InputBlobGet finds a complete blob.
	InputBlobGet(ctx context.Context, sha256 string) (InputBlob, error)
	// InputBlobLock finds a complete blob and keeps it from being
	// released (InputBlobsRelease) until this transaction ends: on
	// PostgreSQL it holds its input_blobs row FOR SHARE; SQLite's single
	// writer serialises the two already. A blob already released is
	// ENOTFOUND.
	InputBlobLock(ctx context.Context, sha256 string) (InputBlob, error)
	// InputBlobPartCount counts the stored parts of a blob.
	InputBlobPartCount(ctx context.Context, sha256 string) (int64, error)
	// ProjectBlobGrant lets a project use a blob; added is false if it
	// already could.
	ProjectBlobGrant(ctx context.Context, projectID int64, sha256 string, now time.Time) (added bool, err error)
	// ProjectBlobGet finds a blob the project may use, with the time it
	// got it; any other blob is ENOTFOUND.
	ProjectBlobGet(ctx context.Context, projectID int64, sha256 string) (InputBlob, error)
	// ProjectBlobList returns up to limit of a project's blobs with
	// SHA256 after afterSHA256, in SHA256 order.
	ProjectBlobList(ctx context.Context, projectID int64, afterSHA256 string, limit int) ([]InputBlob, error)
	// HostBlobRangeInUse reports whether a task in progress on the host
	// is of a unit whose input is exactly length bytes of the blob from
	// offset.
	HostBlobRangeInUse(ctx context.Context, hostID int64, sha256 string, offset, length int64) (bool, error)

	// UnitInsertRefs creates one open unit per ref, with an empty inline
	// input, Seq in ref order.
	UnitInsertRefs(ctx context.Context, jobID int64, refs []workunits.InputRef) ([]workunits.Unit, error)
	// UnitInputRefMany returns the input refs of those of the given units
	// that have one.
	UnitInputRefMany(ctx context.Context, unitIDs []int64) (map[int64]workunits.InputRef, error)
	// JobInputRefList returns the input refs of a job's units with Seq in
	// (afterSeq, throughSeq], by Seq.
	JobInputRefList(ctx context.Context, jobID int64, afterSeq, throughSeq int) (map[int]workunits.InputRef, error)

	// IdempotencyInsert remembers a submission; inserted is false if the
	// project already used the key, and then nothing is written. A
	// concurrent insert of the same key waits for the first to finish.
	IdempotencyInsert(ctx context.Context, r IdempotencyRecord) (inserted bool, err error)
	// IdempotencyGet finds a project's submission by key.
	IdempotencyGet(ctx context.Context, projectID int64, key string) (IdempotencyRecord, error)
}
