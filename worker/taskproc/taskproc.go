// Package taskproc runs each task in a child process of its own, at the
// lowest CPU priority, and steers it: suspend, resume, checkpoint, stop.
//
// A child is the worker binary again (the hidden "task-child" command; see
// ChildMain). Its stdin carries commands from the worker, one byte each,
// and its stdout carries events back, one line each; the module's own
// input and output are files in the task's directory. Pipes on the
// standard streams work on every OS, where extra descriptors do not, and
// a child whose worker died sees its stdin close and exits.
package taskproc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nightshift-platform/nightshift/worker/atomicfile"
)

// Spec is one task for a child, kept as spec.json in the task directory.
type Spec struct {
	TaskID         int64    `json:"task_id"`
	ModulePath     string   `json:"module_path"`
	ModuleSHA256   string   `json:"module_sha256"`
	Args           []string `json:"args"`
	InputPath      string   `json:"input_path"`  // the module's stdin
	ScratchDir     string   `json:"scratch_dir"` // /scratch in the sandbox; checkpoints live here
	CacheDir       string   `json:"cache_dir"`   // wazero's compilation cache, shared by children
	MemoryLimitMiB int      `json:"memory_limit_mib"`
}

// Result is what a finished child leaves as result.json.
type Result struct {
	ExitCode   uint32  `json:"exit_code"`
	Stdout     []byte  `json:"stdout"`
	Stderr     []byte  `json:"stderr"`
	CPUSeconds float64 `json:"cpu_seconds"`
	Error      string  `json:"error,omitempty"` // the module could not run or broke a limit
}

// Commands, one byte each on the child's stdin.
const (
	cmdSuspend    = 'S'
	cmdResume     = 'R'
	cmdCheckpoint = 'C'
)

// Events, one line each on the child's stdout.
const (
	evParked       = "parked"       // blocked in yield while suspended
	evRunning      = "running"      // left yield after a resume
	evCheckpointed = "checkpointed" // the module yielded again after being asked to checkpoint
	evProgress     = "progress"     // "progress 0.42"
)

const (
	specFile   = "spec.json"
	resultFile = "result.json"
	stderrFile = "child.log"
)

// ParkGrace is how long a suspended module has to reach its next yield
// before its process is stopped outright. Modules that yield as asked
// (every few milliseconds) park well within it.
const ParkGrace = 30 * time.Millisecond

// Process is a running child.
type Process struct {
	dir  string
	cmd  *exec.Cmd
	ctl  io.WriteCloser
	done chan struct{} // closed when the child has exited
	err  error         // from Wait, once done

	mu           sync.Mutex
	suspended    bool
	stopped      bool // stopped by the OS (SIGSTOP), not parked in yield
	parked       chan struct{}
	checkpointed chan struct{}
	progress     float64
}

// Start writes spec to dir and starts command (the worker binary and its
// task-child argument, with dir appended) on it.
func Start(ctx context.Context, command []string, dir string, spec Spec) (*Process, error) {
	b, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding task %d: %w", spec.TaskID, err)
	}
	if err := atomicfile.Write(filepath.Join(dir, specFile), b, 0o600); err != nil {
		return nil, fmt.Errorf("writing task %d: %w", spec.TaskID, err)
	}
	_ = os.Remove(filepath.Join(dir, resultFile)) // a result is only ever this run's
	logFile, err := os.OpenFile(filepath.Join(dir, stderrFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the task's log: %w", err)
	}
	defer logFile.Close() // the child has its own copy

	cmd := exec.Command(command[0], append(command[1:], dir)...)
	cmd.Stderr = logFile
	lowPriority(cmd)
	ctl, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	events, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p := &Process{dir: dir, cmd: cmd, ctl: ctl, done: make(chan struct{}), parked: make(chan struct{}), checkpointed: make(chan struct{})}
	if err := startLowPriority(cmd); err != nil {
		return nil, fmt.Errorf("starting task %d: %w", spec.TaskID, err)
	}
	go p.readEvents(events)
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	context.AfterFunc(ctx, func() { p.Kill() })
	return p, nil
}

func (p *Process) readEvents(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		switch {
		case line == evParked:
			closeOnce(p.parked)
		case line == evCheckpointed:
			closeOnce(p.checkpointed)
		case strings.HasPrefix(line, evProgress+" "):
			if f, err := strconv.ParseFloat(strings.TrimPrefix(line, evProgress+" "), 64); err == nil && f >= 0 && f <= 1 {
				p.progress = f
			}
		}
		p.mu.Unlock()
	}
}

func closeOnce(c chan struct{}) {
	select {
	case <-c:
	default:
		close(c)
	}
}

// PID is the child's process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Progress is the fraction of the work the module last reported done.
func (p *Process) Progress() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.progress
}

// Suspend stops the task using CPU: the module parks at its next yield,
// or, if it does not yield within ParkGrace, the OS stops its process.
// It returns once the task uses no CPU.
func (p *Process) Suspend() error {
	p.mu.Lock()
	if p.suspended {
		p.mu.Unlock()
		return nil
	}
	p.suspended = true
	parked := p.expectPark()
	p.mu.Unlock()
	if err := p.send(cmdSuspend); err != nil {
		return err
	}
	return p.parkOrStop(parked)
}

// expectPark returns a channel closed by the next "parked" event; called
// with mu held.
func (p *Process) expectPark() chan struct{} {
	p.parked = make(chan struct{})
	return p.parked
}

// parkOrStop waits ParkGrace for the module to park, then stops it.
func (p *Process) parkOrStop(parked chan struct{}) error {
	t := time.NewTimer(ParkGrace)
	defer t.Stop()
	select {
	case <-parked:
		return nil
	case <-p.done:
		return nil
	case <-t.C:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := stopProcess(p.cmd.Process); err != nil {
		return fmt.Errorf("stopping a task that did not yield: %w", err)
	}
	p.stopped = true
	return nil
}

// Resume lets a suspended task run again.
func (p *Process) Resume() error {
	p.mu.Lock()
	if !p.suspended {
		p.mu.Unlock()
		return nil
	}
	p.suspended = false
	stopped := p.stopped
	p.stopped = false
	p.mu.Unlock()
	if stopped {
		if err := continueProcess(p.cmd.Process); err != nil {
			return fmt.Errorf("continuing a stopped task: %w", err)
		}
	}
	return p.send(cmdResume)
}

// Checkpoint asks the module to write a checkpoint at its next yield and
// waits, up to ctx, for it to have done so. A suspended task runs just
// long enough for that, then is suspended again.
func (p *Process) Checkpoint(ctx context.Context) error {
	p.mu.Lock()
	p.checkpointed = make(chan struct{})
	done := p.checkpointed
	// A suspended child parks again right after the checkpoint.
	parked := p.expectPark()
	stopped := p.stopped
	p.stopped = false
	p.mu.Unlock()
	if stopped {
		if err := continueProcess(p.cmd.Process); err != nil {
			return fmt.Errorf("continuing a stopped task: %w", err)
		}
	}
	if err := p.send(cmdCheckpoint); err != nil {
		return err
	}
	var err error
	select {
	case <-done:
	case <-p.done:
	case <-ctx.Done():
		err = fmt.Errorf("waiting for a checkpoint: %w", ctx.Err())
	}
	p.mu.Lock()
	suspended := p.suspended
	p.mu.Unlock()
	if suspended {
		err = errors.Join(err, p.parkOrStop(parked))
	}
	return err
}

// Kill ends the child at once; the task can be started again from its
// last checkpoint.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
}

// Done is closed when the child has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the child and returns the result it left. A child that
// exited without one (killed, crashed) is an error: run the task again.
func (p *Process) Wait() (Result, error) {
	<-p.done
	_ = p.ctl.Close()
	b, err := os.ReadFile(filepath.Join(p.dir, resultFile))
	if err != nil {
		return Result{}, fmt.Errorf("task process ended (%v) without a result: %w", p.err, err)
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return Result{}, fmt.Errorf("reading the task's result: %w", err)
	}
	return r, nil
}

func (p *Process) send(c byte) error {
	if _, err := p.ctl.Write([]byte{c}); err != nil {
		select {
		case <-p.done:
			return nil // it finished meanwhile; nothing to steer
		default:
		}
		return fmt.Errorf("sending %q to the task process: %w", c, err)
	}
	return nil
}
