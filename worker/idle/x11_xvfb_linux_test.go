package idle

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestX11OnXvfb runs the real X11 source against a virtual X server, where
// one is installed: the screen saver query must answer, and the source must
// go blind, not fail for good, when the server goes away.
func TestX11OnXvfb(t *testing.T) {
	xvfb, err := exec.LookPath("Xvfb")
	if err != nil {
		requireUnderCI(t, "Xvfb (Debian package xvfb; scripts/test installs it)")
	}
	// -displayfd: Xvfb picks a free display and writes its number to fd 3.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(xvfb, "-displayfd", "3", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("read Xvfb's display: %v", err)
	}

	x := &X11{Display: ":" + strings.TrimSpace(line)}
	defer x.Close()
	got, ok, err := x.LastInput(t.Context())
	if err != nil || !ok {
		t.Fatalf("LastInput = %v, %v, %v; want an answer", got, ok, err)
	}
	if got.IsZero() || got.After(time.Now()) {
		t.Errorf("last input %v is not a past time", got)
	}

	cmd.Process.Kill()
	cmd.Wait()
	stopped = true
	if _, ok, _ := x.LastInput(t.Context()); ok {
		t.Error("LastInput ok after the X server went away")
	}
}
