package markers

import (
	"slices"
	"testing"
)

// The reference SplitMix64 (Vigna's splitmix64.c) started from state 0;
// pinning it guards the stream every unit's output depends on.
func TestSplitmix64MatchesReference(t *testing.T) {
	r := splitmix64{}
	want := []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}
	for i, w := range want {
		if got := r.next(); got != w {
			t.Fatalf("output %d = %#x, want %#x", i, got, w)
		}
	}
}

func TestNewRNGDependsOnSeedAndK(t *testing.T) {
	first := func(seed uint64, k int) uint64 {
		r := newRNG(seed, k)
		return r.next()
	}
	if first(1, 5) != first(1, 5) {
		t.Error("same seed and k gave different streams")
	}
	if first(1, 5) == first(2, 5) {
		t.Error("different seeds gave the same stream")
	}
	if first(1, 5) == first(1, 6) {
		t.Error("different k gave the same stream")
	}
}

func TestIntnInRangeAndCoversAll(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 38, 3051} {
		r := newRNG(9, n)
		seen := make([]bool, n)
		for range 100 * n {
			v := r.intn(n)
			if v < 0 || v >= n {
				t.Fatalf("intn(%d) = %d", n, v)
			}
			seen[v] = true
		}
		if i := slices.Index(seen, false); i >= 0 {
			t.Errorf("intn(%d) never returned %d in %d draws", n, i, 100*n)
		}
	}
}

func TestSamplerDrawsDistinctDeterministically(t *testing.T) {
	tests := []struct{ n, k int }{
		{1, 1},
		{5, 5}, // the whole set
		{10, 3},
		{3051, 64},
	}
	for _, tt := range tests {
		draws := func() [][]int {
			r := newRNG(42, tt.k)
			s := newSampler(tt.n, tt.k)
			var out [][]int
			for range 200 {
				dst := make([]int, tt.k)
				s.draw(&r, dst)
				out = append(out, dst)
			}
			return out
		}
		a, b := draws(), draws()
		for i := range a {
			if !slices.Equal(a[i], b[i]) {
				t.Fatalf("n=%d k=%d: draw %d differs between runs: %v vs %v", tt.n, tt.k, i, a[i], b[i])
			}
			seen := make(map[int]bool)
			for _, g := range a[i] {
				if g < 0 || g >= tt.n || seen[g] {
					t.Fatalf("n=%d k=%d: draw %d = %v: out of range or repeated", tt.n, tt.k, i, a[i])
				}
				seen[g] = true
			}
		}
	}
}

// Undoing the swaps is what makes each draw depend only on the generator.
func TestSamplerRestoresIdentity(t *testing.T) {
	s := newSampler(20, 6)
	r := newRNG(1, 6)
	s.draw(&r, make([]int, 6))
	for i, v := range s.perm {
		if v != i {
			t.Fatalf("perm after draw = %v, want identity", s.perm)
		}
	}
}
