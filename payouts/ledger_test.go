package payouts

import (
	"errors"
	"math"
	"testing"
)

func TestTransactionValidate(t *testing.T) {
	tests := []struct {
		name    string
		tx      Transaction
		wantErr bool
	}{
		{"fund balances", Fund(1, 500, "r1"), false},
		{"reserve balances", Reserve(7, 2, 3, 10), false},
		{"no key", Transaction{Entries: []Entry{{"a", 1}, {"b", -1}}}, true},
		{"one entry", Transaction{Key: "k", Entries: []Entry{{"a", 0}}}, true},
		{"zero amount", Transaction{Key: "k", Entries: []Entry{{"a", 0}, {"b", 0}}}, true},
		{"unbalanced", Transaction{Key: "k", Entries: []Entry{{"a", 5}, {"b", -4}}}, true},
		{"same account twice", Transaction{Key: "k", Entries: []Entry{{"a", 5}, {"a", -5}}}, true},
		{"overflow", Transaction{Key: "k", Entries: []Entry{{"a", math.MaxInt64}, {"b", 1}, {"c", math.MinInt64}}}, true},
		{"three-way split", Transaction{Key: "k", Entries: []Entry{{"a", -10}, {"b", 7}, {"c", 3}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.tx.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
	if err := (Transaction{Key: "k", Entries: []Entry{{"a", 5}, {"b", -4}}}).Validate(); !errors.Is(err, ErrUnbalanced) {
		t.Errorf("unbalanced error = %v, want ErrUnbalanced", err)
	}
}

func TestEscrowFor(t *testing.T) {
	if got, err := EscrowFor(200, 6, 1500); err != nil || got != 1_800_000 {
		t.Errorf("EscrowFor = %d, %v", got, err)
	}
	if _, err := EscrowFor(100_000, 50, math.MaxInt64/1000); err == nil {
		t.Error("overflow not caught")
	}
}

func TestMayGoNegative(t *testing.T) {
	if !ExternalFunding.MayGoNegative() || ProjectBudget(1).MayGoNegative() || ContributorAvailable(1).MayGoNegative() {
		t.Error("only external accounts may go negative")
	}
	for a, want := range map[Account]bool{ContributorAvailable(4): true, ContributorPending(4): false, ContributorInflight(4): false,
		PlatformFees: false, ProjectBudget(4): false, JobEscrow(4): false, ExternalFunding: false, "contributor:available": false} {
		if got := a.MayOwe(); got != want {
			t.Errorf("%s.MayOwe() = %v, want %v", a, got, want)
		}
	}
}

func TestFormatMicros(t *testing.T) {
	for in, want := range map[int64]string{0: "0.000000", 1_500_000: "1.500000", -25: "-0.000025", math.MinInt64: "-9223372036854.775808"} {
		if got := FormatMicros(in); got != want {
			t.Errorf("FormatMicros(%d) = %q, want %q", in, got, want)
		}
	}
}
