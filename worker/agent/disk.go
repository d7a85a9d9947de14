package agent

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// diskEvery is how often the state directory's size is checked against
// the cap while tasks run; a walk of it costs well under a millisecond.
const diskEvery = 10 * time.Second

// diskUse is what the worker keeps on disk, in bytes.
type diskUse struct {
	total int64
	tasks map[int64]int64 // by task ID
}

// measureDisk adds up the task directories, the modules and the caches.
func (a *Agent) measureDisk() diskUse {
	u := diskUse{tasks: map[int64]int64{}}
	entries, _ := os.ReadDir(a.tasksDir())
	for _, e := range entries {
		n := dirSize(filepath.Join(a.tasksDir(), e.Name()))
		u.total += n
		if id, err := parseTaskID(e.Name()); err == nil {
			u.tasks[id] = n
		}
	}
	u.total += dirSize(a.moduleDir())
	for _, d := range a.cfg.CacheDirs {
		u.total += dirSize(d)
	}
	return u
}

// makeRoom frees what can be freed without losing work — modules no kept
// task needs, and the caches (rebuilt on demand) — when the worker is over
// its disk cap, and tells whether there is room for another task.
func (a *Agent) makeRoom() bool {
	if a.cfg.DiskCap <= 0 {
		return true
	}
	if a.measureDisk().total < a.cfg.DiskCap {
		a.setDiskFull(false)
		return true
	}
	needed := map[string]bool{}
	entries, _ := os.ReadDir(a.tasksDir())
	for _, e := range entries {
		if t, err := readTask(filepath.Join(a.tasksDir(), e.Name())); err == nil {
			needed[t.ModuleSHA256+".wasm"] = true
		}
	}
	modules, _ := os.ReadDir(a.moduleDir())
	for _, m := range modules {
		if !needed[m.Name()] {
			_ = os.Remove(filepath.Join(a.moduleDir(), m.Name()))
		}
	}
	for _, d := range a.cfg.CacheDirs {
		// A task starting now recompiles its module; one running has it
		// loaded already.
		_ = os.RemoveAll(d)
	}
	used := a.measureDisk().total
	full := used >= a.cfg.DiskCap
	if full {
		a.log.Warn("the disk cap is reached; no new work until tasks finish", "used_mib", used>>20, "cap_mib", a.cfg.DiskCap>>20)
	}
	a.setDiskFull(full)
	return !full
}

func (a *Agent) setDiskFull(full bool) {
	a.mu.Lock()
	a.diskFull = full
	a.mu.Unlock()
}

// diskLoop stops the task that takes the most room whenever the worker is
// over its cap after freeing what it can: a module writing without bound
// to its scratch directory must not fill the volunteer's disk.
func (a *Agent) diskLoop(ctx context.Context) {
	if a.cfg.DiskCap <= 0 {
		return
	}
	t := time.NewTicker(diskEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.enforceDiskCap()
	}
}

func (a *Agent) enforceDiskCap() {
	a.mu.Lock()
	n := len(a.running)
	a.mu.Unlock()
	if n == 0 || a.makeRoom() {
		return
	}
	u := a.measureDisk()
	a.mu.Lock()
	var victim *runningTask
	var victimID, size int64
	for id, r := range a.running {
		if victim == nil || u.tasks[id] > size {
			victim, victimID, size = r, id, u.tasks[id]
		}
	}
	victim.stopped = fmt.Sprintf("stopped: the task used %d MiB of disk and the worker's disk cap (disk_mib) is %d MiB",
		size>>20, a.cfg.DiskCap>>20)
	a.mu.Unlock()
	a.log.Warn("stopping a task over the disk cap", "task", victimID, "task_mib", size>>20, "cap_mib", a.cfg.DiskCap>>20)
	victim.execution.Kill()
}

// dirSize is the size of the files under dir; what cannot be read counts
// nothing (it is being removed, or is not ours).
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func parseTaskID(name string) (int64, error) { return strconv.ParseInt(name, 10, 64) }
