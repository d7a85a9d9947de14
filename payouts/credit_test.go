package payouts

import (
	"math"
	"testing"
	"time"
)

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func TestOpsPerCredit(t *testing.T) {
	// A day of a 1 GFLOPS machine is 200 credits.
	if got := 86400 * 1e9 / OpsPerCredit; got != 200 {
		t.Fatalf("a GFLOPS-day is %v credits, want 200", got)
	}
}

func TestClaimedCredit(t *testing.T) {
	const est = int64(4.32e11) // one credit
	tests := []struct {
		name string
		cpu  time.Duration
		ops  float64
		est  int64
		want float64
	}{
		{"no benchmark: the estimate", 10 * time.Second, 0, est, 1},
		{"benchmark times cpu", 216 * time.Second, 1e9, est, 0.5},
		{"benchmark at the estimate", 432 * time.Second, 1e9, est, 1},
		{"capped at twice the estimate", time.Hour, 1e12, est, 2},
		{"inflated benchmark capped", time.Second, MaxOpsPerSecond, est, 2},
		{"zero cpu", 0, 1e9, est, 0},
		{"negative cpu never negative", -time.Second, 1e9, est, 0},
		{"negative benchmark ignored", 10 * time.Second, -5, est, 1},
		{"zero estimate grants nothing", time.Hour, 1e9, 0, 0},
		{"NaN benchmark: the estimate", time.Hour, math.NaN(), est, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ClaimedCredit(tt.cpu, tt.ops, tt.est)
			if !near(got, tt.want) || got < 0 {
				t.Fatalf("ClaimedCredit(%v, %v, %d) = %v, want %v", tt.cpu, tt.ops, tt.est, got, tt.want)
			}
		})
	}
}

func TestGrantedCredit(t *testing.T) {
	tests := []struct {
		name   string
		claims []float64
		want   float64
	}{
		{"none", nil, 0},
		{"one", []float64{3}, 3},
		{"minimum of the quorum", []float64{2, 0.5, 1}, 0.5},
		{"an inflated claim cannot raise it", []float64{1, 1e9}, 1},
		{"negative is zero", []float64{-1, 2}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := GrantedCredit(tt.claims); got != tt.want {
				t.Fatalf("GrantedCredit(%v) = %v, want %v", tt.claims, got, tt.want)
			}
		})
	}
}

func TestRAC(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"decay: halves in a half-life", RACDecay(100, t0, t0.Add(RACHalfLife)), 50},
		{"decay: quarter in two", RACDecay(100, t0, t0.Add(2*RACHalfLife)), 25},
		{"decay: none at once", RACDecay(100, t0, t0), 100},
		{"decay: clock behind leaves it", RACDecay(100, t0, t0.Add(-day)), 100},
		{"decay: zero stays zero", RACDecay(0, t0, t0.Add(day)), 0},
		{"add: first grant", RACAdd(0, time.Time{}, 10, t0), 10 * math.Ln2 / 7},
		{"add: decays then adds", RACAdd(100, t0, 7, t0.Add(RACHalfLife)), 50 + math.Ln2},
		{"add: negative credit adds nothing", RACAdd(100, t0, -5, t0), 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !near(tt.got, tt.want) {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

// A steady rate of credit converges to that rate: RAC is credit per day.
func TestRACConvergesToRate(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	rac := 0.0
	for i := 0; i < 24*365; i++ { // 240 credits a day, 10 an hour, for a year
		now := at.Add(time.Hour)
		rac, at = RACAdd(rac, at, 10, now), now
	}
	if math.Abs(rac-240) > 240*0.01 {
		t.Fatalf("RAC after a year of 240 credits a day is %v, want about 240", rac)
	}
}
