package markers

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestInputValidate(t *testing.T) {
	tests := []struct {
		in      Input
		wantErr string // "" for valid
	}{
		{Input{K: 1, N: 1}, ""},
		{Input{K: 64, Seed: 1<<64 - 1, N: 1_000_000}, ""},
		{Input{K: 0, N: 10}, "k must be between 1 and 64, got 0"},
		{Input{K: 65, N: 10}, "k must be between 1 and 64, got 65"},
		{Input{K: -1, N: 10}, "k must be between 1 and 64, got -1"},
		{Input{K: 5, N: 0}, "n must be between 1 and 1000000, got 0"},
		{Input{K: 5, N: 1_000_001}, "n must be between 1 and 1000000, got 1000001"},
	}
	for _, tt := range tests {
		err := tt.in.Validate()
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%+v: unexpected error %v", tt.in, err)
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
			t.Errorf("%+v: error = %v, want %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestSearchRecordKeepsBest(t *testing.T) {
	d, err := ParseDataset(strings.NewReader(tinyCSV))
	if err != nil {
		t.Fatal(err)
	}
	type draw struct {
		score int
		rows  []int
	}
	tests := []struct {
		name  string
		draws []draw
		want  []Ranked
	}{
		{
			name:  "highest first, ties by draw order",
			draws: []draw{{3, []int{0}}, {5, []int{1}}, {3, []int{2}}, {4, []int{0, 1}}},
			want:  []Ranked{{5, []int{1}}, {4, []int{0, 1}}, {3, []int{0}}, {3, []int{2}}},
		},
		{
			name: "only five kept, a later equal score does not displace",
			draws: []draw{
				{1, []int{0}}, {2, []int{1}}, {3, []int{2}}, {4, []int{0, 1}}, {5, []int{0, 2}},
				{1, []int{1, 2}}, {2, []int{0, 1, 2}},
			},
			want: []Ranked{{5, []int{0, 2}}, {4, []int{0, 1}}, {3, []int{2}}, {2, []int{1}}, {2, []int{0, 1, 2}}},
		},
		{
			name:  "the same set drawn again in another order is listed once",
			draws: []draw{{4, []int{0, 1}}, {4, []int{1, 0}}, {2, []int{2}}},
			want:  []Ranked{{4, []int{0, 1}}, {2, []int{2}}},
		},
		{
			name:  "rows kept sorted by gene index",
			draws: []draw{{4, []int{2, 0, 1}}},
			want:  []Ranked{{4, []int{0, 1, 2}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSearch(d, Input{K: 1, N: len(tt.draws)})
			if err != nil {
				t.Fatal(err)
			}
			for _, dr := range tt.draws {
				s.record(dr.score, dr.rows)
			}
			if s.done != len(tt.draws) {
				t.Errorf("done = %d, want %d", s.done, len(tt.draws))
			}
			equal := slices.EqualFunc(s.best, tt.want, func(a, b Ranked) bool {
				return a.Score == b.Score && slices.Equal(a.Rows, b.Rows)
			})
			if !equal {
				t.Errorf("best = %v, want %v", s.best, tt.want)
			}
		})
	}
}

func TestRunIsDeterministic(t *testing.T) {
	d := loadGolub(t)
	in := Input{K: 5, Seed: 20240601, N: 500}
	first, second := runJSON(t, d, in), runJSON(t, d, in)
	if !bytes.Equal(first, second) {
		t.Fatalf("two runs differ:\n%s\n%s", first, second)
	}
	in.Seed++
	if bytes.Equal(first, runJSON(t, d, in)) {
		t.Error("a different seed gave the same output")
	}
}

func TestRunOutputShape(t *testing.T) {
	d := loadGolub(t)
	for _, in := range []Input{{K: 1, Seed: 3, N: 2000}, {K: 7, Seed: 4, N: 300}, {K: 64, Seed: 5, N: 3}} {
		out := Run(d, in)
		if out.K != in.K || out.Seed != in.Seed || out.N != in.N {
			t.Errorf("%+v: output echoes k=%d seed=%d n=%d", in, out.K, out.Seed, out.N)
		}
		if len(out.Histogram) != 39 {
			t.Fatalf("%+v: histogram has %d entries, want 39", in, len(out.Histogram))
		}
		total := 0
		for _, c := range out.Histogram {
			total += c
		}
		if total != in.N {
			t.Errorf("%+v: histogram counts %d signatures, want %d", in, total, in.N)
		}
		if want := min(in.N, bestSize); len(out.Best) != want {
			t.Errorf("%+v: %d best, want %d", in, len(out.Best), want)
		}
		for i, sig := range out.Best {
			if i > 0 && sig.Score > out.Best[i-1].Score {
				t.Errorf("%+v: best not sorted by score: %d after %d", in, sig.Score, out.Best[i-1].Score)
			}
			if out.Histogram[sig.Score] == 0 {
				t.Errorf("%+v: best score %d missing from histogram", in, sig.Score)
			}
			if len(sig.Genes) != in.K {
				t.Errorf("%+v: best has %d genes", in, len(sig.Genes))
			}
			if !slices.IsSortedFunc(sig.Genes, func(a, b Gene) int { return a.Index - b.Index }) {
				t.Errorf("%+v: genes not sorted by index: %v", in, sig.Genes)
			}
			for j := 1; j < len(sig.Genes); j++ {
				if sig.Genes[j].Index == sig.Genes[j-1].Index {
					t.Errorf("%+v: gene %d repeated", in, sig.Genes[j].Index)
				}
			}
		}
	}
}

// Replicas built from different versions of this app are compared byte
// for byte, so the random stream and the scoring must never change by
// accident. If a change here is intended, it is a new app version.
func TestRunGolden(t *testing.T) {
	d := loadGolub(t)
	got := runJSON(t, d, Input{K: 2, Seed: 1, N: 20})
	const golden = `{
	"k": 2, "seed": 1, "n": 20,
	"histogram": [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1,0,1,1,1,1,2,1,1,2,1,0,5,3,0,0,0,0,0,0,0],
	"best": [
		{"score": 31, "accuracy": "31/38", "genes": [{"index": 528, "accession": "D63487_at"}, {"index": 2394, "accession": "M95678_at"}]},
		{"score": 31, "accuracy": "31/38", "genes": [{"index": 1055, "accession": "J02645_at"}, {"index": 4823, "accession": "X94232_at"}]},
		{"score": 31, "accuracy": "31/38", "genes": [{"index": 2359, "accession": "M92439_at"}, {"index": 6894, "accession": "U25975_at"}]},
		{"score": 30, "accuracy": "30/38", "genes": [{"index": 5445, "accession": "X04526_at"}, {"index": 6388, "accession": "S54005_s_at"}]},
		{"score": 30, "accuracy": "30/38", "genes": [{"index": 2360, "accession": "M92449_at"}, {"index": 3710, "accession": "U77396_at"}]}
	]
}`
	var want bytes.Buffer
	if err := json.Compact(&want, []byte(golden)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("output changed:\ngot  %s\nwant %s", got, want.Bytes())
	}
}

func runJSON(t testing.TB, d *Dataset, in Input) []byte {
	t.Helper()
	b, err := json.Marshal(Run(d, in))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func BenchmarkRun(b *testing.B) {
	d := loadGolub(b)
	in := Input{K: 5, Seed: 1, N: 1000}
	for b.Loop() {
		Run(d, in)
	}
}
