package markers

// scorer rates gene signatures by leave-one-out nearest-centroid
// classification. It reuses its buffers, so one scorer serves one goroutine.
type scorer struct {
	d      *Dataset
	counts [2]int64   // samples per class
	rows   [][]int32  // the signature's rows of d
	sums   [][2]int64 // per signature gene, the class sums over all samples
}

func newScorer(d *Dataset, k int) *scorer {
	s := &scorer{d: d, rows: make([][]int32, k), sums: make([][2]int64, k)}
	for _, c := range d.classes {
		s.counts[c]++
	}
	return s
}

// score returns how many samples are classified correctly when each in
// turn is held out and assigned to the class whose centroid, over the
// signature's genes and computed from the other samples, is nearer. A
// sample equally near both centroids counts as wrong. len(genes) must be
// the k the scorer was made for.
func (s *scorer) score(genes []int) int {
	// Class sums over all samples, once per signature; each held-out
	// sample then only subtracts itself.
	for j, g := range genes {
		row := s.d.row(g)
		var sum [2]int64
		for i, v := range row {
			sum[s.d.classes[i]] += int64(v)
		}
		s.rows[j] = row
		s.sums[j] = sum
	}

	correct := 0
	for i, class := range s.d.classes {
		n := s.counts
		n[class]--
		// dist[c] = Σ_g (n_c·x_ig − S_cg)², the squared distance to
		// centroid c scaled by n_c² to stay in integers.
		var dist [2]int64
		for j, row := range s.rows[:len(genes)] {
			x := int64(row[i])
			sum := s.sums[j]
			sum[class] -= x
			d0 := n[ALL]*x - sum[ALL]
			d1 := n[AML]*x - sum[AML]
			dist[ALL] += d0 * d0
			dist[AML] += d1 * d1
		}
		if predicted, ok := nearer(dist, n); ok && predicted == class {
			correct++
		}
	}
	return correct
}

// nearer returns the class whose centroid is nearer, or false on a tie.
// Centroid c's squared distance is dist[c]/n[c]², so comparing
// dist[ALL]·n[AML]² with dist[AML]·n[ALL]² decides without dividing.
//
// No int64 overflow: every value and every centroid coordinate is at most
// M = maxAbsValue in magnitude, so |n_c·x − S_c| ≤ 2·n_c·M and
// dist[c] ≤ 4k·n_c²·M². Each product is then at most
// 4k·(n_ALL·n_AML)²·M² ≤ k·N⁴·M²/4 with N samples; for k ≤ MaxK = 64,
// N ≤ maxSamples = 128 and M = 10⁴ that is about 4.3e17 < 2⁶³ ≈ 9.2e18.
// (Golub's data, with M = 3898 and N = 38, stays below 5.1e14.)
func nearer(dist [2]int64, n [2]int64) (Class, bool) {
	all := dist[ALL] * n[AML] * n[AML]
	aml := dist[AML] * n[ALL] * n[ALL]
	switch {
	case all < aml:
		return ALL, true
	case aml < all:
		return AML, true
	}
	return 0, false
}
