package markers

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// A unit stopped at any draw and resumed from its state, after a trip
// through JSON as a checkpoint takes, must give the uninterrupted output
// byte for byte.
func TestResumeGivesTheSameOutput(t *testing.T) {
	d := loadGolub(t)
	for _, in := range []Input{
		{K: 1, Seed: 3, N: 2000},
		{K: 2, Seed: 1, N: 20},
		{K: 5, Seed: 20240601, N: 500},
		{K: 64, Seed: 1<<64 - 1, N: 50},
	} {
		want := runJSON(t, d, in)
		// Before and after the best list fills, mid-way, at the last draw.
		cuts := []int{0, 1, bestSize - 1, bestSize, bestSize + 1, in.N / 3, in.N - 1, in.N}
		for _, cut := range cuts {
			s := newSearchAt(t, d, in, cut)
			s.Step(in.N - cut)
			if got := outputJSON(t, s); !bytes.Equal(got, want) {
				t.Errorf("%+v resumed at %d:\ngot  %s\nwant %s", in, cut, got, want)
			}
		}
		// Several interruptions in one run.
		s := newSearchAt(t, d, in, 0)
		for _, cut := range cuts[1:] {
			s.Step(cut - s.Done())
			s = resumeViaJSON(t, d, s)
		}
		if got := outputJSON(t, s); !bytes.Equal(got, want) {
			t.Errorf("%+v resumed at each of %v:\ngot  %s\nwant %s", in, cuts, got, want)
		}
	}
}

func TestStepStopsAtN(t *testing.T) {
	d := loadGolub(t)
	s, err := NewSearch(d, Input{K: 3, Seed: 1, N: 10})
	if err != nil {
		t.Fatal(err)
	}
	s.Step(7)
	s.Step(7)
	if s.Done() != 10 {
		t.Errorf("done = %d after asking for 14 of 10", s.Done())
	}
}

func TestResumeRejectsImpossibleStates(t *testing.T) {
	d := loadGolub(t)
	in := Input{K: 2, Seed: 1, N: 20}
	valid := newSearchAt(t, d, in, 10).State()
	if _, err := Resume(d, valid); err != nil {
		t.Fatalf("valid state: %v", err)
	}
	first := valid.Best[0]
	tests := []struct {
		name   string
		change func(st *State)
	}{
		{"invalid input", func(st *State) { st.Input.K = 0 }},
		{"negative done", func(st *State) { st.Done = -1 }},
		{"done beyond n", func(st *State) { st.Done = 21 }},
		{"short histogram", func(st *State) { st.Histogram = st.Histogram[:38] }},
		{"negative count", func(st *State) { st.Histogram[0], st.Histogram[first.Score] = -1, st.Histogram[first.Score]+1 }},
		{"histogram disagrees with done", func(st *State) { st.Done = 9 }},
		{"best longer than draws", func(st *State) { st.Histogram, st.Done = make([]int, 39), 0 }},
		{"score never drawn", func(st *State) { st.Best[0].Score = 0 }},
		{"score out of range", func(st *State) { st.Best[0].Score = 39 }},
		{"best not sorted", func(st *State) { st.Best[0], st.Best[4] = st.Best[4], st.Best[0] }},
		{"wrong gene count", func(st *State) { st.Best[1].Rows = st.Best[1].Rows[:1] }},
		{"no such row", func(st *State) { st.Best[1].Rows[1] = 3051 }},
		{"negative row", func(st *State) { st.Best[1].Rows[0] = -1 }},
		{"repeated row", func(st *State) { st.Best[1].Rows[1] = st.Best[1].Rows[0] }},
		{"rows not sorted", func(st *State) { slices.Reverse(st.Best[1].Rows) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newSearchAt(t, d, in, 10).State()
			tt.change(&st)
			if _, err := Resume(d, st); err == nil {
				t.Errorf("resumed from %+v", st)
			}
		})
	}
}

// newSearchAt returns a search of in that has drawn cut signatures and
// been resumed from its state.
func newSearchAt(t *testing.T, d *Dataset, in Input, cut int) *Search {
	t.Helper()
	s, err := NewSearch(d, in)
	if err != nil {
		t.Fatal(err)
	}
	s.Step(cut)
	return resumeViaJSON(t, d, s)
}

func resumeViaJSON(t *testing.T, d *Dataset, s *Search) *Search {
	t.Helper()
	b, err := json.Marshal(s.State())
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	resumed, err := Resume(d, st)
	if err != nil {
		t.Fatalf("resume from %s: %v", b, err)
	}
	if resumed.Done() != s.Done() {
		t.Fatalf("resumed at %d, want %d", resumed.Done(), s.Done())
	}
	return resumed
}

func outputJSON(t *testing.T, s *Search) []byte {
	t.Helper()
	b, err := json.Marshal(s.Output())
	if err != nil {
		t.Fatal(err)
	}
	return b
}
