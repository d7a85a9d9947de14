package workunits

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

func utf8Valid(s string) bool { return utf8.ValidString(s) }

func i64(v int64) *int64 { return &v }

func TestExpandSweep(t *testing.T) {
	tests := []struct {
		name     string
		params   map[string]SweepParam
		want     []string
		wantCode Code
	}{
		{
			name: "grid, names sorted, last fastest",
			params: map[string]SweepParam{
				"seed": {From: i64(1), To: i64(2)},
				"k":    {Values: []json.RawMessage{json.RawMessage("3"), json.RawMessage(` "x" `)}},
			},
			want: []string{`{"k":3,"seed":1}`, `{"k":3,"seed":2}`, `{"k":"x","seed":1}`, `{"k":"x","seed":2}`},
		},
		{
			name:   "range with step",
			params: map[string]SweepParam{"n": {From: i64(0), To: i64(10), Step: 5}},
			want:   []string{`{"n":0}`, `{"n":5}`, `{"n":10}`},
		},
		{name: "no parameters", params: map[string]SweepParam{}, wantCode: EINVALID},
		{name: "values and range", params: map[string]SweepParam{"a": {Values: []json.RawMessage{json.RawMessage("1")}, From: i64(1), To: i64(2)}}, wantCode: EINVALID},
		{name: "half a range", params: map[string]SweepParam{"a": {From: i64(1)}}, wantCode: EINVALID},
		{name: "backwards range", params: map[string]SweepParam{"a": {From: i64(5), To: i64(1)}}, wantCode: EINVALID},
		{name: "negative step", params: map[string]SweepParam{"a": {From: i64(1), To: i64(5), Step: -1}}, wantCode: EINVALID},
		{name: "bad JSON value", params: map[string]SweepParam{"a": {Values: []json.RawMessage{json.RawMessage("{")}}}, wantCode: EINVALID},
		{name: "too many units", params: map[string]SweepParam{"a": {From: i64(1), To: i64(1000)}, "b": {From: i64(1), To: i64(1000)}}, wantCode: EINVALID},
		{name: "the whole int64 range", params: map[string]SweepParam{"a": {From: i64(math.MinInt64), To: i64(math.MaxInt64)}}, wantCode: EINVALID},
		{name: "top of the int64 range", params: map[string]SweepParam{"a": {From: i64(math.MaxInt64 - 2), To: i64(math.MaxInt64), Step: 2}},
			want: []string{`{"a":9223372036854775805}`, `{"a":9223372036854775807}`}},
		{name: "huge single range", params: map[string]SweepParam{"a": {From: i64(0), To: i64(1 << 62)}}, wantCode: EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ExpandSweep(tt.params)
			if code := ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error = %v, want code %q", err, tt.wantCode)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d inputs, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if string(got[i]) != tt.want[i] {
					t.Errorf("input %d = %s, want %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestListInputs(t *testing.T) {
	got, err := ListInputs([]json.RawMessage{json.RawMessage(`{ "k" : 1 }`), json.RawMessage(`7`)})
	if err != nil {
		t.Fatal(err)
	}
	if string(got[0]) != `{"k":1}` || string(got[1]) != `7` {
		t.Errorf("inputs = %q", got)
	}
	for name, in := range map[string][]json.RawMessage{
		"empty list": nil,
		"bad json":   {json.RawMessage(`{"k":`)},
		"too large":  {json.RawMessage(`"` + strings.Repeat("x", MaxUnitInputSize) + `"`)},
	} {
		if _, err := ListInputs(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
