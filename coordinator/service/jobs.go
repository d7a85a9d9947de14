package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// JobRequest is a job as a researcher submits it, with its unit inputs
// already expanded by a splitter.
type JobRequest struct {
	App          string
	Version      int // 0: the latest not deprecated
	Inputs       [][]byte
	Policy       workunits.Policy
	RewardMicros int64
	Webhook      *Webhook // told when the job ends; nil for none
	// Chunks, instead of Inputs, cuts the units from an input blob.
	Chunks          *workunits.ChunkSpec
	BudgetCapMicros int64  // the most the job may cost; 0: no cap
	IdempotencyKey  string // a repeat with this key returns the first job
	RequestHash     string // tells a repeat from a different request under one key
	Priority        int    // within the project: higher is leased first
}

// MaxRewardMicros bounds the reward per task.
const MaxRewardMicros = 1_000 * 1_000_000

// SubmitJob creates a job, its units and their first replicas, and sets
// aside from the project's budget the most the job can pay, so that every
// validated task is paid. A job the budget cannot cover yet, or that
// waiting jobs ahead of it (by priority, then age) still hold back, is
// created waiting: it is funded and leased when money comes in
// (fundWaitingJobs). The status it returns has no progress yet.
func (s *Service) SubmitJob(ctx context.Context, projectID int64, req JobRequest) (JobStatus, error) {
	if st, found, err := s.replay(ctx, projectID, req); found || err != nil {
		return st, err
	}
	policy := req.Policy.WithDefaults()
	if err := policy.Validate(); err != nil {
		return JobStatus{}, err
	}
	if req.RewardMicros < 0 || req.RewardMicros > MaxRewardMicros {
		return JobStatus{}, workunits.Errorf(workunits.EINVALID, "reward_micros must be between 0 and %d", MaxRewardMicros)
	}
	refs, err := s.cutChunks(ctx, projectID, req.Chunks)
	if err != nil {
		return JobStatus{}, err
	}
	nUnits := len(req.Inputs) + len(refs)
	if nUnits == 0 {
		return JobStatus{}, workunits.Errorf(workunits.EINVALID, "the job has no units")
	}
	if req.Webhook != nil {
		if err := req.Webhook.Validate(); err != nil {
			return JobStatus{}, err
		}
	}
	if err := workunits.ValidatePriority(req.Priority); err != nil {
		return JobStatus{}, err
	}
	escrow, err := payouts.EscrowFor(nUnits, policy.MaxTotalReplicas, req.RewardMicros)
	if err != nil {
		return JobStatus{}, workunits.Errorf(workunits.EINVALID, "reward: %v", err)
	}
	if err := checkBudgetCap(req.BudgetCapMicros, escrow, nUnits, policy.MaxTotalReplicas, req.RewardMicros); err != nil {
		return JobStatus{}, err
	}
	now := s.now()
	var job workunits.Job
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		version, err := tx.AppVersionGet(ctx, projectID, req.App, req.Version)
		if err != nil {
			return err
		}
		if !version.DeprecatedAt.IsZero() {
			return workunits.Errorf(workunits.ECONFLICT, "version %d of app %q is deprecated: name a current version, or 0 for the latest", version.Version, req.App)
		}
		state := workunits.JobActive
		if escrow > 0 {
			state = workunits.JobWaiting // until fundWaitingJobs below
		}
		job, err = tx.JobInsert(ctx, workunits.Job{ProjectID: projectID, AppVersionID: version.ID, Policy: policy,
			RewardMicros: req.RewardMicros, State: state, UnitCount: nUnits, CreatedAt: now, Priority: req.Priority,
			Validator: version.Validator})
		if err != nil {
			return err
		}
		units, err := insertUnits(ctx, tx, projectID, job.ID, req.Inputs, refs)
		if err != nil {
			return err
		}
		perUnit := policy.TargetReplicas
		if policy.Adaptive {
			perUnit = 1 // more only if its host is not trusted: advanceUnits
		}
		replicas := make([]int64, 0, len(units)*perUnit)
		for _, u := range units {
			for range perUnit {
				replicas = append(replicas, u.ID)
			}
		}
		if err := tx.TaskInsertMany(ctx, replicas, now); err != nil {
			return err
		}
		if req.Webhook != nil {
			if err := tx.WebhookSet(ctx, job.ID, req.Webhook.URL, req.Webhook.Secret); err != nil {
				return err
			}
		}
		if escrow > 0 {
			if err := s.fundWaitingJobs(ctx, tx, []int64{projectID}, now); err != nil {
				return err
			}
			if job, err = tx.JobGet(ctx, job.ID); err != nil {
				return err
			}
		}
		return rememberKey(ctx, tx, projectID, req, job)
	})
	if errors.Is(err, errKeyTaken) {
		st, _, err := s.replay(ctx, projectID, req)
		return st, err
	}
	if err != nil {
		return JobStatus{}, fmt.Errorf("submitting job: %w", err)
	}
	s.log.Info("job submitted", "project", projectID, "job", job.ID, "units", job.UnitCount, "app", req.App,
		"state", job.State, "priority", job.Priority)
	if job.State == workunits.JobWaiting {
		escrow = 0 // set aside when funded
	}
	return JobStatus{Job: job, Escrow: escrow}, nil
}

// JobStatus is a job with its progress.
type JobStatus struct {
	Job      workunits.Job
	Progress store.JobProgress
	Escrow   int64 // reward still set aside
	// Lifecycle is when the job was retired and its webhook's delivery.
	Lifecycle store.JobLifecycle
	Replayed  bool // an earlier submission with the same Idempotency-Key made the job
	Stats     ProgressStats
}

// Job returns a project's job and its progress. Another project's job is
// reported as not found.
func (s *Service) Job(ctx context.Context, projectID, jobID int64) (JobStatus, error) {
	var st JobStatus
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		if st.Job, err = s.projectJob(ctx, tx, projectID, jobID); err != nil {
			return err
		}
		if st.Progress, err = tx.JobProgress(ctx, jobID); err != nil {
			return err
		}
		if st.Stats, err = s.progressStats(ctx, tx, st.Job, st.Progress); err != nil {
			return err
		}
		if st.Escrow, err = tx.LedgerBalance(ctx, payouts.JobEscrow(jobID)); err != nil {
			return err
		}
		st.Lifecycle, err = tx.JobLifecycleGet(ctx, jobID)
		return err
	})
	return st, err
}

func (s *Service) projectJob(ctx context.Context, tx store.Tx, projectID, jobID int64) (workunits.Job, error) {
	job, err := tx.JobGet(ctx, jobID)
	if err == nil && job.ProjectID != projectID {
		err = workunits.Errorf(workunits.ENOTFOUND, "job %d not found", jobID)
	}
	return job, err
}

// MaxResultPage bounds one page of results.
const MaxResultPage = 1000

// JobResults returns up to limit units of a project's job after afterSeq.
func (s *Service) JobResults(ctx context.Context, projectID, jobID int64, afterSeq, limit int) ([]store.UnitResult, error) {
	if limit <= 0 || limit > MaxResultPage {
		limit = MaxResultPage
	}
	var out []store.UnitResult
	err := s.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		if _, err = s.projectJob(ctx, tx, projectID, jobID); err != nil {
			return err
		}
		if err := notRetired(ctx, tx, jobID); err != nil {
			return err
		}
		if out, err = tx.JobResultList(ctx, jobID, afterSeq, limit); err != nil {
			return err
		}
		return withInputRefs(ctx, tx, jobID, afterSeq, out)
	})
	return out, err
}
