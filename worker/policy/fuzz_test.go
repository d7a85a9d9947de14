package policy_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/worker/policy"
)

// FuzzParsePreferences: a preferences file is read into valid preferences
// or refused with an error saying what is wrong; what is read survives
// being written and read again, and its derived numbers are sane.
func FuzzParsePreferences(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"idle_minutes": 5, "suspend_on_input": true, "max_other_cpu_percent": 50, "run_on_battery": false}`,
		`{"max_cores_percent": 50}`, `{"active_hours": {"mon": ["18:00-08:00"], "sat": ["00:00-24:00"]}}`,
		`{"idle_minutes": -1}`, `{"idle_minuts": 5}`, `{"idle_minutes": "5"}`, `[]`, ``, `{"max_other_cpu_percent": 1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := policy.ParsePreferences(b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("%+v does not marshal: %v", p, err)
		}
		back, err := policy.ParsePreferences(raw)
		if err != nil {
			t.Fatalf("%q read as %+v, written as %s is refused: %v", b, p, raw, err)
		}
		again, _ := json.Marshal(back)
		if string(again) != string(raw) {
			t.Fatalf("round trip changed %s into %s", raw, again)
		}
		for cores := 1; cores <= 64; cores *= 2 {
			if s := p.Slots(cores); s < 1 || s > cores {
				t.Fatalf("%+v: Slots(%d) = %d", p, cores, s)
			}
		}
		if run, pause := p.Throttle(); run < 0 || pause < 0 {
			t.Fatalf("%+v: Throttle() = %v, %v", p, run, pause)
		}
	})
}

// FuzzPolicyParseWeek: the worker's --active-hours flag parses or fails
// with an error about active hours.
func FuzzPolicyParseWeek(f *testing.F) {
	for _, s := range []string{"mon-fri 18:00-08:00; sat,sun 00:00-24:00", "sun 00:00-00:00", "mon-fri", "mon 25:00-01:00", "MON 09:00-17:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := policy.ParseWeek(s)
		if err != nil {
			if !strings.Contains(err.Error(), "active hours") {
				t.Fatalf("ParseWeek(%q): %v", s, err)
			}
			return
		}
		if w == nil {
			t.Fatalf("ParseWeek(%q) = nil without an error", s)
		}
	})
}
