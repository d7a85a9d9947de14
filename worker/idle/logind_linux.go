package idle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// Logind asks systemd-logind, over the system D-Bus, for the idle hints of
// the login sessions: desktops (GNOME, KDE and others) report there whether
// their user is idle, which is the only view of Wayland input an unprivileged
// program gets. The client is github.com/godbus/dbus/v5: pure Go, so the
// worker still builds without cgo, and the D-Bus library most Go programs use
// (go-systemd builds on it).
type Logind struct {
	mu       sync.Mutex
	conn     *dbus.Conn
	cancel   context.CancelFunc // ends conn's context
	retryAt  time.Time
	sessions []dbus.ObjectPath // as listed at listedAt
	listedAt time.Time
	now      func() time.Time // time.Now if nil; tests move it
}

// relistAfter is how long a list of sessions is used before it is asked
// for again. Asking every session's hints is one call each; listing them
// too would double the calls of every poll to catch a login, rare and
// usually seen by the other sources as it happens.
const relistAfter = 5 * time.Second

// LastInput is ok when at least one session knows its idleness; a PC with
// no bus, no logind or nobody logged in returns ok false.
func (l *Logind) LastInput(ctx context.Context) (time.Time, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.now != nil {
		now = l.now()
	}
	if l.conn == nil || !l.conn.Connected() {
		if now.Before(l.retryAt) {
			return time.Time{}, false, nil
		}
		if err := l.connect(ctx); err != nil {
			l.retryAt = now.Add(redialAfter)
			if absent(err) {
				return time.Time{}, false, nil
			}
			return time.Time{}, false, fmt.Errorf("connect to the system bus: %w", err)
		}
	}
	if l.listedAt.IsZero() || now.Sub(l.listedAt) >= relistAfter {
		if now.Before(l.retryAt) {
			return time.Time{}, false, nil // logind was not there a moment ago
		}
		if err := l.list(ctx); err != nil {
			if noService(err) {
				l.retryAt = now.Add(redialAfter)
				return time.Time{}, false, nil
			}
			return time.Time{}, false, fmt.Errorf("list logind sessions: %w", err)
		}
		l.listedAt = now
	}

	var last time.Time
	ok := false
	for _, path := range l.sessions {
		var props map[string]dbus.Variant
		err := l.conn.Object("org.freedesktop.login1", path).
			CallWithContext(ctx, "org.freedesktop.DBus.Properties.GetAll", 0, "org.freedesktop.login1.Session").Store(&props)
		if err != nil {
			l.listedAt = time.Time{} // the session ended since the list; list again next time
			continue
		}
		typ, _ := props["Type"].Value().(string)
		hint, _ := props["IdleHint"].Value().(bool)
		since, _ := props["IdleSinceHint"].Value().(uint64)
		if t, known := sessionLastInput(typ, hint, since, now); known {
			ok = true
			if t.After(last) {
				last = t
			}
		}
	}
	return last, ok, nil
}

// list asks logind for the login sessions' object paths.
func (l *Logind) list(ctx context.Context) error {
	var sessions []struct {
		ID   string
		UID  uint32
		User string
		Seat string
		Path dbus.ObjectPath
	}
	err := l.conn.Object("org.freedesktop.login1", "/org/freedesktop/login1").
		CallWithContext(ctx, "org.freedesktop.login1.Manager.ListSessions", 0).Store(&sessions)
	if err != nil {
		return err
	}
	l.sessions = l.sessions[:0]
	for _, s := range sessions {
		l.sessions = append(l.sessions, s.Path)
	}
	return nil
}

// connect dials the system bus. The connection outlives this call, so it
// has a context of its own; ctx only cuts short a bus that does not answer.
func (l *Logind) connect(ctx context.Context) error {
	l.close() // a broken connection; its close error adds nothing
	address := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS")
	if address == "" {
		// The D-Bus specification's default. Not dbus.ConnectSystemBus: it
		// reports a missing bus in an error we could not tell apart.
		address = "unix:path=/var/run/dbus/system_bus_socket"
	}
	connCtx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	conn, err := dbus.Connect(address, dbus.WithContext(connCtx))
	if !stop() {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		cancel()
		return err
	}
	l.conn, l.cancel = conn, cancel
	return nil
}

// sessionLastInput reads one session's hints. IdleSinceHint (µs since the
// epoch) is when a graphical session's desktop last changed the idle hint,
// or a text session's terminal access time; zero means the session does not
// know (a desktop that never sets the hint, a session without a terminal).
// A graphical session not idle has its user at it now. One that went idle
// did so after the desktop's own delay, so its last input came earlier than
// the hint says; taking the hint errs toward waiting longer.
func sessionLastInput(typ string, idleHint bool, sinceMicros uint64, now time.Time) (time.Time, bool) {
	if sinceMicros == 0 {
		return time.Time{}, false
	}
	switch typ {
	case "x11", "wayland", "mir":
		if !idleHint {
			return now, true
		}
	}
	return time.UnixMicro(int64(sinceMicros)), true
}

// noService tells whether a call failed because logind is not running.
func noService(err error) bool {
	var de dbus.Error
	if !errors.As(err, &de) {
		return false
	}
	switch de.Name {
	case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner":
		return true
	}
	return false
}

// Close closes the bus connection.
func (l *Logind) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.close()
}

func (l *Logind) close() error {
	if l.conn == nil {
		return nil
	}
	err := l.conn.Close()
	l.cancel()
	l.conn, l.cancel, l.listedAt = nil, nil, time.Time{}
	if err != nil {
		return fmt.Errorf("close system bus connection: %w", err)
	}
	return nil
}
