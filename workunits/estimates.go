package workunits

import "time"

// Estimates are what a researcher says one unit of an app version costs
// to run, as BOINC's rsc_fpops_est, rsc_memory_bound, rsc_disk_bound and
// delay_bound: hosts use them to judge whether they can take its tasks.
type Estimates struct {
	Ops       int64         // operations per unit
	MemoryMiB int           // peak memory
	DiskMiB   int           // scratch disk (checkpoints)
	Deadline  time.Duration // how long a unit takes on a slow host, with margin
}

// DefaultEstimates fill the fields an upload leaves at zero.
var DefaultEstimates = Estimates{Ops: 1e12, MemoryMiB: 256, DiskMiB: 64, Deadline: time.Hour}

// Bounds of estimates: WebAssembly's 32-bit memory is at most 4 GiB; a
// deadline is as long as a task may be held.
const (
	MaxEstimatedOps = int64(1e18)
	MaxMemoryMiB    = 4096
	MaxDiskMiB      = 1 << 20 // 1 TiB
)

// WithDefaults returns e with zero fields set from DefaultEstimates.
func (e Estimates) WithDefaults() Estimates {
	if e.Ops == 0 {
		e.Ops = DefaultEstimates.Ops
	}
	if e.MemoryMiB == 0 {
		e.MemoryMiB = DefaultEstimates.MemoryMiB
	}
	if e.DiskMiB == 0 {
		e.DiskMiB = DefaultEstimates.DiskMiB
	}
	if e.Deadline == 0 {
		e.Deadline = DefaultEstimates.Deadline
	}
	return e
}

// Validate checks every field is within its bounds.
func (e Estimates) Validate() error {
	switch {
	case e.Ops < 1 || e.Ops > MaxEstimatedOps:
		return Errorf(EINVALID, "ops must be between 1 and %d, got %d", MaxEstimatedOps, e.Ops)
	case e.MemoryMiB < 1 || e.MemoryMiB > MaxMemoryMiB:
		return Errorf(EINVALID, "memory_mib must be between 1 and %d, got %d", MaxMemoryMiB, e.MemoryMiB)
	case e.DiskMiB < 1 || e.DiskMiB > MaxDiskMiB:
		return Errorf(EINVALID, "disk_mib must be between 1 and %d, got %d", MaxDiskMiB, e.DiskMiB)
	case e.Deadline < MinDeadline || e.Deadline > MaxDeadline:
		return Errorf(EINVALID, "deadline_seconds must be between %d and %d, got %d",
			int(MinDeadline/time.Second), int(MaxDeadline/time.Second), int64(e.Deadline/time.Second))
	}
	return nil
}
