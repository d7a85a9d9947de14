package api

import (
	"encoding/json"
	"time"
)

// Throughput is how fast a job's units finish (done or failed), in units
// per hour.
type Throughput struct {
	// LastHourUnitsPerHour is measured over the last hour, or over the
	// job's age while it is younger than an hour.
	LastHourUnitsPerHour float64 `json:"last_hour_units_per_hour"`
	// LifetimeUnitsPerHour is measured from creation to now, or to when the
	// job finished.
	LifetimeUnitsPerHour float64 `json:"lifetime_units_per_hour"`
}

// JobErrors counts the job's tasks whose app failed and shows the latest.
type JobErrors struct {
	Count  int         `json:"count"`
	Recent []TaskError `json:"recent"` // latest first
}

// TaskError is a failing task with the end of its stderr.
type TaskError struct {
	TaskID     int64     `json:"task_id"`
	UnitSeq    int       `json:"unit_seq"`
	HostID     int64     `json:"host_id,omitempty"`
	At         time.Time `json:"at"`
	StderrTail string    `json:"stderr_tail"`
}

// JobList is one page of a project's jobs, newest first. NextCursor, when
// set, fetches the next page.
type JobList struct {
	Jobs       []Job  `json:"jobs"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Unit is one unit of a job as listed: no output, no tasks.
type Unit struct {
	Seq             int             `json:"seq"`
	State           string          `json:"state"`
	Error           string          `json:"error,omitempty"`
	Input           json.RawMessage `json:"input"`
	CanonicalTaskID int64           `json:"canonical_task_id,omitempty"`
	FinishedAt      *time.Time      `json:"finished_at,omitempty"`
}

// UnitList is one page of a job's units in seq order. NextCursor, when
// set, fetches the next page (pass it as ?after=).
type UnitList struct {
	Units      []Unit `json:"units"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// UnitDetail is a unit with its canonical output (base64 in JSON, absent
// until validated) and every task issued for it.
type UnitDetail struct {
	Unit
	Output []byte     `json:"output,omitempty"`
	Tasks  []UnitTask `json:"tasks"`
}

// UnitTask is one replica of a unit and how it ended.
type UnitTask struct {
	ID            int64      `json:"id"`
	State         string     `json:"state"`
	Outcome       string     `json:"outcome,omitempty"`
	ValidateState string     `json:"validate_state"`
	HostID        int64      `json:"host_id,omitempty"`
	CPUSeconds    float64    `json:"cpu_seconds"`
	SentAt        *time.Time `json:"sent_at,omitempty"`
	ReceivedAt    *time.Time `json:"received_at,omitempty"`
	StderrTail    string     `json:"stderr_tail,omitempty"`
}
