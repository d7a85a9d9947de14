package taskproc

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procStat returns fields of /proc/PATH/stat after the command name
// (fields[0] is the state, field 3 of proc(5)).
func procStat(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", path, "stat"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
}

// cpuTicks is a process's user + system time in clock ticks.
func cpuTicks(t *testing.T, pid int) int {
	f := procStat(t, strconv.Itoa(pid))
	user, _ := strconv.Atoi(f[11]) // utime, field 14
	sys, _ := strconv.Atoi(f[12])  // stime, field 15
	return user + sys
}

// assertNoCPU checks that the process gains at most one clock tick (the
// one it may be in the middle of) over 300 ms. It first waits, up to 2 s,
// for no thread to be running: a stop signal takes effect as each thread
// is next scheduled, which at SCHED_IDLE on a busy machine can take a few
// ticks that are charged to the process.
func assertNoCPU(t *testing.T, pid int) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); anyThreadRunning(t, pid) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	before := cpuTicks(t, pid)
	time.Sleep(300 * time.Millisecond)
	if gained := cpuTicks(t, pid) - before; gained > 1 {
		t.Errorf("a suspended task used %d clock ticks of CPU in 300 ms", gained)
	}
}

// anyThreadRunning reports whether a thread of the process is running or
// runnable (state R).
func anyThreadRunning(t *testing.T, pid int) bool {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, e.Name()))
		if err != nil {
			continue // the thread has just exited
		}
		s := string(b)
		if f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]); len(f) > 0 && f[0] == "R" {
			return true
		}
	}
	return false
}

// Every thread of a child runs at nice 19 under SCHED_IDLE: niceness is
// per thread on Linux, and a thread left out would compete with the owner.
func TestChildThreadsRunAtTheLowestPriority(t *testing.T) {
	const steps = 400_000_000
	tk := newTask(t, steps)
	p := tk.start(t, t.Context())
	waitProgress(t, p)
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", p.PID()))
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) < 2 {
		t.Fatalf("the child has %d threads; a Go process has several", len(tasks))
	}
	for _, e := range tasks {
		f := procStat(t, fmt.Sprintf("%d/task/%s", p.PID(), e.Name()))
		nice, policy := f[16], f[38] // fields 19 and 41 of proc(5)
		if nice != "19" || policy != "5" {
			t.Errorf("thread %s: nice %s, policy %s; want nice 19, policy 5 (SCHED_IDLE)", e.Name(), nice, policy)
		}
	}
}
