package idle

import (
	"path/filepath"
	"testing"
	"time"
)

func TestSessionLastInput(t *testing.T) {
	now := base
	since := uint64(base.Add(-10 * time.Minute).UnixMicro())
	tests := []struct {
		name   string
		typ    string
		hint   bool
		since  uint64
		want   time.Time
		wantOK bool
	}{
		{name: "desktop reports its user active", typ: "wayland", since: since, want: now, wantOK: true},
		{name: "desktop reports its user idle", typ: "x11", hint: true, since: since, want: base.Add(-10 * time.Minute), wantOK: true},
		{name: "desktop that never sets the hint", typ: "wayland"},
		{name: "text session: the terminal's access time", typ: "tty", since: since, want: base.Add(-10 * time.Minute), wantOK: true},
		{name: "text session that logind cannot time", typ: "tty"},
		{name: "session without a terminal", typ: "unspecified"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := sessionLastInput(tt.typ, tt.hint, tt.since, now)
			if !got.Equal(tt.want) || ok != tt.wantOK {
				t.Errorf("sessionLastInput = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestLogindWithoutABusCannotSee(t *testing.T) {
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "no-bus"))
	l := &Logind{}
	defer l.Close()
	if _, ok, err := l.LastInput(t.Context()); ok || err != nil {
		t.Errorf("LastInput ok %v, err %v; want ok false and no error", ok, err)
	}
}
