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

func TestCPULoadLeavesOutOurOwnProcesses(t *testing.T) {
	self := int32(os.Getpid())
	mine := &CPULoad{Own: func() []int32 { return []int32{self, 1 << 30} }} // the second PID does not exist
	all := &CPULoad{}
	for _, c := range []*CPULoad{mine, all} {
		if _, ok, err := c.OtherPercent(t.Context()); ok || err != nil {
			t.Fatalf("first call: ok %v, err %v; want a silent priming", ok, err)
		}
	}
	oursBefore, machineBefore := cpuUsed(t, self)
	spin(t, self, 300*time.Millisecond)
	withoutOurs, ok1, err1 := mine.OtherPercent(t.Context())
	withOurs, ok2, err2 := all.OtherPercent(t.Context())
	oursAfter, machineAfter := cpuUsed(t, self)
	if err1 != nil || err2 != nil || !ok1 || !ok2 {
		t.Fatalf("second call: ok %v %v, err %v %v; want measurements", ok1, ok2, err1, err2)
	}
	// This process kept one core busy: other load must be lower by about
	// its share of the machine, whatever else the machine was doing.
	ours := (oursAfter - oursBefore) / (machineAfter - machineBefore) * 100
	if diff := withOurs - withoutOurs; diff < ours/2 {
		t.Errorf("load counting our process %.1f%%, leaving it out %.1f%%: a difference of %.1f points; we used %.1f%% of the machine",
			withOurs, withoutOurs, diff, ours)
	}
}

// cpuUsed returns the CPU seconds pid and the whole machine (busy and idle,
// all cores) have used.
func cpuUsed(t *testing.T, pid int32) (proc, machine float64) {
	t.Helper()
	p, err := process.NewProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
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

// spin keeps a core busy until pid has used at least d more CPU time, in the
// ticks the OS counts it in.
func spin(t *testing.T, pid int32, d time.Duration) {
	t.Helper()
	start, _ := cpuUsed(t, pid)
	deadline := time.Now().Add(30 * time.Second)
	for x := 0; time.Now().Before(deadline); {
		for range 1_000_000 {
			x++
		}
		if used, _ := cpuUsed(t, pid); used-start >= d.Seconds() {
			return
		}
	}
	t.Fatalf("did not get %v of CPU in 30 s", d)
}
