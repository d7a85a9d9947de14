package markers

import (
	"cmp"
	"fmt"
	"slices"
)

// Search is a unit's run in progress. It can stop after any draw and
// resume from its State, on this machine or another, to the very Output
// an uninterrupted Run gives.
type Search struct {
	d         *Dataset
	in        Input
	rng       splitmix64
	done      int   // signatures drawn and scored
	histogram []int // by score
	best      []Ranked

	// Scratch space only: the sampler undoes its swaps after each draw,
	// so none of these carries anything from one draw to the next.
	sampler *sampler
	scorer  *scorer
	genes   []int
}

// Ranked is one of the best signatures so far, as rows of the data set
// sorted by gene index, so that the same set drawn twice compares equal.
type Ranked struct {
	Score int   `json:"score"`
	Rows  []int `json:"rows"`
}

// NewSearch starts a search of d for in, which must pass Validate and ask
// for no more genes than d has.
func NewSearch(d *Dataset, in Input) (*Search, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.K > len(d.genes) {
		return nil, fmt.Errorf("k = %d but the data set has %d genes", in.K, len(d.genes))
	}
	return &Search{
		d:         d,
		in:        in,
		rng:       newRNG(in.Seed, in.K),
		histogram: make([]int, len(d.classes)+1),
		sampler:   newSampler(len(d.genes), in.K),
		scorer:    newScorer(d, in.K),
		genes:     make([]int, in.K),
	}, nil
}

// Step draws and scores the next n signatures, or as many as the unit
// has left.
func (s *Search) Step(n int) {
	end := s.done + min(n, s.in.N-s.done)
	for s.done < end {
		s.sampler.draw(&s.rng, s.genes)
		s.record(s.scorer.score(s.genes), s.genes)
	}
}

// Done returns how many signatures have been drawn and scored; the search
// is over when it reaches the input's N.
func (s *Search) Done() int { return s.done }

// record counts one scored signature and keeps it if it is among the best.
func (s *Search) record(score int, rows []int) {
	s.done++
	s.histogram[score]++
	if len(s.best) == bestSize && score <= s.best[bestSize-1].Score {
		return
	}
	sorted := slices.Clone(rows)
	slices.SortFunc(sorted, s.byGeneIndex)
	// An earlier draw of the same set already holds the place; listing
	// it twice would only crowd out a different signature.
	for _, r := range s.best {
		if slices.Equal(r.Rows, sorted) {
			return
		}
	}
	// After every signature scoring at least as high, so earlier draws
	// win ties.
	at := len(s.best)
	for at > 0 && s.best[at-1].Score < score {
		at--
	}
	s.best = slices.Insert(s.best, at, Ranked{Score: score, Rows: sorted})
	if len(s.best) > bestSize {
		s.best = s.best[:bestSize]
	}
}

func (s *Search) byGeneIndex(a, b int) int {
	return cmp.Compare(s.d.genes[a].Index, s.d.genes[b].Index)
}

// Output is the unit's result once the search is over.
func (s *Search) Output() Output {
	best := make([]Signature, len(s.best))
	for i, r := range s.best {
		genes := make([]Gene, len(r.Rows))
		for j, row := range r.Rows {
			genes[j] = s.d.genes[row]
		}
		best[i] = Signature{
			Score:    r.Score,
			Accuracy: fmt.Sprintf("%d/%d", r.Score, len(s.d.classes)),
			Genes:    genes,
		}
	}
	return Output{
		K:         s.in.K,
		Seed:      s.in.Seed,
		N:         s.in.N,
		Histogram: slices.Clone(s.histogram),
		Best:      best,
	}
}
