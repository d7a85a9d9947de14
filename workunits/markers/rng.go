package markers

import "math/bits"

// splitmix64 is Steele, Lea and Flood's SplitMix64 generator. It is written
// out here rather than taken from math/rand so that a unit's random stream
// depends only on this code, never on the Go version that built it.
type splitmix64 struct {
	state uint64
}

// newRNG seeds a generator from a unit's seed and signature size, so the
// same seed with a different k explores different signatures.
func newRNG(seed uint64, k int) splitmix64 {
	return splitmix64{state: mix64(seed ^ mix64(uint64(k)))}
}

func (r *splitmix64) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	return mix64(r.state)
}

// mix64 is SplitMix64's output finaliser.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a uniform integer in [0, n) for n > 0, by Lemire's
// multiply-and-reject method: a plain modulo would favour small values.
func (r *splitmix64) intn(n int) int {
	bound := uint64(n)
	hi, lo := bits.Mul64(r.next(), bound)
	if lo < bound {
		threshold := -bound % bound
		for lo < threshold {
			hi, lo = bits.Mul64(r.next(), bound)
		}
	}
	return int(hi)
}

// sampler draws sets of distinct gene numbers by a partial Fisher–Yates
// shuffle of 0..n-1. It undoes its swaps after each draw, so a draw depends
// only on the generator's state and not on earlier draws.
type sampler struct {
	perm  []int
	swaps []int
}

func newSampler(n, k int) *sampler {
	s := &sampler{perm: make([]int, n), swaps: make([]int, k)}
	for i := range s.perm {
		s.perm[i] = i
	}
	return s
}

// draw fills dst with len(dst) distinct numbers from 0..n-1, in draw order.
func (s *sampler) draw(r *splitmix64, dst []int) {
	n := len(s.perm)
	for j := range dst {
		swap := j + r.intn(n-j)
		s.perm[j], s.perm[swap] = s.perm[swap], s.perm[j]
		s.swaps[j] = swap
	}
	copy(dst, s.perm[:len(dst)])
	for j := len(dst) - 1; j >= 0; j-- {
		swap := s.swaps[j]
		s.perm[j], s.perm[swap] = s.perm[swap], s.perm[j]
	}
}
