package idle

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"
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

	display := ":" + strings.TrimSpace(line)
	x := &X11{Display: display}
	defer x.Close()
	// Nobody has touched the new server: its idle time runs from its start.
	time.Sleep(300 * time.Millisecond)
	got, ok, err := x.LastInput(t.Context())
	if err != nil || !ok {
		t.Fatalf("LastInput = %v, %v, %v; want an answer", got, ok, err)
	}
	if idle := time.Since(got); idle < 250*time.Millisecond || idle > 30*time.Second {
		t.Errorf("idle %v before any input; want about the server's age", idle)
	}

	// A key pressed through XTEST (as a keyboard would) moves it to now.
	typeKey(t, display)
	before := time.Now()
	got, ok, err = x.LastInput(t.Context())
	if err != nil || !ok {
		t.Fatalf("LastInput after a key = %v, %v, %v", got, ok, err)
	}
	if idle := before.Sub(got); idle > 200*time.Millisecond {
		t.Errorf("idle %v right after a key press; want about none", idle)
	}

	cmd.Process.Kill()
	cmd.Wait()
	stopped = true
	if _, ok, _ := x.LastInput(t.Context()); ok {
		t.Error("LastInput ok after the X server went away")
	}
}

// typeKey presses and releases a key on display through the XTEST extension,
// on a connection of its own, as another client (xdotool, a keyboard) would.
func typeKey(t *testing.T, display string) {
	t.Helper()
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := xtest.Init(conn); err != nil {
		t.Fatal(err)
	}
	root := xproto.Setup(conn).DefaultScreen(conn).Root
	keycode := xproto.Setup(conn).MinKeycode
	for _, typ := range []byte{xproto.KeyPress, xproto.KeyRelease} {
		if err := xtest.FakeInputChecked(conn, typ, byte(keycode), 0, root, 0, 0, 0).Check(); err != nil {
			t.Fatalf("XTEST fake input: %v", err)
		}
	}
}
