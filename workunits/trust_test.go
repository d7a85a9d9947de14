package workunits

import (
	"testing"
	"time"
)

func TestHostTrust(t *testing.T) {
	trusted := HostTrust{ConsecutiveValid: TrustThreshold, ValidTotal: 12}
	tests := []struct {
		name string
		got  HostTrust
		want HostTrust
	}{
		{"a checked valid result earns trust", HostTrust{}.OnValid(true, t0),
			HostTrust{ConsecutiveValid: 1, ValidTotal: 1, LastVerifiedAt: t0}},
		{"a result accepted alone earns none", HostTrust{ConsecutiveValid: 3, ValidTotal: 3}.OnValid(false, t0),
			HostTrust{ConsecutiveValid: 3, ValidTotal: 4}},
		{"an invalid result starts again", HostTrust{ConsecutiveValid: 9, ValidTotal: 9}.OnInvalid(),
			HostTrust{ValidTotal: 9, InvalidTotal: 1}},
		{"a trusted host found invalid failed a spot check", trusted.OnInvalid(),
			HostTrust{ValidTotal: 12, InvalidTotal: 1, SpotCheckFailures: 1}},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}
}

func TestReplicateProbability(t *testing.T) {
	tests := []struct {
		cv   int
		want float64
	}{
		{0, 1}, {9, 1}, {10, 0.1}, {16, 1.0 / 16}, {20, 0.05}, {1000, MinSpotCheck},
	}
	for _, tt := range tests {
		if got := ReplicateProbability(tt.cv); got != tt.want {
			t.Errorf("ReplicateProbability(%d) = %v, want %v", tt.cv, got, tt.want)
		}
	}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		cv    int
		r     float64
		alone bool
	}{
		{0, 0.999, false},
		{9, 0.999, false},
		{10, 0.05, false}, // replicate with probability 1/10
		{10, 0.1, true},
		{10, 0.5, true},
		{1000, 0.04, false}, // the spot-check floor
		{1000, 0.05, true},
	}
	for _, tt := range tests {
		if got := Decide(tt.cv, tt.r); got != tt.alone {
			t.Errorf("Decide(%d, %v) = %v, want %v", tt.cv, tt.r, got, tt.alone)
		}
	}
}

func TestHostQuota(t *testing.T) {
	day := Day(t0)
	tomorrow := t0.Add(24 * time.Hour)
	tests := []struct {
		name string
		got  HostQuota
		want HostQuota
	}{
		{"leases count on today", HostQuota{}.Leased(3, t0),
			HostQuota{LeasedToday: 3, QuotaDay: day}},
		{"a new UTC day starts afresh", HostQuota{LeasedToday: 9, QuotaDay: day}.Leased(2, tomorrow),
			HostQuota{LeasedToday: 2, QuotaDay: Day(tomorrow)}},
		{"invalid halves the quota", HostQuota{}.OnInvalid(t0),
			HostQuota{DailyQuota: DefaultDailyQuota / 2, InvalidStreak: 1}},
		{"the quota never falls below one", HostQuota{DailyQuota: 1, InvalidStreak: 1}.OnInvalid(t0),
			HostQuota{DailyQuota: 1, InvalidStreak: 2}},
		{"a third invalid in a row blocks", HostQuota{DailyQuota: 40, InvalidStreak: 2}.OnInvalid(t0),
			HostQuota{DailyQuota: 20, InvalidStreak: 3, BlockedAt: t0, BlockedReason: "3 invalid results in a row"}},
		{"valid doubles the quota and ends the streak", HostQuota{DailyQuota: 40, InvalidStreak: 2}.OnValid(),
			HostQuota{DailyQuota: 80}},
		{"valid doubles only up to the default", HostQuota{DailyQuota: DefaultDailyQuota - 1}.OnValid(),
			HostQuota{DailyQuota: DefaultDailyQuota}},
		{"unblock forgives the streak, not the quota",
			HostQuota{DailyQuota: 20, InvalidStreak: 3, BlockedAt: t0, BlockedReason: "x"}.Unblock(),
			HostQuota{DailyQuota: 20}},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, tt.got, tt.want)
		}
	}

	remaining := []struct {
		name string
		q    HostQuota
		now  time.Time
		want int
	}{
		{"fresh host", HostQuota{}, t0, DefaultDailyQuota},
		{"some leased", HostQuota{DailyQuota: 10, LeasedToday: 4, QuotaDay: day}, t0, 6},
		{"used up", HostQuota{DailyQuota: 10, LeasedToday: 12, QuotaDay: day}, t0, 0},
		{"used up yesterday", HostQuota{DailyQuota: 10, LeasedToday: 10, QuotaDay: day}, tomorrow, 10},
		{"blocked", HostQuota{BlockedAt: t0}, t0, 0},
	}
	for _, tt := range remaining {
		if got := tt.q.Remaining(tt.now); got != tt.want {
			t.Errorf("%s: Remaining = %d, want %d", tt.name, got, tt.want)
		}
	}
}

func TestAdvanceAdaptive(t *testing.T) {
	policy := Policy{MinQuorum: 2, TargetReplicas: 2, MaxErrorReplicas: 2, MaxTotalReplicas: 5, Deadline: time.Minute, Adaptive: true}
	open := Unit{ID: 1, State: UnitOpen}

	// A trusted host's result stands alone.
	plan := Advance(open, []Task{ok(1, "a")}, Rules{Policy: policy, AcceptAlone: 1}, t0)
	if plan.Unit.State != UnitDone || plan.Unit.CanonicalTaskID != 1 || plan.NewTasks != 0 {
		t.Fatalf("accepted alone: got unit %+v, %d new tasks", plan.Unit, plan.NewTasks)
	}
	if len(plan.NewlyValid) != 1 || !plan.NewlyValid[0].OnTrust || plan.NewlyValid[0].ValidateState != ValidateValid {
		t.Errorf("accepted alone: newly valid %+v, want task 1 valid on trust", plan.NewlyValid)
	}

	// Otherwise it is replicated up to the quorum, and not on trust.
	plan = Advance(open, []Task{ok(1, "a")}, Rules{Policy: policy}, t0)
	if plan.Unit.State != UnitOpen || plan.NewTasks != 1 {
		t.Errorf("not trusted: got unit %+v, %d new tasks; want open with 1", plan.Unit, plan.NewTasks)
	}
	plan = Advance(open, []Task{ok(1, "a"), ok(2, "a")}, Rules{Policy: policy}, t0)
	for _, tk := range plan.NewlyValid {
		if tk.OnTrust {
			t.Errorf("checked task %d is flagged on trust", tk.ID)
		}
	}

	// A failed task is replaced by one replica, not the target.
	if plan := Advance(open, []Task{errored(1)}, Rules{Policy: policy}, t0); plan.NewTasks != 1 {
		t.Errorf("adaptive unit after an error: %d new tasks, want 1", plan.NewTasks)
	}
	// A failed task cannot be accepted alone.
	if plan := Advance(open, []Task{errored(1)}, Rules{Policy: policy, AcceptAlone: 1}, t0); plan.Unit.State != UnitOpen {
		t.Errorf("a failed task was accepted alone: %+v", plan.Unit)
	}
	// Nor can a task of a unit already done.
	done := Unit{ID: 1, State: UnitDone, CanonicalTaskID: 1}
	plan = Advance(done, []Task{task(1, TaskOver, OutcomeSuccess, ValidateValid, "a"), ok(2, "b")}, Rules{Policy: policy, AcceptAlone: 2}, t0)
	if len(plan.NewlyInvalid) != 1 || plan.NewlyInvalid[0].OnTrust {
		t.Errorf("a late result was accepted alone: %+v", plan)
	}
}
