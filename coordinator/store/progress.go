package store

import (
	"context"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// ProgressTx reads what a researcher follows a job by: its units page by
// page, its throughput and its latest failures, and a project's jobs. Every
// method reads a bounded number of rows through an index, so polling a job
// of a million units costs what polling one of ten does.
type ProgressTx interface {
	// JobList returns up to p.Limit jobs of a project, newest (highest id)
	// first, with ID < p.BeforeID when it is set, only those in p.State
	// when it is set.
	JobList(ctx context.Context, p JobListParams) ([]workunits.Job, error)
	// UnitList returns up to p.Limit units of a job with Seq > p.AfterSeq,
	// in Seq order, only those in p.State when it is set. Inputs are
	// included; canonical outputs are not.
	UnitList(ctx context.Context, p UnitListParams) ([]workunits.Unit, error)
	// UnitGetBySeq returns the unit of a job at seq.
	UnitGetBySeq(ctx context.Context, jobID int64, seq int) (workunits.Unit, error)
	// TaskOutputGet returns the output a task reported (empty if none).
	TaskOutputGet(ctx context.Context, taskID int64) ([]byte, error)
	// UnitCountFinishedSince counts a job's units that finished at or
	// after since.
	UnitCountFinishedSince(ctx context.Context, jobID int64, since time.Time) (int, error)
	// TaskErrorList returns up to limit tasks of a job whose outcome is
	// workunits.OutcomeError, latest report first (ties: higher id first).
	TaskErrorList(ctx context.Context, jobID int64, limit int) ([]TaskError, error)
}

type JobListParams struct {
	ProjectID int64
	State     workunits.JobState // "": any
	BeforeID  int64              // 0: from the newest
	Limit     int
}

type UnitListParams struct {
	JobID    int64
	State    workunits.UnitState // "": any
	AfterSeq int                 // -1: from the first
	Limit    int
}

// TaskError is a task whose app failed, with the unit it ran and what it
// printed to stderr (the store keeps the last workunits.MaxStderrKept bytes).
type TaskError struct {
	TaskID     int64
	UnitSeq    int
	HostID     int64
	ReceivedAt time.Time
	Stderr     string
}
