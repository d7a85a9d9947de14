// Package policy decides, from a volunteer's preferences and what the PC is
// doing, whether the worker may compute now, and why not when it may not.
// It does no I/O: the worker feeds it observations and acts on its answers.
package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Preferences say when and how much a volunteer lets the worker compute.
// The zero value is not meaningful; start from Defaults.
type Preferences struct {
	// IdleMinutes is how long the PC must go without keyboard or mouse
	// input before tasks start (and, after input, resume).
	IdleMinutes float64 `json:"idle_minutes"`
	// SuspendOnInput suspends running tasks as soon as input resumes.
	// Without it, tasks keep running (at the lowest priority) while the
	// owner works; IdleMinutes still gates the start.
	SuspendOnInput bool `json:"suspend_on_input"`
	// MaxOtherCPUPercent suspends tasks while other programs use more than
	// this share of all cores; they resume once the load falls below
	// ResumeCPUPercent. 100 turns the check off.
	MaxOtherCPUPercent float64 `json:"max_other_cpu_percent"`
	RunOnBattery       bool    `json:"run_on_battery"`
	// MaxCoresPercent caps the tasks run at once to this share of the cores
	// (at least one).
	MaxCoresPercent int `json:"max_cores_percent"`
	// CPUThrottlePercent runs tasks for this share of each second and pauses
	// them for the rest, for PCs whose fans or batteries mind full load.
	CPUThrottlePercent int `json:"cpu_throttle_percent"`
	TaskMemoryMiB      int `json:"task_memory_mib"`  // per task; the sandbox's cap
	TotalMemoryMiB     int `json:"total_memory_mib"` // all tasks together; 0: TaskMemoryMiB × tasks
	DiskMiB            int `json:"disk_mib"`         // the state directory's tasks and modules
	// ActiveHours, when not empty, limits computing to these hours of the
	// PC's local time; a weekday without an entry is not active.
	ActiveHours Week `json:"active_hours,omitempty"`
}

// Defaults are the preferences of a new worker.
func Defaults() Preferences {
	return Preferences{
		IdleMinutes:        3,
		SuspendOnInput:     true,
		MaxOtherCPUPercent: 25,
		RunOnBattery:       false,
		MaxCoresPercent:    100,
		CPUThrottlePercent: 100,
		TaskMemoryMiB:      512,
		DiskMiB:            2048,
	}
}

// Validate reports every out-of-range preference at once.
func (p Preferences) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(p.IdleMinutes >= 0 && p.IdleMinutes <= 24*60, "idle_minutes must be between 0 and 1440, got %v", p.IdleMinutes)
	check(p.MaxOtherCPUPercent > 0 && p.MaxOtherCPUPercent <= 100, "max_other_cpu_percent must be above 0 and at most 100, got %v", p.MaxOtherCPUPercent)
	check(p.MaxCoresPercent >= 1 && p.MaxCoresPercent <= 100, "max_cores_percent must be between 1 and 100, got %d", p.MaxCoresPercent)
	check(p.CPUThrottlePercent >= 1 && p.CPUThrottlePercent <= 100, "cpu_throttle_percent must be between 1 and 100, got %d", p.CPUThrottlePercent)
	check(p.TaskMemoryMiB >= 16 && p.TaskMemoryMiB <= 65536, "task_memory_mib must be between 16 and 65536, got %d", p.TaskMemoryMiB)
	check(p.TotalMemoryMiB == 0 || p.TotalMemoryMiB >= p.TaskMemoryMiB,
		"total_memory_mib must be 0 (no cap) or at least task_memory_mib (%d), got %d", p.TaskMemoryMiB, p.TotalMemoryMiB)
	check(p.DiskMiB >= 64, "disk_mib must be at least 64, got %d", p.DiskMiB)
	return errors.Join(errs...)
}

// ParsePreferences reads a preferences file: fields it leaves out keep
// their defaults, unknown fields are errors (a misspelt one would
// otherwise be silently ignored).
func ParsePreferences(b []byte) (Preferences, error) {
	p := Defaults()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("reading preferences: %w", err)
	}
	return p, p.Validate()
}

// ResumeCPUPercent is the load under which tasks suspended for other
// programs' CPU use resume. The gap keeps a load hovering at the limit from
// starting and stopping tasks every second.
func (p Preferences) ResumeCPUPercent() float64 {
	return max(p.MaxOtherCPUPercent-10, p.MaxOtherCPUPercent/2)
}

// Slots is how many tasks may run at once on a PC with cores cores, by
// the core share and the memory caps.
func (p Preferences) Slots(cores int) int {
	n := max(1, cores*p.MaxCoresPercent/100)
	if p.TotalMemoryMiB > 0 {
		n = min(n, max(1, p.TotalMemoryMiB/p.TaskMemoryMiB))
	}
	return n
}

// Throttle splits each second into running and paused time by
// CPUThrottlePercent; pause is 0 when there is no throttling.
func (p Preferences) Throttle() (run, pause time.Duration) {
	run = time.Second * time.Duration(p.CPUThrottlePercent) / 100
	return run, time.Second - run
}

// Week is the active hours of each weekday.
type Week map[time.Weekday][]Span

// Span is a stretch of a day, in minutes after midnight. An End at or
// before Start wraps past midnight into the next day: 22:00-07:00.
type Span struct{ Start, End int }

func (s Span) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", s.Start/60, s.Start%60, s.End/60, s.End%60)
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Active says whether local time t falls in an active span: today's, or
// yesterday's running on past midnight. An empty week is always active.
func (w Week) Active(t time.Time) bool {
	if len(w) == 0 {
		return true
	}
	minute := t.Hour()*60 + t.Minute()
	for _, s := range w[t.Weekday()] {
		if s.End > s.Start && minute >= s.Start && minute < s.End ||
			s.End <= s.Start && minute >= s.Start {
			return true
		}
	}
	for _, s := range w[(t.Weekday()+6)%7] {
		if s.End <= s.Start && minute < s.End {
			return true
		}
	}
	return false
}

// ParseWeek reads active hours written as "mon-fri 18:00-08:00; sat,sun
// 00:00-24:00": day lists or ranges, then one or more spans.
func ParseWeek(s string) (Week, error) {
	w := Week{}
	for part := range strings.SplitSeq(s, ";") {
		fields := strings.Fields(part)
		if len(fields) == 0 {
			continue
		}
		if len(fields) < 2 {
			return nil, fmt.Errorf("active hours %q: want days then spans, e.g. \"mon-fri 18:00-08:00\"", strings.TrimSpace(part))
		}
		days, err := parseDays(fields[0])
		if err != nil {
			return nil, err
		}
		for _, f := range fields[1:] {
			span, err := parseSpan(f)
			if err != nil {
				return nil, err
			}
			for _, d := range days {
				w[d] = append(w[d], span)
			}
		}
	}
	return w, nil
}

func parseDays(s string) ([]time.Weekday, error) {
	var days []time.Weekday
	for item := range strings.SplitSeq(strings.ToLower(s), ",") {
		from, to, isRange := strings.Cut(item, "-")
		a := slices.Index(dayNames, from)
		b := a
		if isRange {
			b = slices.Index(dayNames, to)
		}
		if a < 0 || b < 0 {
			return nil, fmt.Errorf("active hours: %q is not a day or day range (sun, mon, … sat; mon-fri)", item)
		}
		for d := a; ; d = (d + 1) % 7 {
			days = append(days, time.Weekday(d))
			if d == b {
				break
			}
		}
	}
	return days, nil
}

func parseSpan(s string) (Span, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return Span{}, fmt.Errorf("active hours: %q is not a span like 18:00-08:00", s)
	}
	start, err := parseClock(from)
	if err != nil {
		return Span{}, err
	}
	end, err := parseClock(to)
	if err != nil {
		return Span{}, err
	}
	if start == 24*60 {
		return Span{}, fmt.Errorf("active hours: a span cannot start at 24:00 (%q)", s)
	}
	return Span{start, end}, nil
}

func parseClock(s string) (int, error) {
	var h, m int
	if n, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || n != 2 || len(s) != 5 ||
		h < 0 || m < 0 || m > 59 || h > 24 || h == 24 && m != 0 {
		return 0, fmt.Errorf("active hours: %q is not a time of day (00:00 to 24:00)", s)
	}
	return h*60 + m, nil
}

// MarshalJSON writes the week as {"mon": ["18:00-08:00"], …}.
func (w Week) MarshalJSON() ([]byte, error) {
	out := make(map[string][]string, len(w))
	for d, spans := range w {
		for _, s := range spans {
			out[dayNames[d]] = append(out[dayNames[d]], s.String())
		}
	}
	return json.Marshal(out)
}

func (w *Week) UnmarshalJSON(b []byte) error {
	var in map[string][]string
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("active_hours: want {\"mon\": [\"18:00-08:00\"], …}: %w", err)
	}
	out := Week{}
	for day, spans := range in {
		d := slices.Index(dayNames, strings.ToLower(day))
		if d < 0 {
			return fmt.Errorf("active_hours: %q is not a day (sun, mon, … sat)", day)
		}
		for _, s := range spans {
			span, err := parseSpan(s)
			if err != nil {
				return err
			}
			out[time.Weekday(d)] = append(out[time.Weekday(d)], span)
		}
	}
	*w = out
	return nil
}
