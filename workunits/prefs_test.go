package workunits

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestWebPreferencesValidate(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	s := func(v string) *string { return &v }
	yes := true
	tests := []struct {
		name    string
		prefs   WebPreferences
		wantErr []string // each must be in the message; none: valid
	}{
		{name: "nothing set", prefs: WebPreferences{}},
		{name: "all set", prefs: WebPreferences{IdleMinutes: f(0), MaxOtherCPUPercent: f(100), RunOnBattery: &yes,
			ActiveHours: s("mon-fri 18:00-08:00; sat,sun 00:00-24:00")}},
		{name: "any time", prefs: WebPreferences{ActiveHours: s("")}},
		{name: "longest idle", prefs: WebPreferences{IdleMinutes: f(1440)}},
		{name: "idle too long", prefs: WebPreferences{IdleMinutes: f(1440.5)}, wantErr: []string{"idle_minutes"}},
		{name: "idle negative", prefs: WebPreferences{IdleMinutes: f(-1)}, wantErr: []string{"idle_minutes"}},
		{name: "idle NaN", prefs: WebPreferences{IdleMinutes: f(math.NaN())}, wantErr: []string{"idle_minutes"}},
		{name: "cpu zero", prefs: WebPreferences{MaxOtherCPUPercent: f(0)}, wantErr: []string{"max_other_cpu_percent"}},
		{name: "cpu over 100", prefs: WebPreferences{MaxOtherCPUPercent: f(101)}, wantErr: []string{"max_other_cpu_percent"}},
		{name: "bad hours", prefs: WebPreferences{ActiveHours: s("someday 18:00-08:00")}, wantErr: []string{"active hours"}},
		{name: "hours too long", prefs: WebPreferences{ActiveHours: s(strings.Repeat("mon 18:00-19:00;", 40))}, wantErr: []string{"active_hours"}},
		{name: "every error at once", prefs: WebPreferences{IdleMinutes: f(-1), MaxOtherCPUPercent: f(0), ActiveHours: s("mon 25:00-26:00")},
			wantErr: []string{"idle_minutes", "max_other_cpu_percent", "active hours"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.prefs.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if ErrorCode(err) != EINVALID {
				t.Fatalf("Validate() = %v, want an invalid error", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(ErrorMessage(err), w) {
					t.Errorf("message %q does not mention %q", ErrorMessage(err), w)
				}
			}
		})
	}
}

func TestWebPreferencesSetAndNormalized(t *testing.T) {
	idle, hours := 5.0, "  mon 09:00-17:00 "
	p := WebPreferences{IdleMinutes: &idle, ActiveHours: &hours}.Normalized()
	if got := strings.Join(p.Set(), ","); got != "idle_minutes,active_hours" {
		t.Errorf("Set() = %s", got)
	}
	if *p.ActiveHours != "mon 09:00-17:00" || hours != "  mon 09:00-17:00 " {
		t.Errorf("Normalized active hours = %q (the original now %q)", *p.ActiveHours, hours)
	}
}

func TestHostStateValidate(t *testing.T) {
	ok := HostState{State: HostSuspended, Reason: "user_active", Detail: "input 3s ago", TasksRunning: 2, At: time.Now()}
	tests := []struct {
		name    string
		edit    func(s *HostState)
		wantErr string
	}{
		{name: "valid", edit: func(*HostState) {}},
		{name: "idle, no reason", edit: func(s *HostState) { s.State, s.Reason, s.Detail, s.TasksRunning = HostIdle, "", "", 0 }},
		{name: "unknown state", edit: func(s *HostState) { s.State = "asleep" }, wantErr: "state must be"},
		{name: "empty state", edit: func(s *HostState) { s.State = "" }, wantErr: "state must be"},
		{name: "reason with spaces", edit: func(s *HostState) { s.Reason = "user active" }, wantErr: "reason"},
		{name: "reason too long", edit: func(s *HostState) { s.Reason = strings.Repeat("a", 65) }, wantErr: "reason"},
		{name: "detail too long", edit: func(s *HostState) { s.Detail = strings.Repeat("é", 300) }, wantErr: "detail"},
		{name: "detail not UTF-8", edit: func(s *HostState) { s.Detail = "\xff" }, wantErr: "detail"},
		{name: "tasks negative", edit: func(s *HostState) { s.TasksRunning = -1 }, wantErr: "tasks_running"},
		{name: "tasks too many", edit: func(s *HostState) { s.TasksRunning = 5000 }, wantErr: "tasks_running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ok
			tt.edit(&s)
			err := s.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an invalid error about %s", err, tt.wantErr)
			}
		})
	}
}
