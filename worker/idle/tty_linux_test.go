package idle

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTTYsTakeTheNewestAccessTime(t *testing.T) {
	tests := []struct {
		name   string
		atimes map[string]time.Time // path under /dev → access time
		want   time.Time
		wantOK bool
	}{
		{
			name: "typing in an ssh session",
			atimes: map[string]time.Time{
				"tty1": base, "tty63": base.Add(-time.Hour),
				"pts/0": base.Add(time.Minute), "pts/3": base.Add(-time.Minute),
			},
			want: base.Add(time.Minute), wantOK: true,
		},
		{
			name:   "typing on a console",
			atimes: map[string]time.Time{"tty2": base.Add(time.Hour), "pts/0": base},
			want:   base.Add(time.Hour), wantOK: true,
		},
		{
			name: "aliases, serial lines and the pty master are not terminals we watch",
			atimes: map[string]time.Time{
				"tty": base.Add(time.Hour), "ttyS0": base.Add(time.Hour), "pts/ptmx": base.Add(time.Hour),
				"tty1": base,
			},
			want: base, wantOK: true,
		},
		{
			name:   "only other files",
			atimes: map[string]time.Time{"tty": base, "ttyS0": base, "pts/ptmx": base, "null": base},
		},
		{name: "no /dev at all"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, at := range tt.atimes {
				p := filepath.Join(root, "dev", name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, nil, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(p, at, base.Add(-24*time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			got, ok, err := TTYs{Root: root}.LastInput(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) || ok != tt.wantOK {
				t.Errorf("LastInput = %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
