package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/appbuild"
	"github.com/nightshift-platform/nightshift/worker/agent"
	"github.com/nightshift-platform/nightshift/worker/governor"
	"github.com/nightshift-platform/nightshift/worker/idle"
	"github.com/nightshift-platform/nightshift/worker/policy"
	"github.com/nightshift-platform/nightshift/worker/taskproc"
	"github.com/nightshift-platform/nightshift/workunits"
)

// The test binary doubles as the task child, as the worker does with
// "task-child".
const childEnv = "NIGHTSHIFT_AGENT_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := taskproc.ChildMain(context.Background(), os.Args[len(os.Args)-1], os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString("task-child: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// timedExecution records when each Suspend returned, that is, when the
// task stopped using CPU.
type timedExecution struct {
	agent.Execution
	mu        sync.Mutex
	suspended time.Time
}

func (e *timedExecution) Suspend() error {
	err := e.Execution.Suspend()
	e.mu.Lock()
	e.suspended = time.Now()
	e.mu.Unlock()
	return err
}

func (e *timedExecution) suspendedAt() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.suspended
}

// BenchmarkInputToStop measures, through the real path — an activity file
// as the input source, the governor's polling, the gate, and a task in a
// child process at the lowest priority — the time from user input to the
// task no longer using CPU. It reports p50 and p99 in milliseconds.
func BenchmarkInputToStop(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := b.TempDir()
	module := filepath.Join(dir, "counter.wasm")
	if err := appbuild.Wasm(ctx, "./worker/taskproc/testdata/counter", module); err != nil {
		b.Fatal(err)
	}
	m, err := os.ReadFile(module)
	if err != nil {
		b.Fatal(err)
	}
	job := agent.Job{TaskID: 1, App: "counter", ModulePath: module, ModuleSHA256: workunits.Hash(m), Dir: filepath.Join(dir, "task")}
	for _, d := range []string{filepath.Join(job.Dir, "scratch"), filepath.Join(job.Dir, "process")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			b.Fatal(err)
		}
	}
	// Far more work than the benchmark lasts.
	if err := os.WriteFile(filepath.Join(job.Dir, "input"), []byte(strconv.FormatUint(1<<62, 10)), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Setenv(childEnv, "1")
	exec := agent.ChildProcesses{Command: []string{os.Args[0]}, CacheDir: filepath.Join(dir, "cache"), MemoryLimitMiB: 64}
	e, err := exec.Start(ctx, job)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Kill()
	timed := &timedExecution{Execution: e}

	activity := idle.ActivityFile{Path: filepath.Join(dir, "activity")}
	touch := func(at time.Time) {
		if err := os.WriteFile(activity.Path, nil, 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.Chtimes(activity.Path, at, at); err != nil {
			b.Fatal(err)
		}
	}
	touch(time.Now().Add(-time.Hour))
	prefs := policy.Defaults()
	prefs.IdleMinutes = 0.002 // 120 ms without input resumes, so that a cycle is short
	prefs.MaxOtherCPUPercent = 100
	gate := agent.NewGate(true, nil)
	gate.Track(timed)
	// The worker's own sampler: this OS's input sources with the activity
	// file among them, read the way `worker run` reads them.
	sampler := idle.NewSampler(nil, nil, idle.Named{Name: "activity-file", Source: activity})
	defer sampler.Close()
	gov := &governor.Governor{
		Gate: gate, Input: sampler.Input, Observe: sampler.Observe,
		Preferences: func() policy.Preferences { return prefs },
		FastEvery:   governor.DefaultFastEvery,
		SlowEvery:   50 * time.Millisecond, // the resume half of each cycle only
	}
	go gov.Run(ctx)

	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		for !gate.Open() {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(50+len(lat)%37) * time.Millisecond) // land anywhere in the polling period
		input := time.Now()
		touch(input)
		for !timed.suspendedAt().After(input) {
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, timed.suspendedAt().Sub(input))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max_ms")
}
