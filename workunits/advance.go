package workunits

import (
	"fmt"
	"time"
)

// Plan is what Advance decided for one unit: the unit and tasks as they
// must be stored, how many new replicas to create, and which tasks were
// judged just now: each is paid, voided or counted for trust exactly once,
// here.
type Plan struct {
	Unit           Unit
	Changed        []Task // tasks whose state, outcome or validate state changed
	NewTasks       int    // unsent replicas to create
	NewlyValid     []Task
	NewlyInvalid   []Task // disagreed with the canonical output
	NewlyUnchecked []Task // reported, but the unit ended before they could be checked
}

// Rules are what Advance needs to know about a unit besides its tasks:
// the job's redundancy policy and validator; unless the validator is
// bitwise (which compares hashes), the outputs of the tasks it must
// compare: every successful task not yet judged, and the canonical one;
// and whether a trusted host's result stands alone.
type Rules struct {
	Policy    Policy
	Validator Validator
	Outputs   map[int64][]byte // task id → output
	// AcceptAlone, if not 0, is a task whose host is trusted (see
	// trust.go): if it succeeded and the unit is open, it is accepted
	// alone as the canonical result, valid and OnTrust, whatever the quorum.
	AcceptAlone int64
}

// Advance moves a unit forward given all of its tasks: it expires tasks past
// their deadline, compares successful outputs with the job's validator,
// picks the canonical result once MinQuorum outputs agree, issues replacement replicas, and fails
// the unit when the policy's error or total limits are exceeded. It is the
// whole of BOINC's transitioner and bitwise validator for one unit, as a pure
// function; callers load the unit, call Advance, and store the Plan in one
// transaction.
func Advance(u Unit, tasks []Task, r Rules, now time.Time) Plan {
	p := r.Policy
	a := advancer{unit: u, tasks: make([]Task, len(tasks)), changed: map[int]bool{}, rules: r}
	copy(a.tasks, tasks)
	a.expire(now)
	a.acceptAlone(r.AcceptAlone)
	if r.Validator.Bitwise() {
		a.validate(p.MinQuorum)
	} else {
		a.validateEquivalent(p.MinQuorum)
	}
	plan := Plan{}
	if !a.unit.State.Terminal() {
		plan.NewTasks = a.replicate(p)
	}
	if a.unit.State.Terminal() {
		a.withdrawUnsent()
	}
	if a.unit.State == UnitFailed {
		a.markUnchecked()
	}
	if a.unit.State.Terminal() && !u.State.Terminal() {
		a.unit.FinishedAt = now
	}
	plan.Unit = a.unit
	for i, t := range a.tasks {
		if !a.changed[i] {
			continue
		}
		plan.Changed = append(plan.Changed, t)
		if t.ValidateState == tasks[i].ValidateState {
			continue
		}
		switch t.ValidateState {
		case ValidateValid:
			plan.NewlyValid = append(plan.NewlyValid, t)
		case ValidateInvalid:
			plan.NewlyInvalid = append(plan.NewlyInvalid, t)
		case ValidateUnchecked:
			plan.NewlyUnchecked = append(plan.NewlyUnchecked, t)
		}
	}
	return plan
}

type advancer struct {
	unit    Unit
	tasks   []Task
	changed map[int]bool
	rules   Rules
}

func (a *advancer) set(i int, t Task) {
	if t != a.tasks[i] {
		a.tasks[i] = t
		a.changed[i] = true
	}
}

func (a *advancer) expire(now time.Time) {
	for i, t := range a.tasks {
		if t.State == TaskInProgress && !now.Before(t.DeadlineAt) {
			t.State, t.Outcome = TaskOver, OutcomeNoReply
			a.set(i, t)
		}
	}
}

// candidate reports whether a task's output may still become canonical or
// be found valid.
func candidate(t Task) bool {
	return t.Outcome == OutcomeSuccess && t.ValidateState != ValidateInvalid && t.ValidateState != ValidateValid
}

// acceptAlone makes a trusted host's successful task the canonical result
// of an open unit on its own.
func (a *advancer) acceptAlone(taskID int64) {
	if taskID == 0 || a.unit.State != UnitOpen {
		return
	}
	for i, t := range a.tasks {
		if t.ID == taskID && candidate(t) {
			a.unit.State, a.unit.CanonicalTaskID, a.unit.Error = UnitDone, t.ID, ""
			t.OnTrust = true
			a.set(i, t)
			return
		}
	}
}

func (a *advancer) validate(quorum int) {
	if a.unit.State == UnitFailed {
		return
	}
	if a.unit.State == UnitDone {
		a.checkAgainstCanonical()
		return
	}
	// Group successful outputs by hash, keeping first-seen order so that
	// ties go to the group whose first member arrived first.
	var order []string
	groups := map[string][]int{}
	for i, t := range a.tasks {
		if !candidate(t) {
			continue
		}
		if _, ok := groups[t.OutputSHA256]; !ok {
			order = append(order, t.OutputSHA256)
		}
		groups[t.OutputSHA256] = append(groups[t.OutputSHA256], i)
	}
	best := ""
	candidates := 0
	for _, h := range order {
		candidates += len(groups[h])
		if len(groups[h]) >= quorum && (best == "" || len(groups[h]) > len(groups[best])) {
			best = h
		}
	}
	if best == "" {
		if candidates >= quorum {
			for _, idxs := range groups {
				for _, i := range idxs {
					t := a.tasks[i]
					t.ValidateState = ValidateInconclusive
					a.set(i, t)
				}
			}
		}
		return
	}
	a.unit.State = UnitDone
	a.unit.CanonicalTaskID = a.tasks[groups[best][0]].ID
	a.unit.Error = ""
	a.checkAgainstCanonical()
}

// checkAgainstCanonical marks every undecided successful task valid or
// invalid by comparing it with the canonical output.
func (a *advancer) checkAgainstCanonical() {
	canonical := ""
	for _, t := range a.tasks {
		if t.ID == a.unit.CanonicalTaskID {
			canonical = t.OutputSHA256
		}
	}
	for i, t := range a.tasks {
		if t.Outcome != OutcomeSuccess || t.ValidateState == ValidateValid || t.ValidateState == ValidateInvalid {
			continue
		}
		if t.OutputSHA256 == canonical {
			t.ValidateState = ValidateValid
		} else {
			t.ValidateState = ValidateInvalid
		}
		a.set(i, t)
	}
}

// validateEquivalent is validate for validators that compare outputs by
// content rather than hash. Outputs it cannot read fail their tasks
// (OutcomeValidateError, judged invalid). Agreement within a tolerance is
// not transitive, so outputs are not grouped: the canonical output is the
// one that agrees with the most candidates, itself included, if they are a
// quorum (ties to the earliest), and every other output is judged against
// it alone.
func (a *advancer) validateEquivalent(quorum int) {
	if a.unit.State == UnitFailed {
		return
	}
	parsed := map[int]any{}
	var order []int
	for i, t := range a.tasks {
		if !candidate(t) && (t.ID != a.unit.CanonicalTaskID || a.unit.State != UnitDone) {
			continue
		}
		v, err := parseOutput(a.rules.Outputs[t.ID])
		if err != nil && !candidate(t) {
			continue // the canonical output, unread: see checkEquivalent
		}
		if err != nil {
			t.Outcome, t.ValidateState = OutcomeValidateError, ValidateInvalid
			a.set(i, t)
			continue
		}
		parsed[i] = v
		if candidate(t) {
			order = append(order, i)
		}
	}
	if a.unit.State == UnitDone {
		a.checkEquivalent(parsed)
		return
	}
	best, bestCount := -1, 0
	for _, i := range order {
		n := 0
		for _, j := range order {
			if i == j || a.rules.Validator.same(parsed[i], parsed[j]) {
				n++
			}
		}
		if n > bestCount {
			best, bestCount = i, n
		}
	}
	if bestCount < quorum {
		if len(order) >= quorum {
			for _, i := range order {
				t := a.tasks[i]
				t.ValidateState = ValidateInconclusive
				a.set(i, t)
			}
		}
		return
	}
	a.unit.State = UnitDone
	a.unit.CanonicalTaskID = a.tasks[best].ID
	a.unit.Error = ""
	a.checkEquivalent(parsed)
}

// checkEquivalent is checkAgainstCanonical for validators that compare
// outputs by content; parsed holds the outputs of the candidates and the
// canonical task by index.
func (a *advancer) checkEquivalent(parsed map[int]any) {
	canonical := -1
	for i, t := range a.tasks {
		if t.ID == a.unit.CanonicalTaskID {
			canonical = i
		}
	}
	if _, ok := parsed[canonical]; !ok {
		// The canonical output was read when it was chosen, under the
		// same validator: this is a caller that did not load it.
		return
	}
	for i, t := range a.tasks {
		if !candidate(t) || i == canonical {
			if i == canonical && t.ValidateState != ValidateValid {
				t.ValidateState = ValidateValid
				a.set(i, t)
			}
			continue
		}
		if a.rules.Validator.same(parsed[i], parsed[canonical]) {
			t.ValidateState = ValidateValid
		} else {
			t.ValidateState = ValidateInvalid
		}
		a.set(i, t)
	}
}

// replicate returns how many new replicas the open unit needs, or fails it.
func (a *advancer) replicate(p Policy) int {
	var failed, outstanding, candidates, inconclusive int
	for _, t := range a.tasks {
		switch {
		case t.Outcome.Failed():
			failed++
		case t.State == TaskUnsent || t.State == TaskInProgress:
			outstanding++
		case candidate(t):
			candidates++
			if t.ValidateState == ValidateInconclusive {
				inconclusive++
			}
		}
	}
	if failed > p.MaxErrorReplicas {
		a.fail(fmt.Sprintf("too many failed replicas (%d, the limit is %d)", failed, p.MaxErrorReplicas))
		return 0
	}
	want := p.TargetReplicas
	if p.Adaptive && candidates == 0 {
		// One replica at a time until a result is in: a trusted host's
		// may stand alone.
		want = 1
	}
	if inconclusive > 0 {
		// Outputs disagree: one more opinion than we have may settle it.
		want = max(want, candidates+1)
	}
	missing := want - outstanding - candidates
	if missing <= 0 {
		return 0
	}
	issue := min(missing, p.MaxTotalReplicas-len(a.tasks))
	if issue <= 0 && outstanding == 0 {
		a.fail(fmt.Sprintf("no quorum after %d replicas (the limit)", len(a.tasks)))
		return 0
	}
	return max(issue, 0)
}

func (a *advancer) fail(reason string) {
	a.unit.State = UnitFailed
	a.unit.Error = reason
}

// markUnchecked ends the judging of a failed unit's successful outputs:
// nothing will ever be compared with them.
func (a *advancer) markUnchecked() {
	for i, t := range a.tasks {
		if candidate(t) {
			t.ValidateState = ValidateUnchecked
			a.set(i, t)
		}
	}
}

func (a *advancer) withdrawUnsent() {
	for i, t := range a.tasks {
		if t.State == TaskUnsent {
			t.State, t.Outcome = TaskOver, OutcomeNotNeeded
			a.set(i, t)
		}
	}
}
