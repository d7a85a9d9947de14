// Package policy decides, from a volunteer's preferences and what the PC is
// doing, whether the worker may compute now, and why not when it may not.
// It does no I/O: the worker feeds it observations and acts on its answers.
package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
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
	// The coordinator checks web preferences with the same rules.
	errs = append(errs, workunits.CheckIdleMinutes(p.IdleMinutes), workunits.CheckMaxOtherCPUPercent(p.MaxOtherCPUPercent))
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

// Week is the active hours of each weekday; the rules are shared with the
// coordinator, which checks the active hours set on the web.
type Week = workunits.Week

// Span is a stretch of a day, in minutes after midnight.
type Span = workunits.Span

// ParseWeek reads active hours written as "mon-fri 18:00-08:00; sat,sun
// 00:00-24:00": day lists or ranges, then one or more spans.
func ParseWeek(s string) (Week, error) { return workunits.ParseWeek(s) }
