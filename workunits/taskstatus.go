package workunits

// TaskStatus is a task's state as its contributor sees it on the
// dashboard: one word folded from the server state, the outcome and the
// validate state.
type TaskStatus string

const (
	StatusInProgress        TaskStatus = "in_progress"        // leased, not reported yet
	StatusPendingValidation TaskStatus = "pending_validation" // reported, waiting for its replicas to be compared
	StatusValid             TaskStatus = "valid"              // agreed with the canonical output: paid
	StatusInvalid           TaskStatus = "invalid"            // disagreed with the canonical output
	StatusError             TaskStatus = "error"              // the app failed, the deadline passed, or the output could not be checked
	// StatusUnchecked is a reported output never compared: its unit ended
	// (failed, or its job was cancelled) first. It earns nothing, but it
	// is not the host's fault, so it is neither invalid nor an error.
	StatusUnchecked TaskStatus = "unchecked"
)

// TaskStatuses are the statuses a contributor's tasks can have, in the
// order a task goes through them.
var TaskStatuses = []TaskStatus{StatusInProgress, StatusPendingValidation, StatusValid, StatusInvalid, StatusError, StatusUnchecked}

// StatusOf folds a task's state, outcome and validate state into its
// status; "" for a task no host holds (unsent, or withdrawn unsent).
func StatusOf(st TaskState, out Outcome, vs ValidateState) TaskStatus {
	switch {
	case st == TaskInProgress:
		return StatusInProgress
	case st != TaskOver:
		return ""
	case out.Failed():
		return StatusError
	case out != OutcomeSuccess:
		return ""
	}
	switch vs {
	case ValidateValid:
		return StatusValid
	case ValidateInvalid:
		return StatusInvalid
	case ValidateUnchecked:
		return StatusUnchecked
	}
	return StatusPendingValidation
}

// TaskMatch selects tasks by state, outcome and validate state: a task
// matches when each non-empty list holds its value. Stores filter with it,
// so the folding of StatusOf lives here once.
type TaskMatch struct {
	States         []TaskState
	Outcomes       []Outcome
	ValidateStates []ValidateState
}

// Match returns what selects exactly the tasks of status s (StatusOf(...)
// == s); ok is false for a status that does not exist.
func (s TaskStatus) Match() (m TaskMatch, ok bool) {
	success := []Outcome{OutcomeSuccess}
	switch s {
	case StatusInProgress:
		return TaskMatch{States: []TaskState{TaskInProgress}}, true
	case StatusPendingValidation:
		return TaskMatch{States: []TaskState{TaskOver}, Outcomes: success,
			ValidateStates: []ValidateState{ValidatePending, ValidateInconclusive}}, true
	case StatusValid:
		return TaskMatch{States: []TaskState{TaskOver}, Outcomes: success, ValidateStates: []ValidateState{ValidateValid}}, true
	case StatusInvalid:
		return TaskMatch{States: []TaskState{TaskOver}, Outcomes: success, ValidateStates: []ValidateState{ValidateInvalid}}, true
	case StatusUnchecked:
		return TaskMatch{States: []TaskState{TaskOver}, Outcomes: success, ValidateStates: []ValidateState{ValidateUnchecked}}, true
	case StatusError:
		return TaskMatch{States: []TaskState{TaskOver}, Outcomes: []Outcome{OutcomeError, OutcomeNoReply, OutcomeValidateError}}, true
	}
	return TaskMatch{}, false
}

// Matches reports whether a task with these values is selected by m.
func (m TaskMatch) Matches(st TaskState, out Outcome, vs ValidateState) bool {
	return anyOrHas(m.States, st) && anyOrHas(m.Outcomes, out) && anyOrHas(m.ValidateStates, vs)
}

func anyOrHas[S comparable](list []S, v S) bool {
	if len(list) == 0 {
		return true
	}
	for _, e := range list {
		if e == v {
			return true
		}
	}
	return false
}
