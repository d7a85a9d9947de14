//go:build !wasip1

package appkit

// Yield hands control to the worker, which blocks it while the task is
// suspended. Natively there is no worker: it returns Continue.
func Yield() Action { return Continue }

// Progress tells the worker the fraction of the work done, 0 to 1.
// Natively there is no worker: it does nothing.
func Progress(float64) {}
