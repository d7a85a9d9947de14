package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// DefaultMaxBlobSize is the largest input blob unless Options.MaxBlobSize says otherwise.
const DefaultMaxBlobSize = 1 << 30

// blobPartsPerTx is how many parts one transaction writes while storing a
// blob: the upload never holds SQLite's single writer for long.
const blobPartsPerTx = 8

// UploadBlob stores an input blob read from body, which it copies to a
// temporary file while hashing, never holding it in memory, and grants the
// project its use. created is false if the project already had it. Bytes
// already stored (by any project) are not stored again.
func (s *Service) UploadBlob(ctx context.Context, projectID int64, body io.Reader) (b store.InputBlob, created bool, err error) {
	f, err := os.CreateTemp(s.tempDir, "nightshift-blob-*")
	if err != nil {
		return b, false, fmt.Errorf("creating a temporary file for an upload: %w", err)
	}
	defer func() { f.Close(); os.Remove(f.Name()) }()
	h := sha256.New()
	n, err := copyUpload(io.MultiWriter(f, h), body, s.maxBlobSize)
	if err != nil {
		return b, false, err
	}
	sha := hex.EncodeToString(h.Sum(nil))
	now := s.now()
	var stored bool
	if err := s.store.InReadTx(ctx, func(tx store.Tx) error {
		_, err := tx.InputBlobGet(ctx, sha)
		stored = err == nil
		if workunits.ErrorCode(err) == workunits.ENOTFOUND {
			return nil
		}
		return err
	}); err != nil {
		return b, false, fmt.Errorf("looking up blob %s: %w", sha, err)
	}
	// A retirement may release the blob, parts and all, between the look
	// up (or the storing of its parts) and its recording: then its parts
	// are stored again.
	for attempt := 1; ; attempt++ {
		if !stored {
			if err := s.storeBlobParts(ctx, sha, f); err != nil {
				return b, false, err
			}
		}
		err = s.store.InTx(ctx, func(tx store.Tx) error {
			if _, err := tx.InputBlobInsert(ctx, store.InputBlob{SHA256: sha, Size: n, PartSize: store.BlobPartSize, CreatedAt: now}); err != nil {
				return err
			}
			// Locked, the blob stays until the grant is committed.
			rec, err := tx.InputBlobLock(ctx, sha)
			if workunits.ErrorCode(err) == workunits.ENOTFOUND {
				return errBlobReleased
			} else if err != nil {
				return err
			}
			parts, err := tx.InputBlobPartCount(ctx, sha)
			if err != nil {
				return err
			}
			if parts < (rec.Size+rec.PartSize-1)/rec.PartSize {
				return errBlobReleased
			}
			if created, err = tx.ProjectBlobGrant(ctx, projectID, sha, now); err != nil {
				return err
			}
			b, err = tx.ProjectBlobGet(ctx, projectID, sha)
			return err
		})
		if errors.Is(err, errBlobReleased) && attempt < 3 {
			s.log.Info("blob released during its upload; storing it again", "project", projectID, "sha256", sha)
			stored = false
			continue
		}
		if err != nil {
			return b, false, fmt.Errorf("recording blob %s: %w", sha, err)
		}
		break
	}
	if created {
		s.log.Info("blob uploaded", "project", projectID, "sha256", sha, "size", n, "new", !stored)
	}
	return b, created, nil
}

// copyUpload copies body, of at most limit bytes, to w. Only a failure to
// read the body is the request's fault (EINVALID); a failure to write w
// is the coordinator's, a plain error.
func copyUpload(w io.Writer, body io.Reader, limit int64) (int64, error) {
	n, err := io.Copy(w, io.LimitReader(&bodyReader{r: body}, limit+1))
	var rerr *bodyReadError
	switch {
	case errors.As(err, &rerr):
		return n, workunits.Errorf(workunits.EINVALID, "reading the upload: %v", rerr.err)
	case err != nil:
		return n, fmt.Errorf("writing the upload to a temporary file: %w", err)
	case n > limit:
		return n, workunits.Errorf(workunits.ETOOLARGE, "the blob is over %d bytes, the most this coordinator takes", limit)
	}
	return n, nil
}

// bodyReader marks the errors of reading an upload's body, telling them
// from errors writing where it is copied to.
type bodyReader struct{ r io.Reader }

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = &bodyReadError{err}
	}
	return n, err
}

// bodyReadError is an error reading an upload's body.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// errBlobReleased says a blob's parts went while it was being uploaded.
var errBlobReleased = errors.New("the blob was released while it was being uploaded")

// storeBlobParts writes the file's parts, a few per transaction. Parts of
// a blob are the same whoever writes them, so two uploads of one blob at
// once, even on two coordinators, only skip each other's parts.
func (s *Service) storeBlobParts(ctx context.Context, sha string, f *os.File) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rereading the upload: %w", err)
	}
	buf := make([]byte, store.BlobPartSize)
	var seq int64
	for done := false; !done; {
		err := s.store.InTx(ctx, func(tx store.Tx) error {
			for range blobPartsPerTx {
				n, err := io.ReadFull(f, buf)
				if errors.Is(err, io.EOF) {
					done = true
					return nil
				}
				if errors.Is(err, io.ErrUnexpectedEOF) {
					done = true
				} else if err != nil {
					return fmt.Errorf("rereading the upload: %w", err)
				}
				if err := tx.InputBlobPartPut(ctx, sha, seq, buf[:n]); err != nil {
					return err
				}
				seq++
				if done {
					return nil
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("storing blob %s: %w", sha, err)
		}
	}
	return nil
}

func checkSHA(sha string) error {
	if !workunits.ValidSHA256(sha) {
		return workunits.Errorf(workunits.EINVALID, "a blob is named by its SHA-256 in lowercase hex (64 digits), got %q", sha)
	}
	return nil
}

// Blob returns a blob the project uploaded and a reader of its bytes,
// which reads one part at a time.
func (s *Service) Blob(ctx context.Context, projectID int64, sha string) (store.InputBlob, io.Reader, error) {
	if err := checkSHA(sha); err != nil {
		return store.InputBlob{}, nil, err
	}
	var b store.InputBlob
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		b, err = tx.ProjectBlobGet(ctx, projectID, sha)
		return err
	})
	if err != nil {
		return b, nil, err
	}
	return b, s.blobReader(ctx, b, 0, b.Size), nil
}

// Blobs lists up to limit of the project's blobs after the one named by
// after (a SHA-256; empty for the first page), in hash order.
func (s *Service) Blobs(ctx context.Context, projectID int64, after string, limit int) ([]store.InputBlob, error) {
	if after != "" && !workunits.ValidSHA256(after) {
		return nil, workunits.Errorf(workunits.EINVALID, "bad cursor %q: pass the next_cursor of the previous page", after)
	}
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	var out []store.InputBlob
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		out, err = tx.ProjectBlobList(ctx, projectID, after, limit)
		return err
	})
	return out, err
}

// HostBlobRange returns a reader of length bytes of a blob from offset,
// for a host that has a task in progress whose input is exactly that
// range. Any other host, or any other range, is told the blob does not
// exist.
func (s *Service) HostBlobRange(ctx context.Context, hostID int64, sha string, offset, length int64) (io.Reader, error) {
	if err := checkSHA(sha); err != nil {
		return nil, err
	}
	var b store.InputBlob
	err := s.store.InReadTx(ctx, func(tx store.Tx) error {
		inUse, err := tx.HostBlobRangeInUse(ctx, hostID, sha, offset, length)
		if err != nil {
			return err
		}
		if !inUse {
			return workunits.Errorf(workunits.ENOTFOUND, "blob %s not found (no task of this host has its input at %d+%d)", sha, offset, length)
		}
		b, err = tx.InputBlobGet(ctx, sha)
		return err
	})
	if err != nil {
		return nil, err
	}
	if offset < 0 || length < 0 || offset > b.Size || length > b.Size-offset {
		return nil, workunits.Errorf(workunits.EINVALID, "range %d+%d is outside blob %s of %d bytes", offset, length, sha, b.Size)
	}
	return s.blobReader(ctx, b, offset, length), nil
}

// blobReader reads bytes [offset, offset+length) of a stored blob, one
// part per read transaction.
func (s *Service) blobReader(ctx context.Context, b store.InputBlob, offset, length int64) io.Reader {
	return &blobReader{ctx: ctx, store: s.store, blob: b, pos: offset, end: offset + length}
}

type blobReader struct {
	ctx      context.Context
	store    store.Store
	blob     store.InputBlob
	pos, end int64
	part     []byte // the rest of the current part, up to end
}

func (r *blobReader) Read(p []byte) (int, error) {
	if len(r.part) == 0 {
		if r.pos >= r.end {
			return 0, io.EOF
		}
		seq := r.pos / r.blob.PartSize
		var data []byte
		err := r.store.InReadTx(r.ctx, func(tx store.Tx) (err error) {
			data, err = tx.InputBlobPartGet(r.ctx, r.blob.SHA256, seq)
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("reading blob %s: %w", r.blob.SHA256, err)
		}
		from := r.pos - seq*r.blob.PartSize
		if from > int64(len(data)) {
			return 0, fmt.Errorf("reading blob %s: part %d is short", r.blob.SHA256, seq)
		}
		r.part = data[from:min(int64(len(data)), from+r.end-r.pos)]
		if len(r.part) == 0 {
			return 0, fmt.Errorf("reading blob %s: part %d is short", r.blob.SHA256, seq)
		}
	}
	n := copy(p, r.part)
	r.part = r.part[n:]
	r.pos += int64(n)
	return n, nil
}

// cutChunks cuts a project's blob into unit ranges as spec asks, reading
// it a part at a time. A blob the project did not upload is not found.
func (s *Service) cutChunks(ctx context.Context, projectID int64, spec *workunits.ChunkSpec) ([]workunits.InputRef, error) {
	if spec == nil {
		return nil, nil
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	var b store.InputBlob
	if err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		b, err = tx.ProjectBlobGet(ctx, projectID, spec.Blob)
		return err
	}); err != nil {
		return nil, fmt.Errorf("chunks: %w", err)
	}
	var refs []workunits.InputRef
	err := workunits.CutChunks(s.blobReader(ctx, b, 0, b.Size), *spec, func(r workunits.Range) error {
		refs = append(refs, workunits.InputRef{Blob: b.SHA256, Offset: r.Offset, Length: r.Length, SHA256: r.SHA256})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cutting blob %s into chunks: %w", b.SHA256, err)
	}
	if len(refs) == 0 {
		return nil, workunits.Errorf(workunits.EINVALID, "chunks: blob %s is empty, so the job would have no units", b.SHA256)
	}
	return refs, nil
}

// insertUnits creates a job's units from inline inputs or blob ranges.
func insertUnits(ctx context.Context, tx store.Tx, projectID, jobID int64, inputs [][]byte, refs []workunits.InputRef) ([]workunits.Unit, error) {
	if len(refs) > 0 {
		// Again in this transaction: the blob may have gone since it was
		// cut. Locking it keeps a retirement from releasing it until the
		// units that read it are committed.
		if _, err := tx.InputBlobLock(ctx, refs[0].Blob); err != nil {
			return nil, err
		}
		if _, err := tx.ProjectBlobGet(ctx, projectID, refs[0].Blob); err != nil {
			return nil, err
		}
		return tx.UnitInsertRefs(ctx, jobID, refs)
	}
	return tx.UnitInsertMany(ctx, jobID, inputs)
}

// withInputRefs adds their input refs to results of units cut from blobs.
func withInputRefs(ctx context.Context, tx store.Tx, jobID int64, afterSeq int, results []store.UnitResult) error {
	if len(results) == 0 {
		return nil
	}
	refs, err := tx.JobInputRefList(ctx, jobID, afterSeq, results[len(results)-1].Seq)
	if err != nil {
		return err
	}
	for i := range results {
		if r, ok := refs[results[i].Seq]; ok {
			results[i].InputRef = &r
		}
	}
	return nil
}
