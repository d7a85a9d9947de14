package idle

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// TestLogindOverABus runs the real Logind source against a fake logind on a
// private dbus-daemon, so that the calls and the decoding of their answers
// are checked, not only the decision on the hints.
func TestLogindOverABus(t *testing.T) {
	address := startBus(t)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", address)

	clock := time.Now()
	l := &Logind{now: func() time.Time { return clock }}
	defer l.Close()
	if _, ok, err := l.LastInput(t.Context()); ok || err != nil {
		t.Fatalf("bus without logind: ok %v, err %v; want ok false and no error", ok, err)
	}

	fake := serveLogind(t, address)
	fake.set(t, 100, []fakeSession{{typ: "tty", since: base}})
	if _, ok, err := l.LastInput(t.Context()); ok || err != nil {
		t.Errorf("logind asked again at once after it was missing: ok %v, err %v", ok, err)
	}
	clock = clock.Add(redialAfter)
	if got, ok, err := l.LastInput(t.Context()); !ok || err != nil || !got.Equal(base) {
		t.Fatalf("after %v: LastInput = %v, %v, %v; want %v", redialAfter, got, ok, err, base)
	}
	// The list of sessions is kept a while: a login shows up after it.
	fake.set(t, 101, []fakeSession{{typ: "tty", since: base}, {typ: "tty", since: base.Add(time.Second)}})
	if got, _, _ := l.LastInput(t.Context()); !got.Equal(base) {
		t.Errorf("LastInput = %v right after a login; want %v from the kept list", got, base)
	}
	t1 := base.Add(-time.Hour)
	t2 := base.Add(-5 * time.Minute)
	tests := []struct {
		name     string
		sessions []fakeSession
		want     time.Time // zero: ok false; now: the time of the call
		now      bool
	}{
		{name: "nobody logged in"},
		{
			name: "idle desktop and a text session typed in later",
			sessions: []fakeSession{
				{typ: "wayland", idle: true, since: t1},
				{typ: "tty", since: t2},
				{typ: "unspecified"},
			},
			want: t2,
		},
		{
			name:     "active desktop",
			sessions: []fakeSession{{typ: "x11", since: t1}, {typ: "tty", since: t2}},
			now:      true,
		},
		{name: "only sessions that cannot tell", sessions: []fakeSession{{typ: "wayland"}, {typ: "unspecified"}}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.set(t, i, tt.sessions)
			clock = clock.Add(relistAfter)
			got, ok, err := l.LastInput(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.now:
				if !ok || !got.Equal(clock) {
					t.Errorf("LastInput = %v, %v; want now, %v", got, ok, clock)
				}
			case tt.want.IsZero():
				if ok {
					t.Errorf("LastInput = %v, ok; want ok false", got)
				}
			default:
				if !ok || !got.Equal(tt.want) {
					t.Errorf("LastInput = %v, %v; want %v", got, ok, tt.want)
				}
			}
		})
	}
}

// TestLogindGivesUpOnABusThatDoesNotAnswer checks that a stuck bus cannot
// hold the sampler: the caller's context ends the attempt.
func TestLogindGivesUpOnABusThatDoesNotAnswer(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "bus")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+socket)

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			defer conn.Close()
		}
		cancel() // the caller gives up while the bus says nothing
		<-t.Context().Done()
	}()
	l := &Logind{}
	defer l.Close()
	if _, ok, err := l.LastInput(ctx); ok || err == nil {
		t.Errorf("LastInput ok %v, err %v; want ok false and the reason", ok, err)
	}
}

// startBus starts a private dbus-daemon and returns its address.
func startBus(t *testing.T) string {
	t.Helper()
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		requireUnderCI(t, "dbus-daemon (Debian package dbus; scripts/test installs it)")
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "bus.conf")
	err = os.WriteFile(config, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(daemon, "--config-file="+config, "--nofork", "--print-address")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // even if the test binary dies
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// The daemon prints its address once it listens.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read dbus-daemon's address: %v", err)
	}
	return line[:len(line)-1]
}

type fakeSession struct {
	typ   string
	idle  bool
	since time.Time // zero: the session does not know
}

type sessionRow struct {
	ID   string
	UID  uint32
	User string
	Seat string
	Path dbus.ObjectPath
}

// fakeLogind answers ListSessions; each session's properties are exported
// on its own path.
type fakeLogind struct {
	conn *dbus.Conn
	mu   sync.Mutex
	rows []sessionRow
}

func (f *fakeLogind) ListSessions() ([]sessionRow, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rows, nil
}

func (f *fakeLogind) set(t *testing.T, test int, sessions []fakeSession) {
	t.Helper()
	rows := []sessionRow{}
	for i, s := range sessions {
		path := dbus.ObjectPath(fmt.Sprintf("/org/freedesktop/login1/session/t%d_%d", test, i))
		var since uint64
		if !s.since.IsZero() {
			since = uint64(s.since.UnixMicro())
		}
		_, err := prop.Export(f.conn, path, prop.Map{"org.freedesktop.login1.Session": {
			"Type":          {Value: s.typ},
			"IdleHint":      {Value: s.idle},
			"IdleSinceHint": {Value: since},
			"Class":         {Value: "user"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, sessionRow{ID: fmt.Sprint(i), UID: 1000, User: "ada", Seat: "seat0", Path: path})
	}
	f.mu.Lock()
	f.rows = rows
	f.mu.Unlock()
}

func serveLogind(t *testing.T, address string) *fakeLogind {
	t.Helper()
	conn, err := dbus.Connect(address)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f := &fakeLogind{conn: conn}
	if err := conn.Export(f, "/org/freedesktop/login1", "org.freedesktop.login1.Manager"); err != nil {
		t.Fatal(err)
	}
	reply, err := conn.RequestName("org.freedesktop.login1", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own org.freedesktop.login1: %v, %v", reply, err)
	}
	return f
}
