package workunits

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// HostRunState is what a host's worker was doing when it last said.
type HostRunState string

const (
	HostRunning   HostRunState = "running"   // computing tasks
	HostSuspended HostRunState = "suspended" // not allowed to compute now (Reason says why)
	HostIdle      HostRunState = "idle"      // allowed to compute, with no task to run
)

// HostState is the state a worker reports at each contact, for the
// contributor's dashboard.
type HostState struct {
	State HostRunState
	// Reason is the worker's code for why it runs or waits, e.g.
	// "user_active" or "on_battery"; Detail says it for people.
	Reason       string
	Detail       string
	TasksRunning int
	At           time.Time // when the coordinator heard it
}

// Limits on what a worker reports.
const (
	MaxStateReasonLen = 64
	MaxStateDetailLen = 500
	MaxTasksRunning   = 4096
)

// Validate reports everything wrong with a reported state at once, as an
// EINVALID error.
func (s HostState) Validate() error {
	var errs []error
	switch s.State {
	case HostRunning, HostSuspended, HostIdle:
	default:
		errs = append(errs, fmt.Errorf("state must be running, suspended or idle, got %q", s.State))
	}
	if len(s.Reason) > MaxStateReasonLen || strings.TrimFunc(s.Reason, isCodeRune) != "" {
		errs = append(errs, fmt.Errorf("reason must be at most %d lowercase letters, digits and underscores, got %q",
			MaxStateReasonLen, truncate(s.Reason, MaxStateReasonLen)))
	}
	if len(s.Detail) > MaxStateDetailLen || !utf8.ValidString(s.Detail) {
		errs = append(errs, fmt.Errorf("detail must be text of at most %d bytes", MaxStateDetailLen))
	}
	if s.TasksRunning < 0 || s.TasksRunning > MaxTasksRunning {
		errs = append(errs, fmt.Errorf("tasks_running must be between 0 and %d, got %d", MaxTasksRunning, s.TasksRunning))
	}
	if err := errors.Join(errs...); err != nil {
		return Errorf(EINVALID, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return nil
}

func isCodeRune(r rune) bool { return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
