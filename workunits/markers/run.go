// Package markers is the cancer-markers sample app: it searches random
// k-gene signatures of the Golub leukemia data for ones that tell acute
// lymphoblastic (ALL) from acute myeloid (AML) leukemia. All arithmetic is
// on integers, so a unit's output is bitwise identical on every machine
// and replicas can be compared byte for byte. It performs no I/O.
package markers

import (
	"cmp"
	"fmt"
	"slices"
)

const (
	MaxK = 64        // genes per signature; bounds the scoring arithmetic
	MaxN = 1_000_000 // signatures per unit
)

// bestSize is how many top signatures a unit reports.
const bestSize = 5

// Input is one work unit.
type Input struct {
	K    int    `json:"k"`    // genes per signature
	Seed uint64 `json:"seed"` // picks the signatures; same seed, same output
	N    int    `json:"n"`    // signatures to draw and score
}

// Validate reports whether in is a unit Run accepts.
func (in Input) Validate() error {
	if in.K < 1 || in.K > MaxK {
		return fmt.Errorf("k must be between 1 and %d, got %d", MaxK, in.K)
	}
	if in.N < 1 || in.N > MaxN {
		return fmt.Errorf("n must be between 1 and %d, got %d", MaxN, in.N)
	}
	return nil
}

// Output is a unit's result.
type Output struct {
	K    int    `json:"k"`
	Seed uint64 `json:"seed"`
	N    int    `json:"n"`
	// Histogram[s] is how many signatures scored s; it has one entry
	// per possible score, 0 through the number of samples.
	Histogram []int       `json:"histogram"`
	Best      []Signature `json:"best"` // highest score first, ties by draw order
}

// Signature is a scored set of genes.
type Signature struct {
	Score    int    `json:"score"`    // samples classified correctly
	Accuracy string `json:"accuracy"` // e.g. "36/38"
	Genes    []Gene `json:"genes"`    // sorted by index
}

// Run draws in.N random signatures of in.K distinct genes and scores each
// by leave-one-out nearest-centroid classification of d's samples. in must
// pass Validate and in.K must not exceed d's gene count; Run panics
// otherwise, as the caller has already been told how to check.
func Run(d *Dataset, in Input) Output {
	if err := in.Validate(); err != nil {
		panic("markers.Run: " + err.Error())
	}
	if in.K > len(d.genes) {
		panic(fmt.Sprintf("markers.Run: k = %d but the data set has %d genes", in.K, len(d.genes)))
	}

	s := newSearch(d, in)
	sampler := newSampler(len(d.genes), in.K)
	scorer := newScorer(d, in.K)
	genes := make([]int, in.K)
	for s.done < in.N {
		sampler.draw(&s.rng, genes)
		s.record(d, scorer.score(genes), genes)
	}
	return s.output(d)
}

// search is everything a run carries from one draw to the next, so that a
// checkpoint need only save it to resume.
type search struct {
	in        Input
	rng       splitmix64
	done      int   // signatures drawn and scored
	histogram []int // by score
	best      []ranked
}

// ranked is a signature as rows of the data set, sorted by gene index so
// that the same set drawn twice compares equal.
type ranked struct {
	score int
	rows  []int
}

func newSearch(d *Dataset, in Input) *search {
	return &search{
		in:        in,
		rng:       newRNG(in.Seed, in.K),
		histogram: make([]int, len(d.classes)+1),
	}
}

// record counts one scored signature and keeps it if it is among the best.
func (s *search) record(d *Dataset, score int, rows []int) {
	s.done++
	s.histogram[score]++
	if len(s.best) == bestSize && score <= s.best[bestSize-1].score {
		return
	}
	sorted := slices.Clone(rows)
	slices.SortFunc(sorted, func(a, b int) int { return cmp.Compare(d.genes[a].Index, d.genes[b].Index) })
	// An earlier draw of the same set already holds the place; listing
	// it twice would only crowd out a different signature.
	for _, r := range s.best {
		if slices.Equal(r.rows, sorted) {
			return
		}
	}
	// After every signature scoring at least as high, so earlier draws
	// win ties.
	at := len(s.best)
	for at > 0 && s.best[at-1].score < score {
		at--
	}
	s.best = slices.Insert(s.best, at, ranked{score: score, rows: sorted})
	if len(s.best) > bestSize {
		s.best = s.best[:bestSize]
	}
}

func (s *search) output(d *Dataset) Output {
	best := make([]Signature, len(s.best))
	for i, r := range s.best {
		genes := make([]Gene, len(r.rows))
		for j, row := range r.rows {
			genes[j] = d.genes[row]
		}
		best[i] = Signature{
			Score:    r.score,
			Accuracy: fmt.Sprintf("%d/%d", r.score, len(d.classes)),
			Genes:    genes,
		}
	}
	return Output{
		K:         s.in.K,
		Seed:      s.in.Seed,
		N:         s.in.N,
		Histogram: s.histogram,
		Best:      best,
	}
}
