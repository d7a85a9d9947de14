package idle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/process"
)

// CPULoad measures how much CPU other programs used between two calls, so
// that research work can step aside for the volunteer's own. It reads the
// machine's cumulative CPU times and those of Own's processes through
// gopsutil, which does so without cgo on Linux, Windows and macOS. One call
// costs a few small reads (/proc on Linux), cheap enough for once a second.
type CPULoad struct {
	// Own returns the PIDs of our task processes; their CPU is not other
	// programs' load. Nil means none.
	Own func() []int32

	mu    sync.Mutex
	at    time.Time // of the last call; zero before the first
	busy  float64   // cumulative busy seconds, all cores, at the last call
	total float64
	procs map[int32]*ownProc
}

type ownProc struct {
	p   *process.Process
	cpu float64 // cumulative user+system seconds at the last call
}

// OtherPercent returns the CPU used since the previous call by everything
// but Own's processes, as a percent of all cores (0–100). The first call
// only takes the starting point and returns ok false.
func (c *CPULoad) OtherPercent(ctx context.Context) (float64, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	now := time.Now()
	ts, err := cpu.TimesWithContext(ctx, false)
	if err != nil {
		return 0, false, fmt.Errorf("read machine CPU times: %w", err)
	}
	if len(ts) == 0 {
		return 0, false, errors.New("read machine CPU times: none reported")
	}
	busy, total := busyTotal(ts[0])
	own := c.ownSince(ctx)

	primed, prevBusy, prevTotal := !c.at.IsZero(), c.busy, c.total
	c.at, c.busy, c.total = now, busy, total
	if !primed || total <= prevTotal {
		return 0, false, nil
	}
	return otherPercent(busy-prevBusy, own, total-prevTotal), true, nil
}

// ownSince returns the CPU seconds Own's processes used since the last call
// and records their new totals. A process first seen now counts whole if it
// started after the last call; else we do not know its share of the interval
// and count none. CPU of a process that ended between calls is lost and
// counts as other load: the error is on the cautious side.
func (c *CPULoad) ownSince(ctx context.Context) float64 {
	if c.Own == nil {
		return 0
	}
	seen := make(map[int32]*ownProc)
	var used float64
	for _, pid := range c.Own() {
		op := c.procs[pid]
		if op == nil {
			p, err := process.NewProcessWithContext(ctx, pid)
			if err != nil {
				continue // already gone
			}
			op = &ownProc{p: p, cpu: -1}
		}
		t, err := op.p.TimesWithContext(ctx)
		if err != nil {
			continue
		}
		cum := t.User + t.System
		switch {
		case op.cpu >= 0 && cum >= op.cpu:
			used += cum - op.cpu
		case !c.at.IsZero() && startedAfter(ctx, op.p, c.at):
			used += cum
		}
		op.cpu = cum
		seen[pid] = op
	}
	c.procs = seen
	return used
}

func startedAfter(ctx context.Context, p *process.Process, t time.Time) bool {
	ms, err := p.CreateTimeWithContext(ctx)
	return err == nil && time.UnixMilli(ms).After(t)
}

// busyTotal splits cumulative CPU times into busy and total seconds. Steal
// is time the hypervisor gave to other machines, no one's load here, so it
// is left out of both. On Linux guest time is already inside user and nice.
func busyTotal(t cpu.TimesStat) (busy, total float64) {
	busy = t.User + t.Nice + t.System + t.Irq + t.Softirq
	return busy, busy + t.Idle + t.Iowait
}

// otherPercent is the busy share of an interval left after our own use,
// clamped to 0–100: samples of the machine and of our processes are not
// taken at one instant, so the difference can stray past either end.
func otherPercent(busy, own, total float64) float64 {
	return min(max((busy-own)/total*100, 0), 100)
}
