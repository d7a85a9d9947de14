package speed

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/payouts"
)

func TestWhetstoneMeasuresAPlausibleSpeed(t *testing.T) {
	ops, err := Whetstone(context.Background(), 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// Any machine that runs Go does more than a million Whetstone
	// instructions a second, and the coordinator refuses figures above
	// payouts.MaxOpsPerSecond.
	if !(ops > 1e6 && ops <= payouts.MaxOpsPerSecond) {
		t.Fatalf("Whetstone = %g instructions/s, want between 1e6 and %g", ops, float64(payouts.MaxOpsPerSecond))
	}
}

func TestWhetstoneRefusesBadArguments(t *testing.T) {
	if _, err := Whetstone(context.Background(), 0); err == nil {
		t.Error("a zero duration was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Whetstone(ctx, time.Second); err == nil {
		t.Error("a cancelled context still measured")
	}
}

// The modules' arithmetic is the benchmark's: the integer module sits at
// its fixed point and the floating-point state stays finite and bounded.
func TestWhetstonePassKeepsTheBenchmarksInvariants(t *testing.T) {
	const whetT = 0.499975 // the package's t, shadowed by the test's
	var w whetstone
	for range 3 {
		w.pass(10)
	}
	if w.j != 1 || w.k != 2 || w.l != 3 {
		t.Errorf("integer module ended at j, k, l = %d, %d, %d, want its fixed point 1, 2, 3", w.j, w.k, w.l)
	}
	if !w.finite() {
		t.Fatalf("non-finite state %+v", w)
	}
	// x = sqrt(exp(log(x)/t1)) = x^(1/(2·t1)), 93 × 10 times from 0.75.
	if want := math.Pow(0.75, math.Pow(1/(2*t1), 93*10)); math.Abs(w.x-want) > 1e-9 {
		t.Errorf("standard-function module ended at x = %v, want %v", w.x, want)
	}
	// z = (t(x+y) + t(t(x+y)+y)) / 2 with x = y = 1.
	x1 := whetT * 2
	if want := (x1 + whetT*(x1+1)) / t2; w.z != want {
		t.Errorf("procedure-call module ended at z = %v, want %v", w.z, want)
	}
}

func BenchmarkWhetstonePass(b *testing.B) {
	var w whetstone
	for b.Loop() {
		w.pass(1)
	}
	b.ReportMetric(float64(b.N)*instructionsPerLoop/b.Elapsed().Seconds()/1e6, "MWIPS")
}
