package workunits_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// The fuzz targets below run their seeds under plain `go test`; `scripts/test
// --long` runs each for longer with -fuzz.

// FuzzParseWeek: active hours either parse or fail with a message naming
// active hours, and a parsed week survives its JSON form unchanged.
func FuzzParseWeek(f *testing.F) {
	for _, s := range []string{"mon-fri 18:00-08:00; sat,sun 00:00-24:00", "sat,sun 00:00-24:00", "fri-mon 22:00-06:00 12:00-13:00",
		"", ";;", "mon", "mon 24:00-01:00", "mon 9:00-10:00", "xyz 00:00-01:00", "mon 00:60-01:00", "sun-sun 23:59-00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 1000 {
			return // the web form takes at most 500 characters
		}
		w, err := workunits.ParseWeek(s)
		if err != nil {
			if !strings.Contains(err.Error(), "active hours") {
				t.Fatalf("ParseWeek(%q) error does not say it is about active hours: %v", s, err)
			}
			return
		}
		raw, err := json.Marshal(w)
		if err != nil {
			t.Fatalf("marshal %v: %v", w, err)
		}
		var back workunits.Week
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("ParseWeek(%q) → %s does not read back: %v", s, raw, err)
		}
		if !reflect.DeepEqual(w, back) {
			t.Fatalf("ParseWeek(%q) = %v, its JSON %s reads back as %v", s, w, raw, back)
		}
		// The parsed week answers for every day and minute without panicking.
		start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC) // a Monday
		for m := 0; m < 7*24*60; m += 97 {
			w.Active(start.Add(time.Duration(m) * time.Minute))
		}
	})
}

// FuzzWeekJSON: the JSON form of active hours (preferences files) is read
// or refused with a clear error, and what is read re-encodes to a fixpoint.
func FuzzWeekJSON(f *testing.F) {
	for _, s := range []string{`{"mon":["18:00-08:00"],"sat":["00:00-24:00"]}`, `{}`, `null`, `{"Mon":["09:00-17:00"]}`,
		`{"funday":["09:00-10:00"]}`, `{"mon":["9-5"]}`, `[]`, `{"mon":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var w workunits.Week
		if err := json.Unmarshal([]byte(s), &w); err != nil {
			return
		}
		raw, err := json.Marshal(w)
		if err != nil {
			t.Fatal(err)
		}
		var back workunits.Week
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("%s re-encoded as %s does not read back: %v", s, raw, err)
		}
		again, _ := json.Marshal(back)
		if !bytes.Equal(raw, again) {
			t.Fatalf("%s: %s then %s", s, raw, again)
		}
	})
}

// FuzzNumericValidator: the numeric validator never panics, refuses what
// is not one JSON value with EINVALID, and is reflexive and symmetric.
func FuzzNumericValidator(f *testing.F) {
	f.Add([]byte(`{"k":3,"best":[{"score":0.5}]}`), []byte(`{"best":[{"score":0.50000001}],"k":3}`), 1e-6, 1e-9)
	f.Add([]byte(`[1,2,3]`), []byte(`[1,2,3.0]`), 0.0, 0.0)
	f.Add([]byte(`1e308`), []byte(`-1e308`), 0.0, 1.0)
	f.Add([]byte(`1e999999`), []byte(`1e999999`), 0.0, 0.0)
	f.Add([]byte(`0.1`), []byte(`0.1 0.2`), 0.0, 0.0)
	f.Add([]byte(``), []byte(`null`), 0.0, 0.0)
	f.Add([]byte(`{"a":"x","a":"y"}`), []byte(`{"a":"y"}`), 0.0, 0.0)
	f.Fuzz(func(t *testing.T, a, b []byte, abs, rel float64) {
		v := workunits.Validator{Kind: workunits.ValidatorNumeric, AbsTol: abs, RelTol: rel}
		if v.Validate() != nil {
			v.AbsTol, v.RelTol = 0, 0
		}
		ab, errAB := v.Equivalent(a, b)
		ba, errBA := v.Equivalent(b, a)
		if (errAB == nil) != (errBA == nil) {
			t.Fatalf("Equivalent(a,b) err %v, Equivalent(b,a) err %v", errAB, errBA)
		}
		if errAB != nil {
			if workunits.ErrorCode(errAB) != workunits.EINVALID {
				t.Fatalf("error %v has code %q, want EINVALID", errAB, workunits.ErrorCode(errAB))
			}
			return
		}
		if ab != ba {
			t.Fatalf("not symmetric: %q vs %q: %v, %v", a, b, ab, ba)
		}
		if same, err := v.Equivalent(a, a); err != nil || !same {
			t.Fatalf("output %q does not agree with itself: %v, %v", a, same, err)
		}
	})
}

// FuzzListInputs: explicit unit inputs come back compacted (so valid JSON,
// idempotent) or are refused with a typed error.
func FuzzListInputs(f *testing.F) {
	for _, s := range []string{`[{"k":3,"seed":1,"n":100}]`, `[1,2,3]`, `[]`, `[{"a": [1, 2]}, "x", null]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return
		}
		inputs, err := workunits.ListInputs(list)
		if err != nil {
			if c := workunits.ErrorCode(err); c != workunits.EINVALID && c != workunits.ETOOLARGE {
				t.Fatalf("error %v has code %q", err, c)
			}
			return
		}
		if len(inputs) != len(list) {
			t.Fatalf("%d inputs from %d units", len(inputs), len(list))
		}
		for i, in := range inputs {
			if !json.Valid(in) {
				t.Fatalf("input %d %q is not JSON", i, in)
			}
			var c bytes.Buffer
			if err := json.Compact(&c, in); err != nil || !bytes.Equal(c.Bytes(), in) {
				t.Fatalf("input %d %q is not compact", i, in)
			}
		}
	})
}

// FuzzExpandSweep: a sweep grid expands to distinct JSON objects, one per
// combination, each holding every parameter, or is refused with EINVALID.
func FuzzExpandSweep(f *testing.F) {
	for _, s := range []string{`{"k":{"values":[2,3,4]},"seed":{"from":1,"to":10,"step":3}}`, `{"n":{"from":5,"to":1}}`,
		`{}`, `{"a":{"values":[1],"from":1}}`, `{"a":{"from":-9223372036854775808,"to":9223372036854775807}}`,
		`{"a":{"values":["x","x"]}}`, `{"a":{"from":0,"to":10,"step":-1}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var params map[string]workunits.SweepParam
		if json.Unmarshal(raw, &params) != nil {
			return
		}
		inputs, err := workunits.ExpandSweep(params)
		if err != nil {
			if c := workunits.ErrorCode(err); c != workunits.EINVALID && c != workunits.ETOOLARGE {
				t.Fatalf("error %v has code %q", err, c)
			}
			return
		}
		if len(inputs) == 0 || len(inputs) > workunits.MaxUnitsPerJob {
			t.Fatalf("%d inputs", len(inputs))
		}
		for i, in := range inputs {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(in, &obj); err != nil {
				t.Fatalf("input %d %q is not a JSON object: %v", i, in, err)
			}
			if len(obj) != len(params) {
				t.Fatalf("input %d %q has %d parameters, want %d", i, in, len(obj), len(params))
			}
		}
	})
}

// FuzzCutChunks: the chunks splitter covers the blob exactly, in order,
// with no gap or overlap, whatever the blob and spec.
func FuzzCutChunks(f *testing.F) {
	f.Add([]byte(">a\nACGT\n>b\nGG\n"), "records", int64(1), "")
	f.Add([]byte("l1\nl2\r\nl3"), "lines", int64(2), "")
	f.Add([]byte("0123456789"), "bytes", int64(3), "")
	f.Add([]byte("a;b;;c"), "records", int64(1), ";")
	f.Add([]byte(""), "lines", int64(1), "")
	f.Add([]byte("\n\n\n"), "records", int64(1), "\n\n")
	f.Fuzz(func(t *testing.T, blob []byte, by string, size int64, sep string) {
		spec := workunits.ChunkSpec{Blob: strings.Repeat("a", 64), By: workunits.ChunkBy(by), Size: size, Separator: sep}
		if err := spec.Validate(); err != nil {
			if workunits.ErrorCode(err) != workunits.EINVALID {
				t.Fatalf("Validate error %v is not EINVALID", err)
			}
			return
		}
		var next int64
		err := workunits.CutChunks(bytes.NewReader(blob), spec, func(r workunits.Range) error {
			if r.Offset != next || r.Length <= 0 {
				t.Fatalf("range %+v after offset %d", r, next)
			}
			next = r.Offset + r.Length
			return nil
		})
		if err != nil {
			var e *workunits.Error
			if !errors.As(err, &e) {
				t.Fatalf("CutChunks error %v is untyped", err)
			}
			return
		}
		if next != int64(len(blob)) {
			t.Fatalf("chunks cover %d of %d bytes", next, len(blob))
		}
	})
}
