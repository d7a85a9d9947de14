package workunits

import "testing"

var (
	allTaskStates     = []TaskState{TaskUnsent, TaskInProgress, TaskOver}
	allOutcomes       = []Outcome{OutcomeNone, OutcomeSuccess, OutcomeError, OutcomeNoReply, OutcomeNotNeeded, OutcomeValidateError}
	allValidateStates = []ValidateState{ValidatePending, ValidateValid, ValidateInvalid, ValidateInconclusive, ValidateUnchecked}
)

func TestStatusOf(t *testing.T) {
	for _, c := range []struct {
		st   TaskState
		out  Outcome
		vs   ValidateState
		want TaskStatus
	}{
		{TaskUnsent, OutcomeNone, ValidatePending, ""},
		{TaskInProgress, OutcomeNone, ValidatePending, StatusInProgress},
		{TaskOver, OutcomeSuccess, ValidatePending, StatusPendingValidation},
		{TaskOver, OutcomeSuccess, ValidateInconclusive, StatusPendingValidation},
		{TaskOver, OutcomeSuccess, ValidateValid, StatusValid},
		{TaskOver, OutcomeSuccess, ValidateInvalid, StatusInvalid},
		{TaskOver, OutcomeSuccess, ValidateUnchecked, StatusUnchecked},
		{TaskOver, OutcomeError, ValidatePending, StatusError},
		{TaskOver, OutcomeNoReply, ValidatePending, StatusError},
		{TaskOver, OutcomeValidateError, ValidateInvalid, StatusError},
		{TaskOver, OutcomeNotNeeded, ValidatePending, ""},
	} {
		if got := StatusOf(c.st, c.out, c.vs); got != c.want {
			t.Errorf("StatusOf(%s, %q, %s) = %q, want %q", c.st, c.out, c.vs, got, c.want)
		}
	}
}

// TestStatusMatch checks that each status's match selects exactly the
// combinations StatusOf folds into it, so a store filtering by the match
// agrees with what the dashboard shows.
func TestStatusMatch(t *testing.T) {
	for _, s := range TaskStatuses {
		m, ok := s.Match()
		if !ok {
			t.Fatalf("%s.Match() is not ok", s)
		}
		for _, st := range allTaskStates {
			for _, out := range allOutcomes {
				for _, vs := range allValidateStates {
					if got, want := m.Matches(st, out, vs), StatusOf(st, out, vs) == s; got != want {
						t.Errorf("%s.Match().Matches(%s, %q, %s) = %v, want %v", s, st, out, vs, got, want)
					}
				}
			}
		}
	}
	if _, ok := TaskStatus("done").Match(); ok {
		t.Error(`TaskStatus("done").Match() is ok, want not`)
	}
}
