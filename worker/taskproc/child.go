package taskproc

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nightshift-platform/nightshift/worker/atomicfile"
	"github.com/nightshift-platform/nightshift/worker/sandbox"
	"github.com/nightshift-platform/nightshift/workunits/appiface"
)

// ChildMain is the child's side: it lowers its own priority, runs the task
// in dir in the sandbox, steered by commands on stdin and telling events
// on stdout, and leaves result.json. It returns an error only when the task
// could not be run at all; a module that fails is a result.
func ChildMain(ctx context.Context, dir string, stdin io.Reader, stdout io.Writer) error {
	if err := lowerOwnPriority(); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(dir, specFile))
	if err != nil {
		return fmt.Errorf("reading the task: %w", err)
	}
	var spec Spec
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("reading the task: %w", err)
	}
	module, err := os.ReadFile(spec.ModulePath)
	if err != nil {
		return fmt.Errorf("reading the module: %w", err)
	}
	input, err := os.ReadFile(spec.InputPath)
	if err != nil {
		return fmt.Errorf("reading the task's input: %w", err)
	}

	ctl := newControl(stdout)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		ctl.follow(stdin)
		// The worker is gone (its end of the pipe closed): nobody is left
		// to take the result, and the task restarts from its checkpoint.
		fmt.Fprintln(os.Stderr, "task-child: the worker went away; exiting")
		os.Exit(3)
	}()

	box, err := sandbox.New(ctx, sandbox.Config{MemoryLimitMiB: spec.MemoryLimitMiB, CacheDir: spec.CacheDir})
	if err != nil {
		return err
	}
	defer box.Close(context.WithoutCancel(ctx))
	res, err := box.Exec(ctx, sandbox.Run{ModuleSHA256: spec.ModuleSHA256, Module: module, Args: spec.Args,
		Stdin: input, ScratchDir: spec.ScratchDir, Control: ctl})
	out := Result{ExitCode: res.ExitCode, Stdout: res.Stdout, Stderr: res.Stderr, CPUSeconds: res.CPUTime.Seconds()}
	if err != nil {
		out.Error = err.Error()
	}
	b, err = json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encoding the result: %w", err)
	}
	return atomicfile.Write(filepath.Join(dir, resultFile), b, 0o600)
}

// control is the sandbox.Control of a child: the worker's commands set its
// state, the module's yields obey it.
type control struct {
	mu           sync.Mutex
	cond         *sync.Cond
	suspended    bool
	checkpoint   bool // asked for, not yet answered
	awaitingDone bool // answered Checkpoint; the next yield means it is written
	out          *bufio.Writer
	lastProgress time.Time
}

func newControl(events io.Writer) *control {
	c := &control{out: bufio.NewWriter(events)}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// follow applies commands until the worker closes the pipe.
func (c *control) follow(r io.Reader) {
	buf := make([]byte, 64)
	for {
		n, err := r.Read(buf)
		c.mu.Lock()
		for _, b := range buf[:n] {
			switch b {
			case cmdSuspend:
				c.suspended = true
			case cmdResume:
				c.suspended = false
			case cmdCheckpoint:
				c.checkpoint = true
			}
		}
		c.cond.Broadcast()
		c.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (c *control) Yield(ctx context.Context) appiface.Action {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.awaitingDone {
		c.awaitingDone = false
		c.event(evCheckpointed)
	}
	if c.suspended {
		c.event(evParked)
		for c.suspended && !c.checkpoint {
			c.cond.Wait()
		}
		c.event(evRunning)
	}
	if c.checkpoint {
		c.checkpoint, c.awaitingDone = false, true
		return appiface.Checkpoint
	}
	return appiface.Continue
}

// Progress is passed on at most a few times a second; modules may call it
// far more often.
func (c *control) Progress(fraction float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.lastProgress) >= 250*time.Millisecond || fraction >= 1 {
		c.lastProgress = now
		c.event(evProgress + " " + strconv.FormatFloat(fraction, 'f', 4, 64))
	}
}

// event writes one line to the worker; called with mu held.
func (c *control) event(line string) {
	c.out.WriteString(line + "\n")
	c.out.Flush()
}
