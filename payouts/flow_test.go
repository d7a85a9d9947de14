package payouts

import (
	"math"
	"reflect"
	"testing"
)

func TestFlowTransactions(t *testing.T) {
	tests := []struct {
		name      string
		tx        Transaction
		key       string
		entries   map[Account]int64
		overdraft bool
	}{
		{"reserve", Reserve(7, 2, 3, 100), "reserve:task:7",
			map[Account]int64{JobEscrow(2): -100, ContributorPending(3): 100}, false},
		{"post without fee", Post(7, 3, 100, 0), "post:task:7",
			map[Account]int64{ContributorPending(3): -100, ContributorAvailable(3): 100}, false},
		{"post with fee", Post(7, 3, 100, 3), "post:task:7",
			map[Account]int64{ContributorPending(3): -100, ContributorAvailable(3): 97, PlatformFees: 3}, false},
		{"post of a fee of everything", Post(7, 3, 100, 100), "post:task:7",
			map[Account]int64{ContributorPending(3): -100, PlatformFees: 100}, false},
		{"void", Void(7, 2, 3, 100), "void:task:7",
			map[Account]int64{ContributorPending(3): -100, JobEscrow(2): 100}, false},
		{"hold", Hold(5, 3, 40), "payout:run:5:contributor:3",
			map[Account]int64{ContributorAvailable(3): -40, ContributorInflight(3): 40}, false},
		{"settle", Settle(5, 3, 40), "settle:run:5:contributor:3",
			map[Account]int64{ContributorInflight(3): -40, ExternalPayouts: 40}, false},
		{"return", Return(5, 3, 40), "return:run:5:contributor:3",
			map[Account]int64{ContributorInflight(3): -40, ContributorAvailable(3): 40}, false},
		{"clawback", Clawback(7, 3, 9, 100), "clawback:task:7",
			map[Account]int64{ContributorAvailable(3): -100, ProjectBudget(9): 100}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.tx.Validate(); err != nil {
				t.Fatalf("Validate() = %v", err)
			}
			if tt.tx.Key != tt.key {
				t.Errorf("key = %q, want %q", tt.tx.Key, tt.key)
			}
			if got := tt.tx.EntryMap(); !reflect.DeepEqual(got, tt.entries) {
				t.Errorf("entries = %v, want %v", got, tt.entries)
			}
			if tt.tx.Overdraft != tt.overdraft {
				t.Errorf("Overdraft = %v, want %v", tt.tx.Overdraft, tt.overdraft)
			}
		})
	}
}

// TestTaskKeysDependOnTheTaskAlone: a task is reserved, posted or voided
// at most once, whatever amounts a retry carries.
func TestTaskKeysDependOnTheTaskAlone(t *testing.T) {
	for _, f := range []func(task, n int64) Transaction{
		func(task, n int64) Transaction { return Reserve(task, n, n, n) },
		func(task, n int64) Transaction { return Post(task, n, n, 0) },
		func(task, n int64) Transaction { return Void(task, n, n, n) },
		func(task, n int64) Transaction { return Clawback(task, n, n, n) },
	} {
		if a, b := f(1, 10).Key, f(1, 99).Key; a != b {
			t.Errorf("keys %q and %q differ for one task", a, b)
		}
		if a, b := f(1, 10).Key, f(2, 10).Key; a == b {
			t.Errorf("two tasks share the key %q", a)
		}
	}
	if Post(1, 1, 1, 0).Key == Void(1, 1, 1, 1).Key || Reserve(1, 1, 1, 1).Key == Post(1, 1, 1, 0).Key {
		t.Error("a task's reserve, post and void share a key")
	}
}

func TestFeeFor(t *testing.T) {
	tests := []struct {
		amount int64
		bps    int
		want   int64
	}{
		{100, 0, 0},
		{100, 250, 2}, // 2.5 rounds down
		{1_000_000, 250, 25_000},
		{39, 250, 0},
		{40, 250, 1},
		{100, MaxFeeBPS, 100},
		{100, 20_000, 100}, // clamped
		{100, -5, 0},
		{-100, 250, 0},
		{math.MaxInt64, 250, math.MaxInt64/10_000*250 + math.MaxInt64%10_000*250/10_000},
		{math.MaxInt64, 9_999, math.MaxInt64 - math.MaxInt64/10_000 - 1},
	}
	for _, tt := range tests {
		if got := FeeFor(tt.amount, tt.bps); got != tt.want {
			t.Errorf("FeeFor(%d, %d) = %d, want %d", tt.amount, tt.bps, got, tt.want)
		}
	}
}
