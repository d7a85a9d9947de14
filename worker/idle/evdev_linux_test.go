package idle

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// inputEvent is struct input_event on a 64-bit machine.
type inputEvent struct {
	Sec, Usec  int64
	Type, Code uint16
	Value      int32
}

const (
	evSyn = 0
	evMsc = 4
	evLed = 17
)

func events(t *testing.T, evs ...inputEvent) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, e := range evs {
		if err := binary.Write(&b, binary.NativeEndian, e); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func at(t time.Time, typ uint16) inputEvent {
	return inputEvent{Sec: t.Unix(), Usec: int64(t.Nanosecond() / 1000), Type: typ, Code: 30, Value: 1}
}

func TestLastUserEvent(t *testing.T) {
	if strconv.IntSize != 64 {
		t.Skip("the fixtures are the 64-bit struct input_event")
	}
	t1 := base.Add(250 * time.Millisecond)
	t2 := base.Add(time.Second + 500*time.Microsecond)
	tests := []struct {
		name   string
		b      []byte
		want   time.Time
		wantOK bool
	}{
		{name: "nothing", b: nil},
		{name: "a key press and its frame", b: events(t, at(t1, evMsc), at(t1, evKey), at(t1, evSyn)), want: t1, wantOK: true},
		{name: "mouse motion then a touch", b: events(t, at(t1, evRel), at(t1, evSyn), at(t2, evAbs), at(t2, evSyn)), want: t2, wantOK: true},
		{name: "frames alone are no input", b: events(t, at(t1, evSyn), at(t2, evSyn))},
		{name: "scancodes and LEDs alone are no input", b: events(t, at(t1, evMsc), at(t2, evLed))},
		{name: "a torn event at the end is ignored", b: append(events(t, at(t1, evKey)), events(t, at(t2, evKey))[:10]...), want: t1, wantOK: true},
		{name: "less than one event", b: events(t, at(t2, evKey))[:eventSize-1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := lastUserEvent(tt.b)
			if !got.Equal(tt.want) || ok != tt.wantOK {
				t.Errorf("lastUserEvent = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestUserDevice(t *testing.T) {
	tests := []struct {
		name string
		caps string // capabilities/ev; "" leaves the file out
		want bool
	}{
		{name: "keyboard", caps: "120013\n", want: true},
		{name: "mouse", caps: "17\n", want: true},
		{name: "touchscreen", caps: "b\n", want: true},
		{name: "accelerometer", caps: "9\n", want: false},
		{name: "lid switch", caps: "21\n", want: false},
		{name: "wide bitmap, keys in the last word", caps: "1 3\n", want: true},
		{name: "sysfs cannot tell", caps: "", want: true},
		{name: "garbled", caps: "zz\n", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.caps != "" {
				dir := filepath.Join(root, "sys", "class", "input", "event0", "device", "capabilities")
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "ev"), []byte(tt.caps), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if got := userDevice(root, "event0"); got != tt.want {
				t.Errorf("userDevice = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestEventDevicesFollowADevice feeds a fake device (a FIFO) through the real
// readers: events are seen, and the source goes blind when the device goes.
func TestEventDevicesFollowADevice(t *testing.T) {
	if strconv.IntSize != 64 {
		t.Skip("the fixtures are the 64-bit struct input_event")
	}
	root := t.TempDir()
	input := filepath.Join(root, "dev", "input")
	if err := os.MkdirAll(input, 0o755); err != nil {
		t.Fatal(err)
	}
	device := filepath.Join(input, "event0")
	if err := syscall.Mkfifo(device, 0o600); err != nil {
		t.Fatal(err)
	}
	// A node that is not an event device, to be left alone.
	if err := os.WriteFile(filepath.Join(input, "mice"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	writer, err := os.OpenFile(device, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()

	e := &EventDevices{Root: root}
	defer e.Close()
	start, ok, err := e.LastInput(t.Context())
	if err != nil || !ok || start.IsZero() {
		t.Fatalf("LastInput = %v, %v, %v; want the start of watching", start, ok, err)
	}

	pressed := start.Add(time.Hour).Truncate(time.Microsecond)
	if _, err := writer.Write(events(t, at(pressed, evKey), at(pressed, evSyn))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the key press", func() bool {
		got, ok, _ := e.LastInput(t.Context())
		return ok && got.Equal(pressed)
	})

	writer.Close() // the device is unplugged
	waitFor(t, "the device to go", func() bool {
		_, ok, _ := e.LastInput(t.Context())
		return !ok
	})
}

func TestEventDevicesWithoutDevicesCannotSee(t *testing.T) {
	e := &EventDevices{Root: t.TempDir()}
	defer e.Close()
	if _, ok, err := e.LastInput(t.Context()); ok || err != nil {
		t.Errorf("LastInput ok %v, err %v; want ok false and no error", ok, err)
	}
}

// waitFor polls cond until it holds: the readers run on their own goroutines.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
