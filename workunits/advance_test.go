package workunits

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// taskSpec is a compact way to write a replica in a table: its state,
// outcome, validate state and output hash.
func task(id int64, st TaskState, out Outcome, vs ValidateState, hash string) Task {
	t := Task{ID: id, UnitID: 1, State: st, Outcome: out, ValidateState: vs, OutputSHA256: hash}
	if st != TaskUnsent {
		t.HostID = id + 100
		t.DeadlineAt = t0.Add(time.Minute)
	}
	return t
}

func unsent(id int64) Task       { return task(id, TaskUnsent, OutcomeNone, ValidatePending, "") }
func running(id int64) Task      { return task(id, TaskInProgress, OutcomeNone, ValidatePending, "") }
func ok(id int64, h string) Task { return task(id, TaskOver, OutcomeSuccess, ValidatePending, h) }
func errored(id int64) Task      { return task(id, TaskOver, OutcomeError, ValidatePending, "") }

func TestAdvance(t *testing.T) {
	policy := Policy{MinQuorum: 2, TargetReplicas: 2, MaxErrorReplicas: 2, MaxTotalReplicas: 5, Deadline: time.Minute}
	open := Unit{ID: 1, State: UnitOpen}
	overdue := running(2)
	overdue.DeadlineAt = t0.Add(-time.Second)

	tests := []struct {
		name          string
		unit          Unit
		tasks         []Task
		wantState     UnitState
		wantCanonical int64
		wantNew       int
		wantValidate  map[int64]ValidateState // after the plan, for tasks listed
		wantOutcome   map[int64]Outcome
		wantPaid      []int64
		wantInvalid   []int64
		wantUnchecked []int64
		wantErr       string
	}{
		{
			name:      "new unit gets its target replicas",
			unit:      open,
			wantState: UnitOpen, wantNew: 2,
		},
		{
			name:      "replicas outstanding: nothing to do",
			unit:      open,
			tasks:     []Task{running(1), unsent(2)},
			wantState: UnitOpen, wantNew: 0,
		},
		{
			name:      "one output is not a quorum",
			unit:      open,
			tasks:     []Task{ok(1, "a"), running(2)},
			wantState: UnitOpen, wantNew: 0,
			wantValidate: map[int64]ValidateState{1: ValidatePending},
		},
		{
			name:      "two agreeing outputs make a quorum",
			unit:      open,
			tasks:     []Task{ok(1, "a"), ok(2, "a")},
			wantState: UnitDone, wantCanonical: 1,
			wantValidate: map[int64]ValidateState{1: ValidateValid, 2: ValidateValid},
			wantPaid:     []int64{1, 2},
		},
		{
			name:      "two disagreeing outputs are inconclusive and a third replica is issued",
			unit:      open,
			tasks:     []Task{ok(1, "a"), ok(2, "b")},
			wantState: UnitOpen, wantNew: 1,
			wantValidate: map[int64]ValidateState{1: ValidateInconclusive, 2: ValidateInconclusive},
		},
		{
			name: "a third output breaks the tie; the odd one out is invalid and unpaid",
			unit: open,
			tasks: []Task{
				task(1, TaskOver, OutcomeSuccess, ValidateInconclusive, "a"),
				task(2, TaskOver, OutcomeSuccess, ValidateInconclusive, "b"),
				ok(3, "b"),
			},
			wantState: UnitDone, wantCanonical: 2,
			wantValidate: map[int64]ValidateState{1: ValidateInvalid, 2: ValidateValid, 3: ValidateValid},
			wantPaid:     []int64{2, 3},
			wantInvalid:  []int64{1},
		},
		{
			name:      "an error is replaced",
			unit:      open,
			tasks:     []Task{ok(1, "a"), errored(2)},
			wantState: UnitOpen, wantNew: 1,
		},
		{
			name:      "a missed deadline becomes no reply and is replaced",
			unit:      open,
			tasks:     []Task{ok(1, "a"), overdue},
			wantState: UnitOpen, wantNew: 1,
			wantOutcome: map[int64]Outcome{2: OutcomeNoReply},
		},
		{
			name:      "too many errors fail the unit and withdraw unsent replicas",
			unit:      open,
			tasks:     []Task{errored(1), errored(2), errored(3), unsent(4)},
			wantState: UnitFailed, wantErr: "too many failed replicas",
			wantOutcome: map[int64]Outcome{4: OutcomeNotNeeded},
		},
		{
			name: "no quorum within max total replicas fails the unit",
			unit: open,
			tasks: []Task{
				task(1, TaskOver, OutcomeSuccess, ValidateInconclusive, "a"),
				task(2, TaskOver, OutcomeSuccess, ValidateInconclusive, "b"),
				task(3, TaskOver, OutcomeSuccess, ValidateInconclusive, "c"),
				task(4, TaskOver, OutcomeSuccess, ValidateInconclusive, "d"),
				ok(5, "e"),
			},
			wantState: UnitFailed, wantErr: "no quorum after 5 replicas",
			wantUnchecked: []int64{1, 2, 3, 4, 5},
		},
		{
			name: "a late output on a done unit is checked against the canonical one",
			unit: Unit{ID: 1, State: UnitDone, CanonicalTaskID: 1},
			tasks: []Task{
				task(1, TaskOver, OutcomeSuccess, ValidateValid, "a"),
				task(2, TaskOver, OutcomeSuccess, ValidateValid, "a"),
				ok(3, "a"),
				ok(4, "z"),
			},
			wantState: UnitDone, wantCanonical: 1,
			wantValidate: map[int64]ValidateState{3: ValidateValid, 4: ValidateInvalid},
			wantPaid:     []int64{3},
			wantInvalid:  []int64{4},
		},
		{
			name:      "a done unit withdraws its unsent replicas",
			unit:      open,
			tasks:     []Task{ok(1, "a"), ok(2, "a"), unsent(3)},
			wantState: UnitDone, wantCanonical: 1,
			wantOutcome: map[int64]Outcome{3: OutcomeNotNeeded},
			wantPaid:    []int64{1, 2},
		},
		{
			name:      "a failed unit's outputs are never checked",
			unit:      open,
			tasks:     []Task{ok(1, "a"), errored(2), errored(3), errored(4)},
			wantState: UnitFailed, wantErr: "too many failed replicas",
			wantValidate:  map[int64]ValidateState{1: ValidateUnchecked},
			wantUnchecked: []int64{1},
		},
		{
			name:      "an output that disagrees with the quorum is newly invalid",
			unit:      open,
			tasks:     []Task{ok(1, "a"), ok(2, "b"), ok(3, "a")},
			wantState: UnitDone, wantCanonical: 1,
			wantPaid:    []int64{1, 3},
			wantInvalid: []int64{2},
		},
		{
			name:      "already valid tasks are not paid again",
			unit:      Unit{ID: 1, State: UnitDone, CanonicalTaskID: 1},
			tasks:     []Task{task(1, TaskOver, OutcomeSuccess, ValidateValid, "a"), task(2, TaskOver, OutcomeSuccess, ValidateValid, "a")},
			wantState: UnitDone, wantCanonical: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := append([]Task(nil), tt.tasks...)
			plan := Advance(tt.unit, tt.tasks, Rules{Policy: policy}, t0)
			if plan.Unit.State != tt.wantState {
				t.Errorf("unit state = %s, want %s", plan.Unit.State, tt.wantState)
			}
			if plan.Unit.CanonicalTaskID != tt.wantCanonical {
				t.Errorf("canonical = %d, want %d", plan.Unit.CanonicalTaskID, tt.wantCanonical)
			}
			if plan.NewTasks != tt.wantNew {
				t.Errorf("new tasks = %d, want %d", plan.NewTasks, tt.wantNew)
			}
			if !strings.Contains(plan.Unit.Error, tt.wantErr) || (tt.wantErr == "" && plan.Unit.Error != "") {
				t.Errorf("unit error = %q, want it to contain %q", plan.Unit.Error, tt.wantErr)
			}
			after := map[int64]Task{}
			for _, tk := range tt.tasks {
				after[tk.ID] = tk
			}
			for _, tk := range plan.Changed {
				after[tk.ID] = tk
			}
			for id, want := range tt.wantValidate {
				if got := after[id].ValidateState; got != want {
					t.Errorf("task %d validate state = %s, want %s", id, got, want)
				}
			}
			for id, want := range tt.wantOutcome {
				if got := after[id].Outcome; got != want {
					t.Errorf("task %d outcome = %s, want %s", id, got, want)
				}
			}
			var paid []int64
			for _, tk := range plan.NewlyValid {
				paid = append(paid, tk.ID)
			}
			if !equalIDs(paid, tt.wantPaid) {
				t.Errorf("newly valid = %v, want %v", paid, tt.wantPaid)
			}
			if got := ids(plan.NewlyInvalid); !equalIDs(got, tt.wantInvalid) {
				t.Errorf("newly invalid = %v, want %v", got, tt.wantInvalid)
			}
			if got := ids(plan.NewlyUnchecked); !equalIDs(got, tt.wantUnchecked) {
				t.Errorf("newly unchecked = %v, want %v", got, tt.wantUnchecked)
			}
			for i := range before {
				if before[i] != tt.tasks[i] {
					t.Fatalf("Advance modified its input task %d", before[i].ID)
				}
			}
		})
	}
}

func ids(tasks []Task) []int64 {
	var out []int64
	for _, t := range tasks {
		out = append(out, t.ID)
	}
	return out
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestApplyReport(t *testing.T) {
	inProgress := running(1) // host 101, deadline t0+1m
	noReply := task(1, TaskOver, OutcomeNoReply, ValidatePending, "")
	noReply.HostID = 101
	reported := ok(1, "a")

	tests := []struct {
		name     string
		task     Task
		host     int64
		now      time.Time
		report   Report
		wantCode Code
	}{
		{"success", inProgress, 101, t0, Report{TaskID: 1, Outcome: OutcomeSuccess, Output: []byte("x")}, ""},
		{"error outcome", inProgress, 101, t0, Report{TaskID: 1, Outcome: OutcomeError, Stderr: "boom"}, ""},
		{"another host's task", inProgress, 999, t0, Report{TaskID: 1, Outcome: OutcomeSuccess}, ENOTFOUND},
		{"second report", reported, 101, t0, Report{TaskID: 1, Outcome: OutcomeSuccess}, ECONFLICT},
		{"after no reply", noReply, 101, t0, Report{TaskID: 1, Outcome: OutcomeSuccess}, ECONFLICT},
		{"past the deadline", inProgress, 101, t0.Add(time.Hour), Report{TaskID: 1, Outcome: OutcomeSuccess}, ECONFLICT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ApplyReport(tt.task, tt.host, tt.report, tt.now)
			if code := ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error code = %q (%v), want %q", code, err, tt.wantCode)
			}
			if tt.wantCode != "" {
				if got != tt.task {
					t.Errorf("a refused report changed the task")
				}
				return
			}
			if got.State != TaskOver || got.Outcome != tt.report.Outcome || !got.ReceivedAt.Equal(tt.now) {
				t.Errorf("task after report = %+v", got)
			}
			wantHash := ""
			if tt.report.Outcome == OutcomeSuccess {
				wantHash = Hash(tt.report.Output)
			}
			if got.OutputSHA256 != wantHash {
				t.Errorf("output hash = %q, want %q", got.OutputSHA256, wantHash)
			}
		})
	}
}

func TestReportValidate(t *testing.T) {
	tests := []struct {
		name   string
		report Report
		want   Code
	}{
		{"ok", Report{TaskID: 1, Outcome: OutcomeSuccess, Output: []byte("{}")}, ""},
		{"no task id", Report{Outcome: OutcomeSuccess}, EINVALID},
		{"unknown outcome", Report{TaskID: 1, Outcome: "maybe"}, EINVALID},
		{"no reply is the server's to say", Report{TaskID: 1, Outcome: OutcomeNoReply}, EINVALID},
		{"error with output", Report{TaskID: 1, Outcome: OutcomeError, Output: []byte("x")}, EINVALID},
		{"output too large", Report{TaskID: 1, Outcome: OutcomeSuccess, Output: make([]byte, MaxOutputSize+1)}, ETOOLARGE},
		{"negative cpu", Report{TaskID: 1, Outcome: OutcomeSuccess, CPUTime: -1}, EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.report.Validate()); got != tt.want {
				t.Errorf("Validate() code = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStderrKeepsValidUTF8Tail(t *testing.T) {
	long := strings.Repeat("é", MaxStderrKept) // 2 bytes each: the cut lands mid-rune half the time
	got, err := ApplyReport(running(1), 101, Report{TaskID: 1, Outcome: OutcomeError, Stderr: long + "x"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Stderr) > MaxStderrKept || !strings.HasSuffix(got.Stderr, "éx") {
		t.Errorf("stderr kept %d bytes ending %q", len(got.Stderr), got.Stderr[len(got.Stderr)-3:])
	}
	if !utf8Valid(got.Stderr) {
		t.Errorf("stderr is not valid UTF-8")
	}
}

func TestAdvanceNumeric(t *testing.T) {
	policy := Policy{MinQuorum: 2, TargetReplicas: 2, MaxErrorReplicas: 1, MaxTotalReplicas: 5, Deadline: time.Minute}
	numeric := Validator{Kind: ValidatorNumeric, AbsTol: 1e-9, RelTol: 1e-6}
	open := Unit{ID: 1, State: UnitOpen}
	// Hashes differ for every task: a numeric validator must not use them.
	okOut := func(id int64) Task { return ok(id, fmt.Sprintf("hash-%d", id)) }
	withState := func(tk Task, vs ValidateState) Task { tk.ValidateState = vs; return tk }

	tests := []struct {
		name          string
		unit          Unit
		tasks         []Task
		outputs       map[int64]string
		quorum        int // 0: policy's
		wantState     UnitState
		wantCanonical int64
		wantNew       int
		wantValidate  map[int64]ValidateState
		wantOutcome   map[int64]Outcome
		wantValid     []int64
		wantInvalid   []int64
		wantUnchecked []int64
	}{
		{
			name:      "outputs within tolerance make a quorum",
			unit:      open,
			tasks:     []Task{okOut(1), okOut(2)},
			outputs:   map[int64]string{1: `{"energy": -1.2345678}`, 2: `{"energy":-1.2345679}`},
			wantState: UnitDone, wantCanonical: 1,
			wantValid: []int64{1, 2},
		},
		{
			name:      "reordered keys and spacing agree",
			unit:      open,
			tasks:     []Task{okOut(1), okOut(2)},
			outputs:   map[int64]string{1: `{"a":1,"b":[0,"x"]}`, 2: "{ \"b\": [-0, \"x\"], \"a\": 1.0 }\n"},
			wantState: UnitDone, wantCanonical: 1,
			wantValid: []int64{1, 2},
		},
		{
			name:      "outputs beyond tolerance are inconclusive and a third replica is issued",
			unit:      open,
			tasks:     []Task{okOut(1), okOut(2)},
			outputs:   map[int64]string{1: `[1.0]`, 2: `[1.1]`},
			wantState: UnitOpen, wantNew: 1,
			wantValidate: map[int64]ValidateState{1: ValidateInconclusive, 2: ValidateInconclusive},
		},
		{
			name: "a third output close to one of two settles it; the other is invalid",
			unit: open,
			tasks: []Task{
				withState(okOut(1), ValidateInconclusive),
				withState(okOut(2), ValidateInconclusive),
				okOut(3),
			},
			outputs:   map[int64]string{1: `[1.0]`, 2: `[1.1]`, 3: `[1.1000001]`},
			wantState: UnitDone, wantCanonical: 2,
			wantValidate: map[int64]ValidateState{1: ValidateInvalid, 2: ValidateValid, 3: ValidateValid},
			wantValid:    []int64{2, 3},
			wantInvalid:  []int64{1},
		},
		{
			// 1.0 and 1.0000015 are 1.5e-6 apart, beyond rel_tol 1e-6; the
			// middle one is within tolerance of both.
			name:      "the output agreeing with the most is canonical; others are judged against it alone",
			unit:      open,
			tasks:     []Task{okOut(1), okOut(2), okOut(3)},
			outputs:   map[int64]string{1: `1.0`, 2: `1.00000075`, 3: `1.0000015`},
			wantState: UnitDone, wantCanonical: 2,
			wantValid: []int64{1, 2, 3},
		},
		{
			name:      "ties go to the earliest output",
			unit:      open,
			tasks:     []Task{okOut(1), okOut(2), okOut(3), okOut(4)},
			outputs:   map[int64]string{1: `5`, 2: `7`, 3: `7.000000001`, 4: `5.000000001`},
			wantState: UnitDone, wantCanonical: 1,
			wantValid:   []int64{1, 4},
			wantInvalid: []int64{2, 3},
		},
		{
			name:      "an output that is not JSON fails its task and is replaced",
			unit:      open,
			tasks:     []Task{okOut(1), okOut(2)},
			outputs:   map[int64]string{1: `{"x": 1}`, 2: `x = 1`},
			wantState: UnitOpen, wantNew: 1,
			wantOutcome:  map[int64]Outcome{2: OutcomeValidateError},
			wantValidate: map[int64]ValidateState{1: ValidatePending, 2: ValidateInvalid},
			wantInvalid:  []int64{2},
		},
		{
			name:          "an output that is not JSON counts against max_error_replicas",
			unit:          open,
			tasks:         []Task{okOut(1), errored(2), okOut(3)},
			outputs:       map[int64]string{1: `1`, 3: `NaN`},
			wantState:     UnitFailed,
			wantOutcome:   map[int64]Outcome{3: OutcomeValidateError},
			wantInvalid:   []int64{3},
			wantUnchecked: []int64{1},
		},
		{
			name:      "an empty output is not JSON",
			unit:      open,
			tasks:     []Task{okOut(1), okOut(2)},
			outputs:   map[int64]string{1: ``, 2: `1`},
			wantState: UnitOpen, wantNew: 1,
			wantOutcome: map[int64]Outcome{1: OutcomeValidateError},
			wantInvalid: []int64{1},
		},
		{
			name: "a late output on a done unit is checked against the canonical one within tolerance",
			unit: Unit{ID: 1, State: UnitDone, CanonicalTaskID: 1},
			tasks: []Task{
				withState(okOut(1), ValidateValid),
				withState(okOut(2), ValidateValid),
				okOut(3),
				okOut(4),
				okOut(5),
			},
			outputs:   map[int64]string{1: `[3.14159265]`, 3: `[3.14159266]`, 4: `[3.2]`, 5: `[3.14`},
			wantState: UnitDone, wantCanonical: 1,
			wantValidate: map[int64]ValidateState{3: ValidateValid, 4: ValidateInvalid, 5: ValidateInvalid},
			wantOutcome:  map[int64]Outcome{5: OutcomeValidateError},
			wantValid:    []int64{3},
			wantInvalid:  []int64{4, 5},
		},
		{
			name:      "quorum 1: one readable output is enough",
			unit:      open,
			tasks:     []Task{okOut(1)},
			outputs:   map[int64]string{1: `{}`},
			quorum:    1,
			wantState: UnitDone, wantCanonical: 1,
			wantValid: []int64{1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := policy
			if tt.quorum != 0 {
				p.MinQuorum, p.TargetReplicas = tt.quorum, tt.quorum
			}
			outputs := map[int64][]byte{}
			for id, o := range tt.outputs {
				outputs[id] = []byte(o)
			}
			plan := Advance(tt.unit, tt.tasks, Rules{Policy: p, Validator: numeric, Outputs: outputs}, t0)
			if plan.Unit.State != tt.wantState {
				t.Errorf("unit state = %s (%s), want %s", plan.Unit.State, plan.Unit.Error, tt.wantState)
			}
			if plan.Unit.CanonicalTaskID != tt.wantCanonical {
				t.Errorf("canonical = %d, want %d", plan.Unit.CanonicalTaskID, tt.wantCanonical)
			}
			if plan.NewTasks != tt.wantNew {
				t.Errorf("new tasks = %d, want %d", plan.NewTasks, tt.wantNew)
			}
			after := map[int64]Task{}
			for _, tk := range tt.tasks {
				after[tk.ID] = tk
			}
			for _, tk := range plan.Changed {
				after[tk.ID] = tk
			}
			for id, want := range tt.wantValidate {
				if got := after[id].ValidateState; got != want {
					t.Errorf("task %d validate state = %s, want %s", id, got, want)
				}
			}
			for id, want := range tt.wantOutcome {
				if got := after[id].Outcome; got != want {
					t.Errorf("task %d outcome = %s, want %s", id, got, want)
				}
			}
			if got := ids(plan.NewlyValid); !equalIDs(got, tt.wantValid) {
				t.Errorf("newly valid = %v, want %v", got, tt.wantValid)
			}
			if got := ids(plan.NewlyInvalid); !equalIDs(got, tt.wantInvalid) {
				t.Errorf("newly invalid = %v, want %v", got, tt.wantInvalid)
			}
			if got := ids(plan.NewlyUnchecked); !equalIDs(got, tt.wantUnchecked) {
				t.Errorf("newly unchecked = %v, want %v", got, tt.wantUnchecked)
			}
		})
	}
}

// A bitwise validator (the zero one) never needs outputs: it compares hashes.
func TestAdvanceBitwiseIgnoresOutputs(t *testing.T) {
	policy := Policy{MinQuorum: 2, TargetReplicas: 2, MaxErrorReplicas: 2, MaxTotalReplicas: 5, Deadline: time.Minute}
	plan := Advance(Unit{ID: 1, State: UnitOpen}, []Task{ok(1, "a"), ok(2, "a")},
		Rules{Policy: policy, Validator: Validator{Kind: ValidatorBitwise}, Outputs: map[int64][]byte{1: []byte("not json")}}, t0)
	if plan.Unit.State != UnitDone || !equalIDs(ids(plan.NewlyValid), []int64{1, 2}) {
		t.Errorf("bitwise plan = %+v, want the unit done with both tasks valid", plan)
	}
}
