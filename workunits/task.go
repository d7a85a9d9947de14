package workunits

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// TaskState is the server state of one replica, after BOINC's result
// server_state.
type TaskState string

const (
	TaskUnsent     TaskState = "unsent"      // created, waiting for a host
	TaskInProgress TaskState = "in_progress" // leased to a host until its deadline
	TaskOver       TaskState = "over"        // finished one way or another; see Outcome
)

// Outcome says how a task that is over ended.
type Outcome string

const (
	OutcomeNone          Outcome = ""               // not over yet
	OutcomeSuccess       Outcome = "success"        // the host returned an output
	OutcomeError         Outcome = "error"          // the host reported that the app failed
	OutcomeNoReply       Outcome = "no_reply"       // the deadline passed without a report
	OutcomeNotNeeded     Outcome = "not_needed"     // withdrawn before it was sent
	OutcomeValidateError Outcome = "validate_error" // the output could not be checked
)

// Failed reports whether the outcome counts against max_error_replicas.
func (o Outcome) Failed() bool {
	return o == OutcomeError || o == OutcomeNoReply || o == OutcomeValidateError
}

// ValidateState says what validation made of a successful task's output.
type ValidateState string

const (
	ValidatePending      ValidateState = "pending"      // not compared yet
	ValidateValid        ValidateState = "valid"        // agrees with the canonical output
	ValidateInvalid      ValidateState = "invalid"      // disagrees with the canonical output
	ValidateInconclusive ValidateState = "inconclusive" // a quorum was reached but did not agree
	ValidateUnchecked    ValidateState = "unchecked"    // the unit ended (failed, cancelled) before it was compared
)

// Task is one replica of a unit, sent to one host.
type Task struct {
	ID            int64
	UnitID        int64
	HostID        int64 // 0 while unsent
	State         TaskState
	Outcome       Outcome
	ValidateState ValidateState
	CreatedAt     time.Time
	SentAt        time.Time
	DeadlineAt    time.Time
	ReceivedAt    time.Time
	OutputSHA256  string // lowercase hex of the output, set on success
	CPUTime       time.Duration
	Stderr        string
	OnTrust       bool // accepted alone on its host's trust, not checked against another host
}

// Report is what a host says about a task it ran.
type Report struct {
	TaskID  int64
	Outcome Outcome // OutcomeSuccess or OutcomeError
	Output  []byte
	CPUTime time.Duration
	Stderr  string
}

// Limits on what a host may send back.
const (
	MaxOutputSize = 1 << 20
	MaxStderrKept = 4 << 10
)

// Validate reports the first thing wrong with a report, before any task is
// looked up.
func (r Report) Validate() error {
	switch {
	case r.TaskID <= 0:
		return Errorf(EINVALID, "task_id must be a positive integer")
	case r.Outcome != OutcomeSuccess && r.Outcome != OutcomeError:
		return Errorf(EINVALID, "task %d: outcome must be %q or %q, got %q", r.TaskID, OutcomeSuccess, OutcomeError, r.Outcome)
	case r.Outcome == OutcomeError && len(r.Output) > 0:
		return Errorf(EINVALID, "task %d: an error report carries no output", r.TaskID)
	case len(r.Output) > MaxOutputSize:
		return Errorf(ETOOLARGE, "task %d: output is %d bytes, the limit is %d", r.TaskID, len(r.Output), MaxOutputSize)
	case r.CPUTime < 0:
		return Errorf(EINVALID, "task %d: cpu_seconds must not be negative", r.TaskID)
	}
	return nil
}

// ApplyReport returns the task as it is after hostID's report, or an error
// saying why the report cannot be taken. It does not validate the output
// against other replicas; Advance does that.
func ApplyReport(t Task, hostID int64, r Report, now time.Time) (Task, error) {
	if t.HostID != hostID {
		// Not found rather than forbidden: a host learns nothing about
		// tasks that are not its own.
		return t, Errorf(ENOTFOUND, "task %d is not assigned to this host", r.TaskID)
	}
	switch {
	case t.State == TaskOver && t.Outcome == OutcomeNoReply:
		return t, Errorf(ECONFLICT, "task %d missed its deadline and was given to another host", t.ID)
	case t.State == TaskOver:
		return t, Errorf(ECONFLICT, "task %d was already reported", t.ID)
	case t.State != TaskInProgress:
		return t, Errorf(ECONFLICT, "task %d is not in progress", t.ID)
	case !now.Before(t.DeadlineAt):
		return t, Errorf(ECONFLICT, "task %d missed its deadline (%s)", t.ID, t.DeadlineAt.UTC().Format(time.RFC3339))
	}
	t.State = TaskOver
	t.Outcome = r.Outcome
	t.ReceivedAt = now
	t.CPUTime = r.CPUTime
	t.Stderr = tail(r.Stderr, MaxStderrKept)
	if r.Outcome == OutcomeSuccess {
		t.OutputSHA256 = Hash(r.Output)
	}
	return t, nil
}

// Hash is the lowercase hex SHA-256 that identifies content in Nightshift:
// outputs are compared bitwise by it, and modules are named by it.
func Hash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// tail keeps the last n bytes of s as valid UTF-8: the end of stderr is
// where an app says why it failed, and stores reject broken text.
func tail(s string, n int) string {
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return strings.ToValidUTF8(s, "")
}
