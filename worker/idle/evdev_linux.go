package idle

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EventDevices sees every keyboard, mouse and touch device through
// /dev/input/event*, where it may read them (root, or the input group). One
// goroutine per device blocks in read, so an idle PC costs no CPU. Devices
// are looked for again at most every rescanEvery, during LastInput, so that
// plugged-in ones are picked up; a reader whose device is unplugged ends.
type EventDevices struct {
	Root string // "/" when empty

	mu      sync.Mutex
	open    map[string]*os.File // by path
	last    time.Time
	scanned time.Time
	closed  bool
	readers sync.WaitGroup
}

const rescanEvery = 5 * time.Second

// LastInput is ok while at least one device is open. Before any event we
// count the moment watching began as input: what came before is unknown, and
// assuming the user just left is the cautious guess.
func (e *EventDevices) LastInput(context.Context) (time.Time, bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return time.Time{}, false, nil
	}
	var err error
	if now := time.Now(); now.Sub(e.scanned) >= rescanEvery {
		e.scanned = now
		err = e.scan(now)
	}
	if len(e.open) == 0 {
		return time.Time{}, false, err
	}
	return e.last, true, err
}

// scan opens the devices not yet open. e.mu is held.
func (e *EventDevices) scan(now time.Time) error {
	if e.open == nil {
		e.open = make(map[string]*os.File)
	}
	root := rootDir(e.Root)
	dir := filepath.Join(root, "dev", "input")
	var errs []error
	for _, name := range names(dir) {
		path := filepath.Join(dir, name)
		if !strings.HasPrefix(name, "event") || e.open[path] != nil || !userDevice(root, name) {
			continue
		}
		// O_NONBLOCK puts the descriptor on Go's poller, so that Close
		// wakes a reader blocked in Read.
		f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			if !absent(err) {
				errs = append(errs, fmt.Errorf("open input device: %w", err))
			}
			continue
		}
		if e.last.IsZero() {
			e.last = now
		}
		e.open[path] = f
		e.readers.Go(func() { e.read(path, f) })
	}
	return errors.Join(errs...)
}

func (e *EventDevices) read(path string, f *os.File) {
	buf := make([]byte, 64*eventSize)
	for {
		n, err := f.Read(buf)
		if t, ok := lastUserEvent(buf[:n]); ok {
			e.mu.Lock()
			if t.After(e.last) {
				e.last = t
			}
			e.mu.Unlock()
		}
		if err != nil { // unplugged (ENODEV), or closed by Close
			break
		}
	}
	e.mu.Lock()
	if e.open[path] == f {
		delete(e.open, path)
	}
	e.mu.Unlock()
	f.Close()
}

// Close stops the readers and waits for them to end.
func (e *EventDevices) Close() error {
	e.mu.Lock()
	e.closed = true
	var errs []error
	for _, f := range e.open {
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close input device: %w", err))
		}
	}
	e.open = nil
	e.mu.Unlock()
	e.readers.Wait()
	return errors.Join(errs...)
}

// userDevice leaves out devices that report only absolute axes without keys
// or buttons, such as a laptop's accelerometer, which would report "input"
// every time the desk shakes. When sysfs cannot tell, the device is read.
func userDevice(root, name string) bool {
	b, err := os.ReadFile(filepath.Join(root, "sys", "class", "input", name, "device", "capabilities", "ev"))
	if err != nil {
		return true
	}
	words := strings.Fields(string(b))
	if len(words) == 0 {
		return true
	}
	// The bitmap is printed as hex words, most significant first; the event
	// types we want all sit in the last word.
	bits, err := strconv.ParseUint(words[len(words)-1], 16, 64)
	if err != nil {
		return true
	}
	return bits&(1<<evKey|1<<evRel) != 0
}

// Event types from linux/input-event-codes.h.
const (
	evKey = 1 // keys and buttons
	evRel = 2 // mouse motion, wheels
	evAbs = 3 // touchpads, touchscreens, tablets
)

// struct input_event is a struct timeval (two longs) then u16 type, u16 code
// and s32 value, in the machine's byte order.
const (
	longSize  = strconv.IntSize / 8 // Go's int is a C long on Linux
	eventSize = 2*longSize + 8
)

// lastUserEvent returns the kernel's timestamp of the last key, button,
// relative or absolute event among the whole input_event structs in b. Other
// types are skipped: EV_SYN only closes a frame of the events that carry the
// action (and reports dropped events), EV_MSC repeats scancodes of keys
// already counted, and EV_LED or EV_SND are output that software sends to a
// device, not something the user did.
func lastUserEvent(b []byte) (time.Time, bool) {
	var last time.Time
	ok := false
	for ; len(b) >= eventSize; b = b[eventSize:] {
		switch binary.NativeEndian.Uint16(b[2*longSize:]) {
		case evKey, evRel, evAbs:
		default:
			continue
		}
		sec, usec := long(b), long(b[longSize:])
		last, ok = time.Unix(sec, usec*1000), true
	}
	return last, ok
}

func long(b []byte) int64 {
	if longSize == 8 {
		return int64(binary.NativeEndian.Uint64(b))
	}
	return int64(int32(binary.NativeEndian.Uint32(b)))
}
