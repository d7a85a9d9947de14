// Package governor opens and closes the agent's gate: it watches the PC
// through the idle package, asks the policy whether tasks may run, and
// keeps the answer (with its reason) for worker status.
package governor

import (
	"context"
	"sync"
	"time"

	"github.com/nightshift-platform/nightshift/worker/agent"
	"github.com/nightshift-platform/nightshift/worker/idle"
	"github.com/nightshift-platform/nightshift/worker/policy"
)

// Governor decides, over and over, whether tasks may run.
type Governor struct {
	Gate *agent.Gate
	// Input is read on every step: it is what must stop a task within a
	// fraction of a second of the owner's return.
	Input idle.InputSource
	// Observe reads everything (input, CPU load, power) and is called at
	// most every FullEvery: measuring CPU load needs a span to measure over.
	Observe     func(ctx context.Context) idle.Observation
	Preferences func() policy.Preferences // read on every full observation, so edits apply
	Paused      func() bool               // the volunteer paused the worker
	Now         func() time.Time          // time.Now if nil

	// While tasks run, input is checked every FastEvery; while they wait,
	// every SlowEvery, which is what keeps a waiting worker's CPU use
	// negligible.
	FastEvery, SlowEvery, FullEvery time.Duration

	mu       sync.Mutex
	state    policy.State
	obs      idle.Observation
	lastFull time.Time
}

// Defaults for the polling periods.
const (
	DefaultFastEvery = 25 * time.Millisecond
	DefaultSlowEvery = 2 * time.Second
	DefaultFullEvery = time.Second
)

// State returns the last decision and the observation behind it.
func (g *Governor) State() (policy.State, idle.Observation) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state, g.obs
}

// Step observes once, decides, and opens or closes the gate. A throttled
// worker's gate is also closed for the paused part of each second.
func (g *Governor) Step(ctx context.Context) policy.State {
	now := time.Now()
	if g.Now != nil {
		now = g.Now()
	}
	g.mu.Lock()
	full := g.lastFull.IsZero() || now.Sub(g.lastFull) >= g.fullEvery()
	obs := g.obs
	g.mu.Unlock()
	if full {
		obs = g.Observe(ctx)
	} else if t, ok, _ := g.Input.LastInput(ctx); ok {
		// A source that failed says nothing; the others' answer stands.
		// The full observation logs the failure.
		obs.LastInput, obs.InputKnown = t, true
	}
	prefs := g.Preferences()
	paused := g.Paused != nil && g.Paused()

	g.mu.Lock()
	if full {
		g.lastFull = now
	}
	g.obs = obs
	g.state = policy.Decide(prefs, g.state, policy.Observation{Now: now, LastInput: obs.LastInput, InputKnown: obs.InputKnown,
		OtherCPUPercent: obs.OtherCPUPercent, CPUKnown: obs.CPUKnown, OnBattery: obs.OnBattery, PowerKnown: obs.PowerKnown}, paused)
	state := g.state
	g.mu.Unlock()

	open := state.Run
	if run, pause := prefs.Throttle(); open && pause > 0 {
		open = time.Duration(now.UnixNano())%time.Second < run
	}
	g.Gate.Set(open)
	return state
}

// Run steps until ctx ends.
func (g *Governor) Run(ctx context.Context) {
	for {
		state := g.Step(ctx)
		every := g.SlowEvery
		if state.Run {
			every = g.FastEvery
		}
		t := time.NewTimer(every)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (g *Governor) fullEvery() time.Duration {
	if g.FullEvery == 0 {
		return DefaultFullEvery
	}
	return g.FullEvery
}
