package workunits

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// This file holds a worker's active hours. They live here, not in the
// worker, because the coordinator checks the active hours a contributor
// sets on the web with the same rules the worker applies.

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
