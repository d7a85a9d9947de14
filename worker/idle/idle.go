// Package idle senses whether the volunteer's PC is free for research work:
// when the user last touched it, how busy other programs keep its CPUs, and
// whether it runs on battery. The worker's policy decides from an
// Observation; this package only observes.
package idle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// InputSource reports when the user last gave input. ok is false when the
// source cannot see input on this machine (no device, no permission, no
// display); that is not an error.
type InputSource interface {
	LastInput(ctx context.Context) (t time.Time, ok bool, err error)
}

// Named gives an input source the name shown by `worker status`.
type Named struct {
	Name   string
	Source InputSource
}

// Combined is the latest input seen by any of its sources. Each source sees
// only some input (a console, a display, a session), so the newest time is
// the one that says the user is there.
type Combined []Named

// LastInput returns the latest time over the sources that can see input; ok
// if any can. err joins the errors of sources that failed: t and ok still
// stand for the others.
func (c Combined) LastInput(ctx context.Context) (time.Time, bool, error) {
	r := c.read(ctx)
	return r.last, len(r.seeing) > 0, errors.Join(r.errs...)
}

// Close releases what the sources hold open (device readers, bus and display
// connections).
func (c Combined) Close() error {
	var errs []error
	for _, n := range c {
		if cl, ok := n.Source.(io.Closer); ok {
			if err := cl.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close input source %s: %w", n.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

type reading struct {
	last   time.Time
	seeing []string // names of the sources that can see input
	errs   []error
}

func (c Combined) read(ctx context.Context) reading {
	var r reading
	for _, n := range c {
		t, ok, err := n.Source.LastInput(ctx)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("input source %s: %w", n.Name, err))
		}
		if !ok {
			continue
		}
		r.seeing = append(r.seeing, n.Name)
		if t.After(r.last) {
			r.last = t
		}
	}
	return r
}
