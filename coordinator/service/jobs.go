package service

import (
	"context"
	"fmt"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// JobRequest is a job as a researcher submits it, with its unit inputs
// already expanded by a splitter.
type JobRequest struct {
	App          string
	Version      int // 0: the latest
	Inputs       [][]byte
	Policy       workunits.Policy
	RewardMicros int64
	Priority     int // within the project: higher is leased first
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
	policy := req.Policy.WithDefaults()
	if err := policy.Validate(); err != nil {
		return JobStatus{}, err
	}
	if req.RewardMicros < 0 || req.RewardMicros > MaxRewardMicros {
		return JobStatus{}, workunits.Errorf(workunits.EINVALID, "reward_micros must be between 0 and %d", MaxRewardMicros)
	}
	if len(req.Inputs) == 0 {
		return JobStatus{}, workunits.Errorf(workunits.EINVALID, "the job has no units")
	}
	if err := workunits.ValidatePriority(req.Priority); err != nil {
		return JobStatus{}, err
	}
	escrow, err := payouts.EscrowFor(len(req.Inputs), policy.MaxTotalReplicas, req.RewardMicros)
	if err != nil {
		return JobStatus{}, workunits.Errorf(workunits.EINVALID, "reward: %v", err)
	}
	now := s.now()
	var job workunits.Job
	err = s.store.InTx(ctx, func(tx store.Tx) error {
		version, err := tx.AppVersionGet(ctx, projectID, req.App, req.Version)
		if err != nil {
			return err
		}
		state := workunits.JobActive
		if escrow > 0 {
			state = workunits.JobWaiting // until fundWaitingJobs below
		}
		job, err = tx.JobInsert(ctx, workunits.Job{ProjectID: projectID, AppVersionID: version.ID, Policy: policy,
			RewardMicros: req.RewardMicros, State: state, UnitCount: len(req.Inputs), CreatedAt: now, Priority: req.Priority})
		if err != nil {
			return err
		}
		units, err := tx.UnitInsertMany(ctx, job.ID, req.Inputs)
		if err != nil {
			return err
		}
		replicas := make([]int64, 0, len(units)*policy.TargetReplicas)
		for _, u := range units {
			for range policy.TargetReplicas {
				replicas = append(replicas, u.ID)
			}
		}
		if err := tx.TaskInsertMany(ctx, replicas, now); err != nil {
			return err
		}
		if escrow == 0 {
			return nil
		}
		if err := s.fundWaitingJobs(ctx, tx, []int64{projectID}, now); err != nil {
			return err
		}
		job, err = tx.JobGet(ctx, job.ID)
		return err
	})
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
		st.Escrow, err = tx.LedgerBalance(ctx, payouts.JobEscrow(jobID))
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
		out, err = tx.JobResultList(ctx, jobID, afterSeq, limit)
		return err
	})
	return out, err
}
