package taskproc

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// lowPriority starts the child in IDLE_PRIORITY_CLASS: it gets a core only
// when nothing else wants one.
func lowPriority(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.IDLE_PRIORITY_CLASS}
}

func startLowPriority(cmd *exec.Cmd) error { return cmd.Start() }

// lowerOwnPriority has nothing to do: the priority class was set when the
// process was created, and covers all its threads.
func lowerOwnPriority() error { return nil }

var (
	ntdll            = windows.NewLazySystemDLL("ntdll.dll")
	ntSuspendProcess = ntdll.NewProc("NtSuspendProcess")
	ntResumeProcess  = ntdll.NewProc("NtResumeProcess")
)

func stopProcess(p *os.Process) error     { return ntProcessCall(ntSuspendProcess, p) }
func continueProcess(p *os.Process) error { return ntProcessCall(ntResumeProcess, p) }

func ntProcessCall(proc *windows.LazyProc, p *os.Process) error {
	h, err := windows.OpenProcess(windows.PROCESS_SUSPEND_RESUME, false, uint32(p.Pid))
	if err != nil {
		return fmt.Errorf("opening process %d: %w", p.Pid, err)
	}
	defer windows.CloseHandle(h)
	if status, _, _ := proc.Call(uintptr(h)); status != 0 {
		return fmt.Errorf("%s(%d): NTSTATUS %#x", proc.Name, p.Pid, status)
	}
	return nil
}
