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
	"sync"
	"time"
)

// InputSource reports when the user last gave input. ok is false when the
// source cannot see input on this machine (no device, no permission, no
// display); that is not an error.
type InputSource interface {
	LastInput(ctx context.Context) (t time.Time, ok bool, err error)
}

// Named gives an input source the name shown by `worker status`, and says
// how often it is worth asking.
type Named struct {
	Name   string
	Source InputSource
	// Every is the least time between two reads of Source; calls in
	// between get its last answer. Zero reads it on every call. Sources
	// that cost a round trip or a process and change slowly (terminal
	// times move in 8-second steps) need not be asked 40 times a second.
	Every time.Duration
}

// DefaultTimeout is how long Combined waits for a source. The worker asks
// every 25 ms while tasks run; a source stuck longer (a hung display or
// bus) must not hold the others' answers back.
const DefaultTimeout = 50 * time.Millisecond

// hangLimit bounds one read of a source that honours its context; one that
// does not (an X server that stopped answering) is not asked again until
// its read returns.
const hangLimit = 10 * time.Second

// Combined is the latest input seen by any of its sources. Each source sees
// only some input (a console, a display, a session), so the newest time is
// the one that says the user is there. Sources are read side by side, each
// at most every its Every, and none is waited for longer than Timeout.
type Combined struct {
	Timeout time.Duration // DefaultTimeout if zero
	sources []*polled
}

// NewCombined combines sources.
func NewCombined(sources ...Named) *Combined {
	c := &Combined{}
	for _, n := range sources {
		c.sources = append(c.sources, &polled{Named: n})
	}
	return c
}

// Len is the number of sources.
func (c *Combined) Len() int {
	if c == nil {
		return 0
	}
	return len(c.sources)
}

// LastInput returns the latest time over the sources that can see input; ok
// if any can. err joins the errors of sources that failed or were too slow:
// t and ok still stand for the others.
func (c *Combined) LastInput(ctx context.Context) (time.Time, bool, error) {
	r := c.read(ctx)
	return r.last, len(r.seeing) > 0, errors.Join(r.errs...)
}

// Close releases what the sources hold open (device readers, bus and display
// connections). A source still in a read is closed when the read returns:
// waiting for a hung display would hang the worker's shutdown.
func (c *Combined) Close() error {
	if c == nil {
		return nil
	}
	var errs []error
	for _, p := range c.sources {
		if err := p.close(); err != nil {
			errs = append(errs, fmt.Errorf("close input source %s: %w", p.Name, err))
		}
	}
	return errors.Join(errs...)
}

type reading struct {
	last   time.Time
	seeing []string // names of the sources that can see input
	errs   []error
}

func (c *Combined) read(ctx context.Context) reading {
	var r reading
	if c == nil {
		return r
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	now := time.Now()
	pending := make([]<-chan struct{}, len(c.sources))
	for i, p := range c.sources {
		pending[i] = p.start(ctx, now)
	}
	wait, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for i, p := range c.sources {
		a := p.answer(wait, pending[i])
		if a.err != nil {
			r.errs = append(r.errs, fmt.Errorf("input source %s: %w", p.Name, a.err))
		}
		if !a.ok {
			continue
		}
		r.seeing = append(r.seeing, p.Name)
		if a.t.After(r.last) {
			r.last = a.t
		}
	}
	return r
}

// polled is one source with its last answer and the read in flight, if any.
type polled struct {
	Named

	mu     sync.Mutex
	last   answer
	readAt time.Time     // when last was read; zero before the first read
	busy   chan struct{} // closed when the read in flight returns; nil if none
	closed bool          // Close was called; a read in flight closes the source
}

type answer struct {
	t   time.Time
	ok  bool
	err error
}

// start begins a read unless one is in flight or the last answer is fresh
// enough, and returns what to wait on: nil when there is nothing to wait for.
func (p *polled) start(ctx context.Context, now time.Time) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.busy != nil {
		return p.busy
	}
	if p.closed || !p.readAt.IsZero() && now.Sub(p.readAt) < p.Every {
		return nil
	}
	done := make(chan struct{})
	p.busy = done
	// The read may outlast this call (see answer); it is bounded on its own.
	readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), hangLimit)
	go func() {
		defer cancel()
		t, ok, err := p.Source.LastInput(readCtx)
		p.mu.Lock()
		p.last, p.readAt, p.busy = answer{t: t, ok: ok, err: err}, time.Now(), nil
		closeNow := p.closed
		p.mu.Unlock()
		close(done)
		if closeNow {
			_ = closeSource(p.Source) // Close has returned; nobody to tell
		}
	}()
	return done
}

// close closes the source now, or leaves it to the read in flight.
func (p *polled) close() error {
	p.mu.Lock()
	p.closed = true
	busy := p.busy != nil
	p.mu.Unlock()
	if busy {
		return nil
	}
	return closeSource(p.Source)
}

func closeSource(s InputSource) error {
	if cl, ok := s.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// answer waits for the read in flight until wait ends. A source still
// reading then gives its previous answer, with an error that says so.
func (p *polled) answer(wait context.Context, pending <-chan struct{}) answer {
	if pending != nil {
		select {
		case <-pending:
		case <-wait.Done():
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return answer{}
	}
	a := p.last
	if p.busy != nil && p.busy == pending {
		late := fmt.Errorf("no answer in time; using the one read at %s", p.readAt.Format(time.TimeOnly))
		if p.readAt.IsZero() || time.Since(p.readAt) > hangLimit {
			// A source hung this long says nothing about the user now.
			late, a.ok = errors.New("no answer in time"), false
		}
		a.err = errors.Join(a.err, late)
	}
	return a
}
