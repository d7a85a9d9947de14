package idle

import (
	"os"
	"testing"
	"time"
)

func TestDisplaySocket(t *testing.T) {
	tests := []struct {
		display string
		want    string
		wantOK  bool
	}{
		{display: ":0", want: "/tmp/.X11-unix/X0", wantOK: true},
		{display: ":1.0", want: "/tmp/.X11-unix/X1", wantOK: true},
		{display: "unix:12", want: "/tmp/.X11-unix/X12", wantOK: true},
		{display: ""},
		{display: "localhost:10.0"},
		{display: "otherhost:0"},
		{display: "tcp/otherhost:0"},
		{display: ":"},
		{display: ":x"},
	}
	for _, tt := range tests {
		t.Run(tt.display, func(t *testing.T) {
			got, ok := displaySocket(tt.display)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("displaySocket(%q) = %q, %v; want %q, %v", tt.display, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestX11WithoutALocalDisplayCannotSee(t *testing.T) {
	t.Setenv("DISPLAY", "")
	for _, display := range []string{"", ":97", "otherhost:0"} {
		x := &X11{Display: display}
		if _, ok, err := x.LastInput(t.Context()); ok || err != nil {
			t.Errorf("display %q: ok %v, err %v; want ok false and no error", display, ok, err)
		}
		x.Close()
	}
}

// TestX11OnThisMachine runs the real source on $DISPLAY. On a headless box it
// must say it cannot see; elsewhere whatever it sees must be a real time.
func TestX11OnThisMachine(t *testing.T) {
	x := &X11{}
	defer x.Close()
	got, ok, err := x.LastInput(t.Context())
	t.Logf("x11: %v, ok %v, err %v", got, ok, err)
	if socket, local := displaySocket(os.Getenv("DISPLAY")); !local || !exists(socket) {
		if ok || err != nil {
			t.Errorf("without a display: ok %v, err %v; want ok false and no error", ok, err)
		}
	}
	if ok && (got.IsZero() || got.After(time.Now())) {
		t.Errorf("last input %v is not a past time", got)
	}
}
