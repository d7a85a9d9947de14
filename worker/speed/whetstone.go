// Package speed measures how fast this PC computes floating-point work, so
// that the coordinator can turn a task's CPU time into credit.
package speed

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Whetstone runs the Whetstone benchmark (Curnow and Wichmann, 1976) on
// the calling goroutine for about d and returns Whetstone instructions per
// second. BOINC measures a host's floating-point speed this way, and the
// Cobblestone that credit is counted in is defined against it, so the
// figure goes to the coordinator as the host's ops_per_second.
//
// The benchmark mixes scalar and array arithmetic, procedure calls,
// branches, integer arithmetic and the standard functions (sin, cos, atan,
// exp, log, sqrt) in the proportions its authors measured in scientific
// programs. It runs on one core: tasks are single-threaded.
func Whetstone(ctx context.Context, d time.Duration) (float64, error) {
	if d <= 0 {
		return 0, fmt.Errorf("the benchmark needs a positive duration, got %v", d)
	}
	// One pass of loops = 100 is 10⁷ Whetstone instructions: a few
	// milliseconds on a PC, short enough to stop close to d.
	const loops = 100
	var w whetstone
	var passes int
	start := time.Now()
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		w.pass(loops)
		passes++
		if elapsed := time.Since(start); elapsed >= d {
			if !w.finite() {
				return 0, fmt.Errorf("the benchmark's arithmetic went wrong (a non-finite result): this PC's floating point is not trustworthy")
			}
			return float64(passes) * loops * instructionsPerLoop / elapsed.Seconds(), nil
		}
	}
}

// instructionsPerLoop is the Whetstone instructions one unit of loops
// stands for: the benchmark's definition, kilo-Whetstone instructions per
// second being 100 × loops / seconds.
const instructionsPerLoop = 100_000

// The benchmark's constants; T and T1 keep the values from running away
// over many iterations, T2 divides.
const (
	t  = 0.499975
	t1 = 0.50025
	t2 = 2.0
)

// whetstone holds the benchmark's state across passes, so that no module's
// work is dead code the compiler could drop.
type whetstone struct {
	e1         [4]float64
	x, y, z    float64
	j, k, l    int
	integerSum int
}

// pass runs each module once with its loop count scaled by loops. The
// counts per module (per unit of loops) are the benchmark's: they set the
// mix of operations.
func (w *whetstone) pass(loops int) {
	// Array elements.
	e := &w.e1
	e[0], e[1], e[2], e[3] = 1, -1, -1, -1
	for range 12 * loops {
		e[0] = (e[0] + e[1] + e[2] - e[3]) * t
		e[1] = (e[0] + e[1] - e[2] + e[3]) * t
		e[2] = (e[0] - e[1] + e[2] + e[3]) * t
		e[3] = (-e[0] + e[1] + e[2] + e[3]) * t
	}
	// The same, through a procedure taking the array.
	for range 14 * loops {
		arrayProcedure(e)
	}
	// Conditional jumps.
	j := 1
	for range 345 * loops {
		if j == 1 {
			j = 2
		} else {
			j = 3
		}
		if j > 2 {
			j = 0
		} else {
			j = 1
		}
		if j < 1 {
			j = 1
		} else {
			j = 0
		}
	}
	// Integer arithmetic, with array stores indexed by its results.
	j, k, l := 1, 2, 3
	for range 210 * loops {
		j = j * (k - j) * (l - k)
		k = l*k - (l-j)*k
		l = (l - k) * (k + j)
		e[l-2] = float64(j + k + l)
		e[k-2] = float64(j * k * l)
	}
	w.j, w.k, w.l = j, k, l
	// Trigonometric functions.
	x, y := 0.5, 0.5
	for range 32 * loops {
		x = t * math.Atan(t2*math.Sin(x)*math.Cos(x)/(math.Cos(x+y)+math.Cos(x-y)-1))
		y = t * math.Atan(t2*math.Sin(y)*math.Cos(y)/(math.Cos(x+y)+math.Cos(x-y)-1))
	}
	// Procedure calls.
	x, y, z := 1.0, 1.0, 1.0
	for range 899 * loops {
		z = scalarProcedure(x, y)
	}
	w.y, w.z = y, z
	// Array references.
	a := [3]float64{1, 2, 3}
	for range 616 * loops {
		swapProcedure(&a, 0, 1, 2)
	}
	w.integerSum += int(a[0]+a[1]+a[2]) + j + k + l
	// Standard functions.
	x = 0.75
	for range 93 * loops {
		x = math.Sqrt(math.Exp(math.Log(x) / t1))
	}
	w.x = x
}

// finite reports whether every float the benchmark kept is a number.
func (w *whetstone) finite() bool {
	for _, v := range []float64{w.e1[0], w.e1[1], w.e1[2], w.e1[3], w.x, w.y, w.z} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

//go:noinline
func arrayProcedure(e *[4]float64) {
	for range 6 {
		e[0] = (e[0] + e[1] + e[2] - e[3]) * t
		e[1] = (e[0] + e[1] - e[2] + e[3]) * t
		e[2] = (e[0] - e[1] + e[2] + e[3]) * t
		e[3] = (-e[0] + e[1] + e[2] + e[3]) / t2
	}
}

//go:noinline
func scalarProcedure(x, y float64) float64 {
	x1 := t * (x + y)
	y1 := t * (x1 + y)
	return (x1 + y1) / t2
}

//go:noinline
func swapProcedure(a *[3]float64, j, k, l int) {
	a[j] = a[k]
	a[k] = a[l]
	a[l] = a[j]
}
