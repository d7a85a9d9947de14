package workunits

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// WebPreferences are the worker preferences a contributor sets on the web,
// for all of their hosts. A nil field is not set: the worker keeps its own
// value. What the volunteer sets on the PC itself (flags, the local
// preferences file) always wins over these.
type WebPreferences struct {
	IdleMinutes        *float64 `json:"idle_minutes,omitempty"`
	MaxOtherCPUPercent *float64 `json:"max_other_cpu_percent,omitempty"`
	RunOnBattery       *bool    `json:"run_on_battery,omitempty"`
	// ActiveHours are written as the worker's --active-hours flag is, e.g.
	// "mon-fri 18:00-08:00; sat,sun 00:00-24:00"; "" means any time.
	ActiveHours *string `json:"active_hours,omitempty"`
}

// MaxActiveHoursLen bounds the active hours text; a week of spans fits in
// far less.
const MaxActiveHoursLen = 500

// Validate reports every preference out of range at once, as an EINVALID
// error naming the fields.
func (p WebPreferences) Validate() error {
	var errs []error
	if p.IdleMinutes != nil {
		errs = append(errs, CheckIdleMinutes(*p.IdleMinutes))
	}
	if p.MaxOtherCPUPercent != nil {
		errs = append(errs, CheckMaxOtherCPUPercent(*p.MaxOtherCPUPercent))
	}
	if p.ActiveHours != nil {
		switch s := *p.ActiveHours; {
		case len(s) > MaxActiveHoursLen || !utf8.ValidString(s):
			errs = append(errs, fmt.Errorf("active_hours must be text of at most %d bytes", MaxActiveHoursLen))
		default:
			if _, err := ParseWeek(s); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Errorf(EINVALID, "%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	return nil
}

// Normalized trims the active hours, so that equal settings compare equal.
func (p WebPreferences) Normalized() WebPreferences {
	if p.ActiveHours != nil {
		s := strings.TrimSpace(*p.ActiveHours)
		p.ActiveHours = &s
	}
	return p
}

// Set lists the JSON names of the fields that are set, in field order.
func (p WebPreferences) Set() []string {
	var out []string
	if p.IdleMinutes != nil {
		out = append(out, "idle_minutes")
	}
	if p.MaxOtherCPUPercent != nil {
		out = append(out, "max_other_cpu_percent")
	}
	if p.RunOnBattery != nil {
		out = append(out, "run_on_battery")
	}
	if p.ActiveHours != nil {
		out = append(out, "active_hours")
	}
	return out
}

// MaxIdleMinutes is the longest idle time a worker can be asked to wait
// for: a day.
const MaxIdleMinutes = 24 * 60

// CheckIdleMinutes is the worker's rule for idle_minutes.
func CheckIdleMinutes(v float64) error {
	if !(v >= 0 && v <= MaxIdleMinutes) { // NaN fails too
		return fmt.Errorf("idle_minutes must be between 0 and %d, got %v", MaxIdleMinutes, v)
	}
	return nil
}

// CheckMaxOtherCPUPercent is the worker's rule for max_other_cpu_percent
// (100 turns the check off).
func CheckMaxOtherCPUPercent(v float64) error {
	if !(v > 0 && v <= 100) {
		return fmt.Errorf("max_other_cpu_percent must be above 0 and at most 100, got %v", v)
	}
	return nil
}
