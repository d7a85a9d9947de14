package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/workunits"
)

// syncBuffer is a log two goroutines may touch: the process writes, the
// test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A worker killed with SIGKILL in the middle of a task, then started
// again, resumes the task from its last checkpoint: the output is the one
// an uninterrupted run gives, the task is reported once and paid once.
func TestKilledWorkerResumesFromCheckpoint(t *testing.T) {
	b := setup(t)
	_, workerBin := buildPrograms(t)
	const reward = 1000
	input := `{"k":5,"seed":11,"n":1000000}` // seconds of work, checkpointed every 5%
	job := b.submit(t, api.Policy{MinQuorum: 2, TargetReplicas: 2, DeadlineSeconds: 600}, reward, input)
	acct, err := b.operator.WithKey("").CreateContributor(context.Background(), "Phoenix")
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	start := func() (*exec.Cmd, *syncBuffer) {
		cmd := exec.Command(workerBin, "run", "--coordinator", b.coord.URL, "--account-key", acct.AccountKey,
			"--idle-minutes", "0", "--max-other-cpu", "100", "--run-on-battery", "--slots", "1",
			"--state", state, "--name", "phoenix-pc")
		logs := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd, logs
	}

	cmd, logs := start()
	var checkpoint string
	waitFor(t, 60*time.Second, "a checkpoint of the running task", func() bool {
		found, _ := filepath.Glob(filepath.Join(state, "tasks", "*", "scratch", "checkpoint.json"))
		if len(found) == 1 {
			checkpoint = found[0]
		}
		return checkpoint != ""
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	taskDir := filepath.Dir(filepath.Dir(checkpoint))
	if _, err := os.Stat(filepath.Join(taskDir, "report.json")); err == nil {
		t.Fatalf("the task finished before the kill; make it longer. Logs:\n%s", logs)
	}
	// The task's child process sees the worker go and exits on its own.
	waitFor(t, 10*time.Second, "the orphaned task process to exit", func() bool { return !taskChildRunning(t, taskDir) })
	if got := b.job(t, job.ID).Progress.Outcomes[string(workunits.OutcomeSuccess)]; got != 0 {
		t.Fatalf("%d results reported before the kill", got)
	}

	_, logs = start()
	waitFor(t, 120*time.Second, "the resumed task's report", func() bool {
		return b.job(t, job.ID).Progress.Outcomes[string(workunits.OutcomeSuccess)] == 1
	})
	if !strings.Contains(logs.String(), "resuming a task from its last checkpoint") {
		t.Errorf("the restarted worker did not resume the task; logs:\n%s", logs)
	}
	// A second host completes the quorum; the output must match the
	// resumed one bit for bit.
	startAgent(t, b.host(t, b.contributor(t, "Ada"), "ada-pc"), nil)
	waitFor(t, 120*time.Second, "the job to finish", func() bool { return b.job(t, job.ID).State == string(workunits.JobDone) })
	final := b.job(t, job.ID)
	if final.Progress.Validations[string(workunits.ValidateValid)] != 2 || final.Progress.Outcomes[string(workunits.OutcomeSuccess)] != 2 {
		t.Errorf("progress = %+v, want two valid results (the resumed one agrees with an uninterrupted run)", final.Progress)
	}
	if r := b.results(t, job.ID); !bytes.Equal(r[0].Output, nativeOutput(t, input)) {
		t.Errorf("canonical output is not the correct one")
	}
	if e := earnings(t, b.operator.WithKey(acct.AccountKey)); e.AvailableMicros != reward || e.Hosts[0].TasksValid != 1 {
		t.Errorf("the killed-and-restarted host's earnings = %+v, want one task paid once (%d)", e, reward)
	}
	b.audit(t)
}

// taskChildRunning reports whether a task-child process works on dir.
func taskChildRunning(t *testing.T, dir string) bool {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte("task-child")) && bytes.Contains(b, []byte(dir)) {
			return true
		}
	}
	return false
}
