package main

import (
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/worker/policy"
)

func TestPreferencesFileThenFlags(t *testing.T) {
	tests := []struct {
		name    string
		file    string // preferences.json; none if empty
		args    []string
		want    func(p *policy.Preferences)
		wantErr bool
	}{
		{name: "neither: defaults", want: func(*policy.Preferences) {}},
		{
			name: "the file", file: `{"idle_minutes": 10, "run_on_battery": true}`,
			want: func(p *policy.Preferences) { p.IdleMinutes, p.RunOnBattery = 10, true },
		},
		{
			name: "a flag given overrides the file; one not given does not",
			file: `{"idle_minutes": 10, "cpu_throttle_percent": 50}`,
			args: []string{"--idle-minutes", "0", "--suspend-on-input=false", "--max-other-cpu", "100", "--max-cores", "50",
				"--task-memory-mib", "256", "--total-memory-mib", "1024", "--disk-mib", "100", "--run-on-battery",
				"--active-hours", "sat 09:00-17:00"},
			want: func(p *policy.Preferences) {
				p.IdleMinutes, p.SuspendOnInput, p.MaxOtherCPUPercent, p.MaxCoresPercent = 0, false, 100, 50
				p.TaskMemoryMiB, p.TotalMemoryMiB, p.DiskMiB, p.RunOnBattery = 256, 1024, 100, true
				p.CPUThrottlePercent = 50
				p.ActiveHours = policy.Week{time.Saturday: {{Start: 9 * 60, End: 17 * 60}}}
			},
		},
		{name: "a bad flag value", args: []string{"--cpu-throttle", "0"}, wantErr: true},
		{name: "bad active hours", args: []string{"--active-hours", "someday"}, wantErr: true},
		{name: "a bad file", file: `{"idle_minutes": "soon"}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.file != "" {
				if err := os.WriteFile(filepath.Join(dir, preferencesFile), []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			var pf prefFlags
			pf.define(fs)
			err := fs.Parse(tt.args)
			var got policy.Preferences
			if err == nil {
				got, err = pf.preferences(fs, dir)
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			want := policy.Defaults()
			tt.want(&want)
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			if string(gb) != string(wb) {
				t.Errorf("preferences\n got %s\nwant %s", gb, wb)
			}
		})
	}
}
