package markers

import (
	"slices"
	"strings"
	"testing"
)

// Genes over samples ALL 0,1,2 and AML 3,4, in tenths (the CSV holds 0.7
// for 7). Gene A is (0, 2, 7 | 10, 12), gene B is (0, 0, 0 | 5, 5).
// Leaving each sample out by hand:
//
//	A alone: sample 2 (7) sees the ALL centroid (0+2)/2 = 1 at distance 6
//	         and the AML centroid 11 at distance 4, so it goes wrong: 4/5.
//	B alone: every held-out sample sits on its own class centroid: 5/5.
//	A and B: sample 2 at (7, 0) is 36 from (1, 0) and 16+25 = 41 from
//	         (11, 5), so B rescues it: 5/5.
//
// Gene C is (0, 2, 6 | 10, 12): sample 2 is 5 from both centroids (1 and
// 11); a tie counts as wrong, so C alone scores 4/5.
const tinyCSV = `index,accession,description,s1_ALL,s2_ALL,s3_ALL,s4_AML,s5_AML
1,A_at,a,0,0.2,0.7,1.0,1.2
2,B_at,b,0,0,0,0.5,0.5
3,C_at,c,0,0.2,0.6,1.0,1.2
`

func TestScoreTiny(t *testing.T) {
	d, err := ParseDataset(strings.NewReader(tinyCSV))
	if err != nil {
		t.Fatal(err)
	}
	const a, b, c = 0, 1, 2
	tests := []struct {
		name  string
		genes []int
		want  int
	}{
		{"A misclassifies sample 3", []int{a}, 4},
		{"B separates", []int{b}, 5},
		{"B rescues A", []int{a, b}, 5},
		{"order does not matter", []int{b, a}, 5},
		{"C ties on sample 3", []int{c}, 4},
		{"all three", []int{a, b, c}, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newScorer(d, len(tt.genes)).score(tt.genes); got != tt.want {
				t.Errorf("score(%v) = %d, want %d", tt.genes, got, tt.want)
			}
		})
	}
}

func TestNearer(t *testing.T) {
	tests := []struct {
		name   string
		dist   [2]int64
		n      [2]int64
		want   Class
		wantOK bool
	}{
		{"equal counts, nearer ALL", [2]int64{1, 2}, [2]int64{3, 3}, ALL, true},
		{"equal counts, nearer AML", [2]int64{2, 1}, [2]int64{3, 3}, AML, true},
		{"equal counts, tie", [2]int64{5, 5}, [2]int64{3, 3}, 0, false},
		// Scaled distances 18 and 8 are true distances 18/3² = 2 and
		// 8/2² = 2: a tie, though the raw numbers differ.
		{"scaled tie", [2]int64{18, 8}, [2]int64{3, 2}, 0, false},
		{"scaled, nearer AML", [2]int64{19, 8}, [2]int64{3, 2}, AML, true},
		{"scaled, nearer ALL", [2]int64{17, 8}, [2]int64{3, 2}, ALL, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := nearer(tt.dist, tt.n)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("nearer(%v, %v) = %v, %v, want %v, %v", tt.dist, tt.n, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// Zyxin (X95735_at) is one of Golub et al.'s best ALL/AML markers; alone
// it classifies every sample, and no other single gene does. Cystatin C
// (M27891_at) and adipsin (M84526_at), also from their list, come close,
// while the typical gene scores in the low twenties.
func TestScoreGolubMarkers(t *testing.T) {
	d := loadGolub(t)
	row := func(accession string) int {
		i := slices.IndexFunc(d.genes, func(g Gene) bool { return g.Accession == accession })
		if i < 0 {
			t.Fatalf("no gene %s", accession)
		}
		return i
	}
	zyxin, cst3, adipsin := row("X95735_at"), row("M27891_at"), row("M84526_at")
	tests := []struct {
		name  string
		genes []int
		want  int
	}{
		{"zyxin", []int{zyxin}, 38},
		{"cystatin C", []int{cst3}, 36},
		{"adipsin", []int{adipsin}, 35},
		{"cystatin C and zyxin", []int{cst3, zyxin}, 38},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := newScorer(d, len(tt.genes)).score(tt.genes); got != tt.want {
				t.Errorf("score = %d/38, want %d/38", got, tt.want)
			}
		})
	}

	s := newScorer(d, 1)
	var perfect []string
	scores := make([]int, len(d.genes))
	for g := range d.genes {
		scores[g] = s.score([]int{g})
		if scores[g] == 38 {
			perfect = append(perfect, d.genes[g].Accession)
		}
	}
	if !slices.Equal(perfect, []string{"X95735_at"}) {
		t.Errorf("genes scoring 38/38 alone = %v, want only X95735_at", perfect)
	}
	slices.Sort(scores)
	if median := scores[len(scores)/2]; median > 30 {
		t.Errorf("median single-gene score = %d/38; markers should stand out", median)
	}
}
