package idle

import "testing"

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
