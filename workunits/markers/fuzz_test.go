package markers_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/workunits/markers"
)

// FuzzParseDataset: a dataset CSV is read or refused with an error; one
// that is read has genes, and every value of it can be asked for.
func FuzzParseDataset(f *testing.F) {
	header := "index,accession,description,s1_ALL,s2_ALL,s3_AML,s4_AML\n"
	for _, s := range []string{
		header + "1,AFFX-1,gene one,10.5,-3,0,7\n2,AFFX-2,,1,2,3,4\n",
		header + "1,AFFX-1,x,1,2,3\n", header + "1,AFFX-1,x,a,2,3,4\n", header + "1,,x,1,2,3,4\n",
		header + "1,A,x,1,2,3,4\n1,B,x,1,2,3,4\n", header, "index,accession\n", "",
		"index,accession,description,a_ALL,b_AML\n1,A,x,1,2\n", header + "1,A,x,99999999999,2,3,4\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := markers.ParseDataset(strings.NewReader(s))
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		genes, classes := d.Genes(), d.Classes()
		if len(genes) == 0 || len(classes) == 0 {
			t.Fatalf("accepted a dataset of %d genes, %d samples", len(genes), len(classes))
		}
		for g := range genes {
			for s := range classes {
				d.Value(g, s)
			}
		}
	})
}

// FuzzResume: a checkpoint read back from disk resumes only if a search
// could have reached it, and a resumed search finishes with one histogram
// entry per signature; a genuine checkpoint finishes as an unbroken run.
func FuzzResume(f *testing.F) {
	d, err := markers.LoadDataset()
	if err != nil {
		f.Fatal(err)
	}
	for _, in := range []markers.Input{{K: 3, Seed: 1, N: 40}, {K: 1, Seed: 7, N: 5}, {K: 5, Seed: 99, N: 20}} {
		s, err := markers.NewSearch(d, in)
		if err != nil {
			f.Fatal(err)
		}
		s.Step(in.N / 2)
		raw, _ := json.Marshal(s.State())
		f.Add(raw)
	}
	f.Add([]byte(`{"input":{"k":3,"seed":1,"n":10},"rng":1,"done":11,"histogram":[],"best":[]}`))
	f.Add([]byte(`{"input":{"k":3,"seed":1,"n":10},"rng":1,"done":2,"histogram":[1,1],"best":[{"score":1,"rows":[0,1,99999]}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var st markers.State
		if json.Unmarshal(raw, &st) != nil {
			return
		}
		s, err := markers.Resume(d, st)
		if err != nil || st.Input.N-st.Done > 200 {
			return
		}
		s.Step(st.Input.N)
		out := s.Output()
		sum := 0
		for _, n := range out.Histogram {
			sum += n
		}
		if sum != st.Input.N {
			t.Fatalf("resumed %s: histogram counts %d signatures, want %d", raw, sum, st.Input.N)
		}
		// A genuine checkpoint (the same input, its own RNG path) ends where
		// an unbroken run does.
		fresh, _ := markers.NewSearch(d, st.Input)
		fresh.Step(st.Done)
		if reflect.DeepEqual(fresh.State(), st) {
			if want := markers.Run(d, st.Input); !reflect.DeepEqual(out, want) {
				t.Fatalf("resumed %s: %+v, an unbroken run gives %+v", raw, out, want)
			}
		}
	})
}
