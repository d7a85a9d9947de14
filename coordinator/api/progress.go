package api

import (
	"encoding/json"
	"time"
)

// TaskError is a task whose app failed, with the end of its stderr.
type TaskError struct {
	TaskID     int64     `json:"task_id"`
	Seq        int       `json:"seq"` // the unit it ran
	HostID     int64     `json:"host_id,omitempty"`
	ReceivedAt time.Time `json:"received_at"`
	Stderr     string    `json:"stderr"` // the last 2 KiB
}

// JobPage is one page of a project's jobs, newest first. NextCursor, when
// set, fetches the next page (pass it as ?cursor=).
type JobPage struct {
	Jobs       []Job  `json:"jobs"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// UnitSummary is one unit of a job as listed: no output, no tasks.
type UnitSummary struct {
	Seq   int             `json:"seq"`
	State string          `json:"state"`
	Error string          `json:"error,omitempty"`
	Input json.RawMessage `json:"input"`
	// InputRef, for a unit cut from a blob, is the range its input is.
	InputRef *InputRef `json:"input_ref,omitempty"`
}

// UnitPage is one page of a job's units in seq order. NextCursor, when
// set, fetches the next page (pass it as ?cursor=).
type UnitPage struct {
	Units      []UnitSummary `json:"units"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// Unit is a unit with its canonical output (base64 in JSON, absent until
// validated) and every task issued for it, in id order.
type Unit struct {
	Seq   int             `json:"seq"`
	State string          `json:"state"`
	Error string          `json:"error,omitempty"`
	Input json.RawMessage `json:"input"`
	// InputRef, for a unit cut from a blob, is the range its input is.
	InputRef *InputRef  `json:"input_ref,omitempty"`
	Output   []byte     `json:"output,omitempty"`
	Tasks    []UnitTask `json:"tasks"`
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
	Deadline      *time.Time `json:"deadline,omitempty"`
	ReceivedAt    *time.Time `json:"received_at,omitempty"`
	OutputSHA256  string     `json:"output_sha256,omitempty"`
	Stderr        string     `json:"stderr,omitempty"` // the last 2 KiB
}
