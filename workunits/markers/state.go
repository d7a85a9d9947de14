package markers

import (
	"errors"
	"fmt"
	"slices"
)

// State is a Search's progress as plain data, to checkpoint as JSON. It
// holds the input, so that a checkpoint is never resumed for another unit.
type State struct {
	Input     Input    `json:"input"`
	RNG       uint64   `json:"rng"` // the generator after the last draw
	Done      int      `json:"done"`
	Histogram []int    `json:"histogram"`
	Best      []Ranked `json:"best"`
}

// State returns a copy of the search's progress.
func (s *Search) State() State {
	return State{
		Input:     s.in,
		RNG:       s.rng.state,
		Done:      s.done,
		Histogram: slices.Clone(s.histogram),
		Best:      cloneBest(s.best),
	}
}

// Resume continues a search of d from st. A state that no search of d
// could have reached is an error: a damaged checkpoint must not turn into
// a wrong output or a panic.
func Resume(d *Dataset, st State) (*Search, error) {
	s, err := NewSearch(d, st.Input)
	if err != nil {
		return nil, fmt.Errorf("resuming: %w", err)
	}
	if err := s.checkState(st); err != nil {
		return nil, fmt.Errorf("resuming: %w", err)
	}
	s.rng = splitmix64{state: st.RNG}
	s.done = st.Done
	s.histogram = slices.Clone(st.Histogram)
	s.best = cloneBest(st.Best)
	return s, nil
}

func cloneBest(best []Ranked) []Ranked {
	c := make([]Ranked, len(best))
	for i, r := range best {
		c[i] = Ranked{Score: r.Score, Rows: slices.Clone(r.Rows)}
	}
	return c
}

// checkState reports whether st fits the search s has just started.
func (s *Search) checkState(st State) error {
	if st.Done < 0 || st.Done > st.Input.N {
		return fmt.Errorf("done = %d, want 0 to %d", st.Done, st.Input.N)
	}
	if len(st.Histogram) != len(s.histogram) {
		return fmt.Errorf("histogram has %d entries, want %d", len(st.Histogram), len(s.histogram))
	}
	total := 0
	for _, c := range st.Histogram {
		if c < 0 {
			return errors.New("histogram has a negative count")
		}
		total += c
	}
	if total != st.Done {
		return fmt.Errorf("histogram counts %d signatures, done is %d", total, st.Done)
	}
	if len(st.Best) > min(bestSize, st.Done) {
		return fmt.Errorf("%d best signatures after %d draws", len(st.Best), st.Done)
	}
	for i, r := range st.Best {
		if r.Score < 0 || r.Score >= len(st.Histogram) || st.Histogram[r.Score] == 0 {
			return fmt.Errorf("best signature %d: score %d was never drawn", i, r.Score)
		}
		if i > 0 && r.Score > st.Best[i-1].Score {
			return fmt.Errorf("best signature %d: not sorted by score", i)
		}
		if len(r.Rows) != st.Input.K {
			return fmt.Errorf("best signature %d: %d genes, want %d", i, len(r.Rows), st.Input.K)
		}
		for j, row := range r.Rows {
			if row < 0 || row >= len(s.d.genes) {
				return fmt.Errorf("best signature %d: no gene row %d", i, row)
			}
			if j > 0 && s.byGeneIndex(r.Rows[j-1], row) >= 0 {
				return fmt.Errorf("best signature %d: genes not distinct and sorted by index", i)
			}
		}
	}
	return nil
}
