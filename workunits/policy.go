package workunits

import "time"

// Policy holds a job's redundancy parameters, after BOINC's work unit fields
// (min_quorum, target_nresults, max_error_results, max_total_results,
// delay_bound).
type Policy struct {
	MinQuorum        int           // matching outputs needed to accept a result
	TargetReplicas   int           // replicas issued up front
	MaxErrorReplicas int           // errors and missed deadlines tolerated before the unit fails
	MaxTotalReplicas int           // replicas ever issued before the unit fails
	Deadline         time.Duration // how long a host may hold a task
	// Adaptive starts each unit with one replica and replicates a result
	// only if its host is not trusted, or for a spot check (trust.go).
	Adaptive bool
}

// DefaultPolicy is what a job gets for every field it leaves zero.
var DefaultPolicy = Policy{
	MinQuorum:        2,
	TargetReplicas:   2,
	MaxErrorReplicas: 3,
	MaxTotalReplicas: 6,
	Deadline:         time.Hour,
}

// Limits that keep one job from tying up the platform.
const (
	MaxQuorum        = 10
	MaxReplicas      = 50
	MinDeadline      = time.Second
	MaxDeadline      = 30 * 24 * time.Hour
	MaxUnitsPerJob   = 100_000
	MaxUnitInputSize = 64 << 10
)

// WithDefaults fills zero fields from DefaultPolicy. TargetReplicas defaults
// to MinQuorum so that a job asking for quorum 3 gets 3 replicas up front.
func (p Policy) WithDefaults() Policy {
	if p.MinQuorum == 0 {
		p.MinQuorum = DefaultPolicy.MinQuorum
	}
	if p.TargetReplicas == 0 {
		p.TargetReplicas = p.MinQuorum
	}
	if p.MaxErrorReplicas == 0 {
		p.MaxErrorReplicas = DefaultPolicy.MaxErrorReplicas
	}
	if p.MaxTotalReplicas == 0 {
		p.MaxTotalReplicas = max(p.TargetReplicas+DefaultPolicy.MaxTotalReplicas-DefaultPolicy.TargetReplicas, p.TargetReplicas)
	}
	if p.Deadline == 0 {
		p.Deadline = DefaultPolicy.Deadline
	}
	return p
}

// Validate reports the first rule the policy breaks.
func (p Policy) Validate() error {
	switch {
	case p.MinQuorum < 1 || p.MinQuorum > MaxQuorum:
		return Errorf(EINVALID, "min_quorum must be between 1 and %d, got %d", MaxQuorum, p.MinQuorum)
	case p.TargetReplicas < p.MinQuorum:
		return Errorf(EINVALID, "target_replicas (%d) must be at least min_quorum (%d)", p.TargetReplicas, p.MinQuorum)
	case p.MaxTotalReplicas < p.TargetReplicas || p.MaxTotalReplicas > MaxReplicas:
		return Errorf(EINVALID, "max_total_replicas must be between target_replicas (%d) and %d, got %d", p.TargetReplicas, MaxReplicas, p.MaxTotalReplicas)
	case p.MaxErrorReplicas < 0 || p.MaxErrorReplicas > MaxReplicas:
		return Errorf(EINVALID, "max_error_replicas must be between 0 and %d, got %d", MaxReplicas, p.MaxErrorReplicas)
	case p.Deadline < MinDeadline || p.Deadline > MaxDeadline:
		return Errorf(EINVALID, "deadline must be between %s and %s, got %s", MinDeadline, MaxDeadline, p.Deadline)
	}
	return nil
}
