package idle

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/screensaver"
	"github.com/jezek/xgb/xproto"
)

// X11 asks the X server for the time since the user's last input, through
// the MIT-SCREEN-SAVER extension that screen savers use, with the pure-Go
// client github.com/jezek/xgb. Under Wayland, Xwayland sees only input to X
// windows, so it may report the user idle while they type elsewhere;
// Combined takes the newest answer, so this can add activity, never hide it.
type X11 struct {
	Display string // $DISPLAY when empty

	mu      sync.Mutex
	conn    *xgb.Conn
	root    xproto.Window
	retryAt time.Time
}

// LastInput is ok false without an X server on this machine. A display on
// another host (ssh -X, a remote X server) is another PC's keyboard, and
// dialing it could block for minutes, so it is not asked.
func (x *X11) LastInput(context.Context) (time.Time, bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	display := x.Display
	if display == "" {
		display = os.Getenv("DISPLAY")
	}
	socket, local := displaySocket(display)
	if !local {
		return time.Time{}, false, nil
	}
	now := time.Now()
	if x.conn == nil {
		if _, err := os.Stat(socket); err != nil || now.Before(x.retryAt) {
			return time.Time{}, false, nil
		}
		if err := x.connect(display); err != nil {
			x.retryAt = now.Add(redialAfter)
			return time.Time{}, false, err
		}
	}
	info, err := screensaver.QueryInfo(x.conn, xproto.Drawable(x.root)).Reply()
	if err != nil {
		x.conn.Close()
		x.conn = nil
		return time.Time{}, false, fmt.Errorf("query X screen saver info: %w", err)
	}
	return now.Add(-time.Duration(info.MsSinceUserInput) * time.Millisecond), true, nil
}

// quietXGB stops xgb logging to stderr through its package-level Logger:
// the Sampler reports what went wrong through the worker's own log.
var quietXGB sync.Once

func (x *X11) connect(display string) error {
	quietXGB.Do(func() { xgb.Logger = log.New(io.Discard, "", 0) })
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		return fmt.Errorf("connect to X display %s: %w", display, err)
	}
	if err := screensaver.Init(conn); err != nil {
		conn.Close()
		return fmt.Errorf("X display %s: %w", display, err)
	}
	x.conn = conn
	x.root = xproto.Setup(conn).DefaultScreen(conn).Root
	return nil
}

// displaySocket returns the Unix socket of a display on this machine, such
// as ":0" or "unix:1.0".
func displaySocket(display string) (string, bool) {
	num, ok := strings.CutPrefix(display, ":")
	if !ok {
		num, ok = strings.CutPrefix(display, "unix:")
	}
	num, _, _ = strings.Cut(num, ".")
	if !ok || !digits(num) {
		return "", false
	}
	return "/tmp/.X11-unix/X" + num, true
}

// Close closes the display connection.
func (x *X11) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.conn != nil {
		x.conn.Close()
		x.conn = nil
	}
	return nil
}
