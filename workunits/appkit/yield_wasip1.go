//go:build wasip1

package appkit

//go:wasmimport nightshift yield
func yield() int32

//go:wasmimport nightshift progress
func progress(fraction float64)

// Yield hands control to the worker, which blocks it while the task is
// suspended. Call it between steps of work, at least every ~10 ms of
// compute: the worker can only suspend, or stop, the task here.
func Yield() Action { return Action(yield()) }

// Progress tells the worker the fraction of the work done, 0 to 1.
func Progress(fraction float64) { progress(fraction) }
