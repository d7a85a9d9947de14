package idle

import (
	"os"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/process"
)

func TestOtherPercent(t *testing.T) {
	tests := []struct {
		name             string
		busy, own, total float64
		want             float64
	}{
		{name: "idle machine", busy: 0, own: 0, total: 2, want: 0},
		{name: "others use a quarter", busy: 0.5, own: 0, total: 2, want: 25},
		{name: "all of it ours", busy: 1.5, own: 1.5, total: 2, want: 0},
		{name: "ours taken out", busy: 1.5, own: 1, total: 2, want: 25},
		{name: "ours sampled past the machine's", busy: 1, own: 1.2, total: 2, want: 0},
		{name: "never past all cores", busy: 2.2, own: 0, total: 2, want: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := otherPercent(tt.busy, tt.own, tt.total); got != tt.want {
				t.Errorf("otherPercent(%v, %v, %v) = %v, want %v", tt.busy, tt.own, tt.total, got, tt.want)
			}
		})
	}
}

func TestCPULoadPrimesThenMeasures(t *testing.T) {
	self := int32(os.Getpid())
	c := &CPULoad{Own: func() []int32 { return []int32{self, 1 << 30} }} // the second PID does not exist
	if _, ok, err := c.OtherPercent(t.Context()); ok || err != nil {
		t.Fatalf("first call: ok %v, err %v; want a silent priming", ok, err)
	}
	burnCPU(t, self)
	pct, ok, err := c.OtherPercent(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatal("second call ok = false, want a measurement")
	}
	if pct < 0 || pct > 100 {
		t.Errorf("OtherPercent = %v, want 0–100", pct)
	}
}

// burnCPU spins until both the process and the whole machine have CPU time
// to show for it, in the ticks the OS counts them in, so that the interval
// between two samples is not empty.
func burnCPU(t *testing.T, pid int32) {
	t.Helper()
	p, err := process.NewProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	used := func() (proc, machine float64) {
		pt, err := p.Times()
		if err != nil {
			t.Fatal(err)
		}
		mt, err := cpu.Times(false)
		if err != nil {
			t.Fatal(err)
		}
		_, total := busyTotal(mt[0])
		return pt.User + pt.System, total
	}
	proc0, machine0 := used()
	deadline := time.Now().Add(10 * time.Second)
	for x := 0; time.Now().Before(deadline); {
		for range 1_000_000 {
			x++
		}
		if proc, machine := used(); proc > proc0 && machine > machine0 {
			return
		}
	}
	t.Fatal("no CPU time seen after 10 s of spinning")
}
