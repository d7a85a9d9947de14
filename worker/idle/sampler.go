package idle

import (
	"context"
	"log/slog"
	"time"
)

// Observation is the PC's state at one moment, as the worker's policy sees
// it. Each Known field says whether the value beside it could be measured.
type Observation struct {
	LastInput       time.Time
	InputKnown      bool
	OtherCPUPercent float64 // CPU used by other programs, percent of all cores
	CPUKnown        bool
	OnBattery       bool
	PowerKnown      bool
	Sources         []string // the input sources that can see input here, for `worker status`
}

// Sampler gathers an Observation from its sources. A nil Input, CPU or Power
// leaves that part unknown.
type Sampler struct {
	Input *Combined
	CPU   *CPULoad
	Power Power
	Log   *slog.Logger // optional; source errors go here at debug level
}

// NewSampler returns a Sampler over this OS's default sources. own lists the
// PIDs of the worker's task processes, whose CPU is not counted as other load;
// extra input sources (an activity file) join the OS's own.
func NewSampler(own func() []int32, log *slog.Logger, extra ...Named) *Sampler {
	input := NewCombined(append(DefaultSources(), extra...)...)
	return &Sampler{Input: input, CPU: &CPULoad{Own: own}, Power: DefaultPower(), Log: log}
}

// Observe reads every source once. A failing source is logged and reported
// as unknown: the policy must still get an answer.
func (s *Sampler) Observe(ctx context.Context) Observation {
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var o Observation

	r := s.Input.read(ctx)
	o.LastInput, o.InputKnown, o.Sources = r.last, len(r.seeing) > 0, r.seeing
	for _, err := range r.errs {
		log.DebugContext(ctx, "idle: reading input source", "err", err)
	}

	if s.CPU != nil {
		var err error
		o.OtherCPUPercent, o.CPUKnown, err = s.CPU.OtherPercent(ctx)
		if err != nil {
			log.DebugContext(ctx, "idle: measuring CPU load", "err", err)
		}
	}

	if s.Power != nil {
		var err error
		o.OnBattery, o.PowerKnown, err = s.Power.OnBattery(ctx)
		if err != nil {
			log.DebugContext(ctx, "idle: reading power source", "err", err)
		}
	}
	return o
}

// Close releases what the input sources hold open.
func (s *Sampler) Close() error { return s.Input.Close() }
