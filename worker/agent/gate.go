package agent

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Gate says whether tasks may run now. The worker's governor opens and
// closes it from the volunteer's preferences and what the PC is doing;
// closing it suspends every running task, opening it resumes them.
type Gate struct {
	log *slog.Logger

	mu       sync.Mutex
	open     bool
	changed  chan struct{} // closed and replaced on every change
	running  map[Execution]struct{}
	openedAt time.Time     // when it last opened, if open
	wasOpen  time.Duration // before openedAt
}

// NewGate returns a gate, open or closed.
func NewGate(open bool, log *slog.Logger) *Gate {
	if log == nil {
		log = slog.Default()
	}
	g := &Gate{log: log, open: open, changed: make(chan struct{}), running: map[Execution]struct{}{}}
	if open {
		g.openedAt = time.Now()
	}
	return g
}

// OpenFor is how long the gate has been open since it was made: the time
// tasks could run, from which the worker learns its pace.
func (g *Gate) OpenFor() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open {
		return g.wasOpen + time.Since(g.openedAt)
	}
	return g.wasOpen
}

// Set opens or closes the gate and suspends or resumes the running tasks
// to match. It returns once every task has been told (Suspend returns
// when the task uses no CPU).
func (g *Gate) Set(open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open == open {
		return
	}
	g.open = open
	if open {
		g.openedAt = time.Now()
	} else {
		g.wasOpen += time.Since(g.openedAt)
	}
	close(g.changed)
	g.changed = make(chan struct{})
	// Suspend all at once: one that takes its grace to stop must not hold
	// up the others.
	var wg sync.WaitGroup
	for e := range g.running {
		wg.Go(func() { g.apply(e, open) })
	}
	wg.Wait()
}

func (g *Gate) apply(e Execution, open bool) {
	var err error
	if open {
		err = e.Resume()
	} else {
		err = e.Suspend()
	}
	if err != nil {
		g.log.Warn("could not steer a task", "resume", open, "err", err)
	}
}

// Open reports whether tasks may run.
func (g *Gate) Open() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

// Wait blocks until the gate is open or ctx ends.
func (g *Gate) Wait(ctx context.Context) error {
	for {
		g.mu.Lock()
		open, changed := g.open, g.changed
		g.mu.Unlock()
		if open {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// Track puts e under the gate until untrack is called; if the gate is
// closed already, e is suspended at once.
func (g *Gate) Track(e Execution) (untrack func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running[e] = struct{}{}
	if !g.open {
		g.apply(e, false)
	}
	return func() {
		g.mu.Lock()
		delete(g.running, e)
		g.mu.Unlock()
	}
}
