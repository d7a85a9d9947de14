package policy

import (
	"fmt"
	"time"
)

// Observation is what the worker sensed of the PC at one moment.
type Observation struct {
	Now             time.Time // local time, for active hours
	LastInput       time.Time
	InputKnown      bool // false: no source can see input (a headless PC, a service)
	OtherCPUPercent float64
	CPUKnown        bool
	OnBattery       bool
	PowerKnown      bool
}

// Code names why the worker runs or waits; worker status shows it with
// State.Detail.
type Code string

const (
	Running        Code = "running"
	UserActive     Code = "user_active"      // input came within the idle time
	OtherCPUBusy   Code = "other_cpu_busy"   // other programs use the CPU
	OnBattery      Code = "on_battery"       // and the volunteer said not to
	OutsideHours   Code = "outside_hours"    // not within the active hours
	ExplicitPause  Code = "paused"           // the volunteer paused the worker
	NoInputSources Code = "running_no_input" // running; nothing can see input here, so the PC counts as idle
)

// State is a decision and what led to it. Keep it between calls: the CPU
// check's hysteresis depends on the last answer.
type State struct {
	Run    bool
	Code   Code
	Detail string    // for people, e.g. "other programs use 63% CPU (limit 25%)"
	Since  time.Time // when Run last changed
	// cpuBusy is true from the load passing the limit until it falls below
	// the resume level.
	cpuBusy bool
}

// Decide returns the next state. The first reason that forbids running
// wins, in this order: paused, active hours, battery, input, CPU load.
func Decide(p Preferences, prev State, o Observation, paused bool) State {
	next := State{cpuBusy: cpuBusy(p, prev.cpuBusy, o)}
	idleFor := o.Now.Sub(o.LastInput)
	idleNeeded := time.Duration(p.IdleMinutes * float64(time.Minute))
	switch {
	case paused:
		next.Code, next.Detail = ExplicitPause, "paused by the volunteer"
	case !p.ActiveHours.Active(o.Now):
		next.Code, next.Detail = OutsideHours, fmt.Sprintf("outside the active hours (%s)", o.Now.Format("Mon 15:04"))
	case o.PowerKnown && o.OnBattery && !p.RunOnBattery:
		next.Code, next.Detail = OnBattery, "on battery power"
	case o.InputKnown && idleFor < idleNeeded && (!prev.Run || p.SuspendOnInput):
		next.Code, next.Detail = UserActive, fmt.Sprintf("input %s ago; waiting for %s without input",
			roundDuration(max(idleFor, 0)), roundDuration(idleNeeded))
	case next.cpuBusy:
		next.Code, next.Detail = OtherCPUBusy, fmt.Sprintf("other programs use %.0f%% CPU (limit %.0f%%, resume under %.0f%%)",
			o.OtherCPUPercent, p.MaxOtherCPUPercent, p.ResumeCPUPercent())
	case !o.InputKnown:
		next.Run, next.Code, next.Detail = true, NoInputSources, "no input source can see this PC's keyboard or mouse; counting it as idle"
	default:
		next.Run, next.Code, next.Detail = true, Running, "the PC is idle"
	}
	next.Since = prev.Since
	if next.Run != prev.Run || prev.Since.IsZero() {
		next.Since = o.Now
	}
	return next
}

func cpuBusy(p Preferences, wasBusy bool, o Observation) bool {
	switch {
	case !o.CPUKnown || p.MaxOtherCPUPercent >= 100:
		return false
	case wasBusy:
		return o.OtherCPUPercent >= p.ResumeCPUPercent()
	default:
		return o.OtherCPUPercent > p.MaxOtherCPUPercent
	}
}

func roundDuration(d time.Duration) time.Duration {
	if d < 10*time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Minute)
}
