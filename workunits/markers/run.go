// Package markers is the cancer-markers sample app: it searches random
// k-gene signatures of the Golub leukemia data for ones that tell acute
// lymphoblastic (ALL) from acute myeloid (AML) leukemia. All arithmetic is
// on integers, so a unit's output is bitwise identical on every machine
// and replicas can be compared byte for byte. It performs no I/O.
package markers

import "fmt"

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
	s, err := NewSearch(d, in)
	if err != nil {
		panic("markers.Run: " + err.Error())
	}
	s.Step(in.N)
	return s.Output()
}
