package agent

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nightshift-platform/nightshift/worker/sandbox"
	"github.com/nightshift-platform/nightshift/worker/taskproc"
	"github.com/nightshift-platform/nightshift/workunits/appiface"
)

// Job is one task ready to run: its module on disk and its directory,
// which holds the input and the scratch directory (and with it the
// module's checkpoints) across restarts.
type Job struct {
	TaskID       int64
	App          string
	ModulePath   string
	ModuleSHA256 string
	Dir          string
}

func (j Job) inputPath() string  { return filepath.Join(j.Dir, "input") }
func (j Job) scratchDir() string { return filepath.Join(j.Dir, "scratch") }
func (j Job) processDir() string { return filepath.Join(j.Dir, "process") }
func (j Job) reportPath() string { return filepath.Join(j.Dir, "report.json") }
func (j Job) taskPath() string   { return filepath.Join(j.Dir, "task.json") }

// Result is what a run of a module came to.
type Result struct {
	Stdout     []byte
	Stderr     []byte
	ExitCode   uint32
	CPUSeconds float64
	Err        string // the module could not run or broke a limit
}

// Executor starts jobs.
type Executor interface {
	Start(ctx context.Context, j Job) (Execution, error)
}

// Execution is a running job. Suspend returns once the job uses no CPU.
type Execution interface {
	Suspend() error
	Resume() error
	// Checkpoint asks the module to save its state and waits for it.
	Checkpoint(ctx context.Context) error
	Kill()
	// Wait returns the result; an error means the run ended without one
	// (killed, crashed) and the job should run again.
	Wait() (Result, error)
	Progress() float64
}

// ChildProcesses runs each job in a child process of the worker binary
// (taskproc): the real executor.
type ChildProcesses struct {
	Command        []string // the worker binary and "task-child"
	CacheDir       string   // compiled modules, shared by the children
	MemoryLimitMiB int
}

func (c ChildProcesses) Start(ctx context.Context, j Job) (Execution, error) {
	p, err := taskproc.Start(ctx, c.Command, j.processDir(), taskproc.Spec{TaskID: j.TaskID, ModulePath: j.ModulePath,
		ModuleSHA256: j.ModuleSHA256, Args: []string{j.App}, InputPath: j.inputPath(), ScratchDir: j.scratchDir(),
		CacheDir: c.CacheDir, MemoryLimitMiB: c.MemoryLimitMiB})
	if err != nil {
		return nil, err
	}
	return childExecution{p}, nil
}

type childExecution struct{ *taskproc.Process }

func (c childExecution) Wait() (Result, error) {
	r, err := c.Process.Wait()
	return Result{Stdout: r.Stdout, Stderr: r.Stderr, ExitCode: r.ExitCode, CPUSeconds: r.CPUSeconds, Err: r.Error}, err
}

// InProcess runs jobs in this process's sandbox: for tests and tools, where
// a child process per task is not wanted. Suspension works only for
// modules that yield; nothing can stop one that does not.
type InProcess struct {
	Sandbox *sandbox.Sandbox
}

func (ip InProcess) Start(ctx context.Context, j Job) (Execution, error) {
	module, err := os.ReadFile(j.ModulePath)
	if err != nil {
		return nil, err
	}
	input, err := os.ReadFile(j.inputPath())
	if err != nil {
		return nil, err
	}
	e := &inProcessExecution{done: make(chan struct{}), ctl: &inProcessControl{}}
	e.ctl.cond = sync.NewCond(&e.ctl.mu)
	ctx, e.cancel = context.WithCancel(ctx)
	go func() {
		defer close(e.done)
		res, err := ip.Sandbox.Exec(ctx, sandbox.Run{ModuleSHA256: j.ModuleSHA256, Module: module, Args: []string{j.App},
			Stdin: input, ScratchDir: j.scratchDir(), Control: e.ctl})
		e.result = Result{Stdout: res.Stdout, Stderr: res.Stderr, ExitCode: res.ExitCode, CPUSeconds: res.CPUTime.Seconds()}
		if err != nil {
			e.result.Err = err.Error()
		}
		if ctx.Err() != nil {
			e.err = ctx.Err()
		}
	}()
	return e, nil
}

type inProcessExecution struct {
	ctl    *inProcessControl
	cancel context.CancelFunc
	done   chan struct{}
	result Result
	err    error
}

// inProcessControl answers the module's yields from the execution's state.
type inProcessControl struct {
	mu           sync.Mutex
	cond         *sync.Cond
	suspended    bool
	checkpoint   bool
	checkpointed chan struct{} // closed at the first yield after a checkpoint
	progress     float64
}

func (c *inProcessControl) Yield(ctx context.Context) appiface.Action {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.checkpointed != nil && !c.checkpoint {
		close(c.checkpointed)
		c.checkpointed = nil
	}
	for c.suspended && !c.checkpoint && ctx.Err() == nil {
		c.cond.Wait()
	}
	if c.checkpoint {
		c.checkpoint = false
		return appiface.Checkpoint
	}
	return appiface.Continue
}

func (c *inProcessControl) Progress(f float64) {
	c.mu.Lock()
	c.progress = f
	c.mu.Unlock()
}

func (e *inProcessExecution) Suspend() error {
	e.ctl.mu.Lock()
	e.ctl.suspended = true
	e.ctl.mu.Unlock()
	return nil
}

func (e *inProcessExecution) Resume() error {
	e.ctl.mu.Lock()
	e.ctl.suspended = false
	e.ctl.cond.Broadcast()
	e.ctl.mu.Unlock()
	return nil
}

func (e *inProcessExecution) Checkpoint(ctx context.Context) error {
	e.ctl.mu.Lock()
	done := make(chan struct{})
	e.ctl.checkpoint, e.ctl.checkpointed = true, done
	e.ctl.cond.Broadcast()
	e.ctl.mu.Unlock()
	select {
	case <-done:
	case <-e.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

func (e *inProcessExecution) Kill() {
	e.cancel()
	e.ctl.mu.Lock()
	e.ctl.cond.Broadcast() // a parked module wakes, sees the cancellation and exits
	e.ctl.mu.Unlock()
}

func (e *inProcessExecution) Wait() (Result, error) {
	<-e.done
	return e.result, e.err
}

func (e *inProcessExecution) Progress() float64 {
	e.ctl.mu.Lock()
	defer e.ctl.mu.Unlock()
	return e.ctl.progress
}

// checkpointGrace bounds how long a stopping worker waits for each
// running module to checkpoint.
const checkpointGrace = 3 * time.Second
