package sandbox

import (
	"context"
	"math"
	"testing"

	"github.com/tetratelabs/wazero/api"

	"github.com/nightshift-platform/nightshift/workunits/appiface"
)

// recordControl keeps what the host functions pass on.
type recordControl struct{ got []float64 }

func (c *recordControl) Yield(context.Context) appiface.Action { return appiface.Continue }
func (c *recordControl) Progress(f float64)                    { c.got = append(c.got, f) }

// FuzzProgress: whatever bits a module passes to nightshift.progress, the
// worker sees a fraction in [0, 1] (NaN is dropped), equal to the value
// when it already was one.
func FuzzProgress(f *testing.F) {
	for _, v := range []float64{0, 0.5, 1, -0.0, -1, 2, math.Inf(1), math.Inf(-1), math.NaN(), math.SmallestNonzeroFloat64, math.MaxFloat64} {
		f.Add(math.Float64bits(v))
	}
	f.Fuzz(func(t *testing.T, bits uint64) {
		c := &recordControl{}
		progress(withControl(context.Background(), c), nil, []uint64{bits})
		v := api.DecodeF64(bits)
		if math.IsNaN(v) {
			if len(c.got) != 0 {
				t.Fatalf("NaN passed on as %v", c.got)
			}
			return
		}
		if len(c.got) != 1 || c.got[0] < 0 || c.got[0] > 1 || math.IsNaN(c.got[0]) {
			t.Fatalf("progress(%v) passed on %v", v, c.got)
		}
		if v >= 0 && v <= 1 && c.got[0] != v {
			t.Fatalf("progress(%v) passed on %v", v, c.got[0])
		}
		// Without a Control nothing happens, and nothing panics.
		progress(context.Background(), nil, []uint64{bits})
	})
}
