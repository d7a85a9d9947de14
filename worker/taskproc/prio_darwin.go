package taskproc

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// lowPriority puts the child in a process group of its own (see the Linux
// version for why).
func lowPriority(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func startLowPriority(cmd *exec.Cmd) error { return cmd.Start() }

// lowerOwnPriority sets the process to nice 19; on macOS the nice value
// belongs to the process, not to each thread.
func lowerOwnPriority() error {
	if err := unix.Setpriority(unix.PRIO_PROCESS, 0, 19); err != nil {
		return fmt.Errorf("setting nice 19: %w", err)
	}
	return nil
}

func stopProcess(p *os.Process) error     { return p.Signal(syscall.SIGSTOP) }
func continueProcess(p *os.Process) error { return p.Signal(syscall.SIGCONT) }
