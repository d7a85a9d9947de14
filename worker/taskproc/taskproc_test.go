package taskproc

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/appbuild"
	"github.com/nightshift-platform/nightshift/workunits"
)

// The test binary doubles as the child: Start runs it again with this
// variable set, as the worker runs itself with "task-child".
const childEnv = "NIGHTSHIFT_TASKPROC_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := ChildMain(context.Background(), os.Args[len(os.Args)-1], os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString("task-child: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var counter struct {
	once sync.Once
	path string
	sha  string
	err  error
}

// counterModule builds testdata/counter once per test binary.
func counterModule(t *testing.T) (path, sha string) {
	t.Helper()
	counter.once.Do(func() {
		dir, err := os.MkdirTemp("", "taskproc-counter")
		if err != nil {
			counter.err = err
			return
		}
		counter.path = filepath.Join(dir, "counter.wasm")
		if counter.err = appbuild.Wasm(context.Background(), "./worker/taskproc/testdata/counter", counter.path); counter.err != nil {
			return
		}
		b, err := os.ReadFile(counter.path)
		counter.sha, counter.err = workunits.Hash(b), err
	})
	if counter.err != nil {
		t.Fatal(counter.err)
	}
	return counter.path, counter.sha
}

// expected is what counter prints for steps steps, computed natively.
func expected(steps uint64) string {
	v := uint64(1)
	for range steps {
		v += 0x9e3779b97f4a7c15
		v = (v ^ v>>30) * 0xbf58476d1ce4e5b9
		v = (v ^ v>>27) * 0x94d049bb133111eb
		v ^= v >> 31
	}
	return strconv.FormatUint(v, 10) + "\n"
}

// task is one task directory with its spec.
type task struct {
	dir  string
	spec Spec
}

func newTask(t *testing.T, steps uint64, args ...string) task {
	t.Helper()
	module, sha := counterModule(t)
	dir := t.TempDir()
	scratch := filepath.Join(dir, "scratch")
	if err := os.Mkdir(scratch, 0o700); err != nil {
		t.Fatal(err)
	}
	input := filepath.Join(dir, "input")
	if err := os.WriteFile(input, []byte(strconv.FormatUint(steps, 10)), 0o600); err != nil {
		t.Fatal(err)
	}
	return task{dir: dir, spec: Spec{TaskID: 1, ModulePath: module, ModuleSHA256: sha, Args: append([]string{"counter"}, args...),
		InputPath: input, ScratchDir: scratch, CacheDir: filepath.Join(os.TempDir(), "taskproc-test-cache"), MemoryLimitMiB: 64}}
}

func (tk task) start(t *testing.T, ctx context.Context) *Process {
	t.Helper()
	t.Setenv(childEnv, "1")
	p, err := Start(ctx, []string{os.Args[0]}, tk.dir, tk.spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		<-p.Done()
	})
	return p
}

func (tk task) childLog(t *testing.T) string {
	b, _ := os.ReadFile(filepath.Join(tk.dir, stderrFile))
	return string(b)
}

func wantOutput(t *testing.T, tk task, p *Process, steps uint64) Result {
	t.Helper()
	res, err := p.Wait()
	if err != nil {
		t.Fatalf("%v; child log:\n%s", err, tk.childLog(t))
	}
	if res.Error != "" || res.ExitCode != 0 {
		t.Fatalf("result: exit %d, error %q, stderr %q", res.ExitCode, res.Error, res.Stderr)
	}
	if want := expected(steps); string(res.Stdout) != want {
		t.Errorf("output %q, want %q (as an uninterrupted native run)", res.Stdout, want)
	}
	return res
}

func TestRunsToTheSameOutput(t *testing.T) {
	const steps = 100_000
	tk := newTask(t, steps)
	p := tk.start(t, t.Context())
	res := wantOutput(t, tk, p, steps)
	if got := p.Progress(); got != 1 {
		t.Errorf("progress at the end = %v, want 1", got)
	}
	if res.CPUSeconds <= 0 {
		t.Errorf("cpu_seconds = %v, want > 0", res.CPUSeconds)
	}
}

// waitProgress waits until the child has reported some progress, so that
// it is surely inside the module.
func waitProgress(t *testing.T, p *Process) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for p.Progress() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no progress reported in 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSuspendParksAYieldingModule(t *testing.T) {
	const steps = 400_000_000
	tk := newTask(t, steps)
	p := tk.start(t, t.Context())
	waitProgress(t, p)
	// The child runs at SCHED_IDLE: while other programs keep both cores
	// busy (other test packages, say) it may get no CPU within ParkGrace
	// and is rightly stopped instead. Parking must work once the CPU is
	// free, so a few tries, resuming in between, must see it park.
	parked := false
	for try := 0; try < 5 && !parked; try++ {
		if try > 0 {
			if err := p.Resume(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err := p.Suspend(); err != nil {
			t.Fatal(err)
		}
		p.mu.Lock()
		parked = !p.stopped
		p.mu.Unlock()
	}
	if !parked {
		t.Error("a module that yields was stopped by the OS instead of parking, 5 times")
	}
	assertNoCPU(t, p.PID())
	before := p.Progress()
	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	wantOutput(t, tk, p, steps)
	if before >= 1 {
		t.Errorf("progress while suspended = %v: the task had finished, the test proved nothing", before)
	}
}

func TestSuspendStopsAModuleThatNeverYields(t *testing.T) {
	const steps = 400_000_000
	tk := newTask(t, steps, "noyield")
	p := tk.start(t, t.Context())
	time.Sleep(200 * time.Millisecond) // inside the module by then, most likely; either way it must stop
	if err := p.Suspend(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Done():
		t.Fatal("the task finished before it could be suspended; make it longer")
	default:
	}
	p.mu.Lock()
	stopped := p.stopped
	p.mu.Unlock()
	if !stopped {
		t.Error("a module that never yields was not stopped by the OS")
	}
	assertNoCPU(t, p.PID())
	if err := p.Resume(); err != nil {
		t.Fatal(err)
	}
	wantOutput(t, tk, p, steps)
}

func TestCheckpointKillAndRestartResumes(t *testing.T) {
	const steps = 400_000_000
	tk := newTask(t, steps)
	p := tk.start(t, t.Context())
	waitProgress(t, p)
	if err := p.Suspend(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := p.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	assertNoCPU(t, p.PID()) // suspended again after the checkpoint
	p.Kill()
	if _, err := p.Wait(); err == nil {
		t.Fatal("a killed task left a result")
	}
	if _, err := os.Stat(filepath.Join(tk.spec.ScratchDir, "checkpoint.json")); err != nil {
		t.Fatalf("no checkpoint after Checkpoint: %v", err)
	}

	p = tk.start(t, t.Context())
	res := wantOutput(t, tk, p, steps)
	if !strings.Contains(string(res.Stderr), "resumed at step ") || strings.Contains(string(res.Stderr), "resumed at step 0\n") {
		t.Errorf("the second run did not resume from the checkpoint; its stderr: %q", res.Stderr)
	}
}
