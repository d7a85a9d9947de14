package service

import (
	"context"
	"errors"
	"fmt"
	"unicode"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// MaxIdempotencyKey bounds an Idempotency-Key.
const MaxIdempotencyKey = 255

// errKeyTaken rolls back a submission that lost a race for its key.
var errKeyTaken = errors.New("idempotency key taken by a concurrent submission")

func checkIdempotencyKey(key string) error {
	if len(key) > MaxIdempotencyKey {
		return workunits.Errorf(workunits.EINVALID, "Idempotency-Key is over %d bytes", MaxIdempotencyKey)
	}
	for _, r := range key {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
			return workunits.Errorf(workunits.EINVALID, "Idempotency-Key must be printable ASCII")
		}
	}
	return nil
}

// replay finds the job a submission with req's idempotency key already
// made. found is false if the key is unused; a key used for a different
// request is an ECONFLICT error.
func (s *Service) replay(ctx context.Context, projectID int64, req JobRequest) (st JobStatus, found bool, err error) {
	if req.IdempotencyKey == "" {
		return st, false, nil
	}
	if err := checkIdempotencyKey(req.IdempotencyKey); err != nil {
		return st, false, err
	}
	err = s.store.InReadTx(ctx, func(tx store.Tx) error {
		rec, err := tx.IdempotencyGet(ctx, projectID, req.IdempotencyKey)
		if workunits.ErrorCode(err) == workunits.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if rec.RequestHash != req.RequestHash {
			return workunits.Errorf(workunits.ECONFLICT,
				"Idempotency-Key %q was used for a different request (job %d); use a new key for a new job", req.IdempotencyKey, rec.JobID)
		}
		found = true
		if st.Job, err = tx.JobGet(ctx, rec.JobID); err != nil {
			return err
		}
		st.Escrow, err = tx.LedgerBalance(ctx, payouts.JobEscrow(rec.JobID))
		return err
	})
	if err != nil {
		return JobStatus{}, false, fmt.Errorf("looking up Idempotency-Key: %w", err)
	}
	st.Replayed = found
	return st, found, nil
}

// rememberKey records the job under the submission's idempotency key, in
// the transaction that creates it. If a concurrent submission took the key
// first, it returns errKeyTaken, and the caller rolls back and replays.
func rememberKey(ctx context.Context, tx store.Tx, projectID int64, req JobRequest, job workunits.Job) error {
	if req.IdempotencyKey == "" {
		return nil
	}
	ok, err := tx.IdempotencyInsert(ctx, store.IdempotencyRecord{ProjectID: projectID, Key: req.IdempotencyKey,
		RequestHash: req.RequestHash, JobID: job.ID, CreatedAt: job.CreatedAt})
	if err != nil {
		return err
	}
	if !ok {
		return errKeyTaken
	}
	return nil
}

// checkBudgetCap refuses a job whose worst case costs more than its cap
// (0: no cap).
func checkBudgetCap(capMicros, escrow int64, units, maxReplicas int, reward int64) error {
	switch {
	case capMicros < 0:
		return workunits.Errorf(workunits.EINVALID, "budget_cap_micros must not be negative, got %d", capMicros)
	case capMicros > 0 && escrow > capMicros:
		return workunits.Errorf(workunits.EINVALID,
			"the job may cost up to %d micros (%d units × %d replicas at most × %d), over its budget_cap_micros of %d",
			escrow, units, maxReplicas, reward, capMicros)
	}
	return nil
}
