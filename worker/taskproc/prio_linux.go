package taskproc

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// lowPriority puts the child in a process group of its own, so that if the
// worker dies while the child is stopped, the kernel wakes the orphaned
// group with SIGHUP and it exits instead of lingering.
func lowPriority(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// startLowPriority starts cmd from a thread set to nice 19 and SCHED_IDLE.
// Niceness and scheduling policy are per thread on Linux and a new process
// inherits them from the thread that forked it, so every thread the child
// ever has starts at the lowest priority, Go runtime threads included. The
// thread is discarded afterwards: a goroutine that exits locked to its
// thread takes the thread with it.
func startLowPriority(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := setThreadLowPriority(unix.Gettid()); err != nil {
			errc <- err
			return
		}
		errc <- cmd.Start()
	}()
	return <-errc
}

func setThreadLowPriority(tid int) error {
	if err := unix.Setpriority(unix.PRIO_PROCESS, tid, 19); err != nil {
		return fmt.Errorf("setting thread %d to nice 19: %w", tid, err)
	}
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_IDLE}
	if err := unix.SchedSetAttr(tid, &attr, 0); err != nil {
		return fmt.Errorf("setting thread %d to SCHED_IDLE: %w", tid, err)
	}
	return nil
}

// lowerOwnPriority sets every thread of this process to the lowest
// priority: a child started by hand, not by startLowPriority, gets there
// too. Threads created meanwhile inherit from their creator, so passes
// repeat until one finds nothing left to change.
func lowerOwnPriority() error {
	done := map[int]bool{}
	for {
		entries, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return fmt.Errorf("listing this process's threads: %w", err)
		}
		changed := false
		for _, e := range entries {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || done[tid] {
				continue
			}
			if err := setThreadLowPriority(tid); err != nil && err != unix.ESRCH {
				return err
			}
			done[tid], changed = true, true
		}
		if !changed {
			return nil
		}
	}
}

func stopProcess(p *os.Process) error     { return p.Signal(syscall.SIGSTOP) }
func continueProcess(p *os.Process) error { return p.Signal(syscall.SIGCONT) }
