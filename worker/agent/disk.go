package agent

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// diskEvery is how often the state directory's size is checked against
// the cap while tasks run, and while a full disk keeps the worker from
// fetching; a walk of it costs well under a millisecond.
const diskEvery = 10 * time.Second

// diskUse is what the worker keeps on disk, in bytes.
type diskUse struct {
	total int64
	tasks map[int64]int64 // by task ID: its input, scratch and report
}

// measureDisk adds up the task directories, the modules and the caches.
func (a *Agent) measureDisk() diskUse {
	u := diskUse{tasks: map[int64]int64{}}
	entries, _ := os.ReadDir(a.tasksDir())
	for _, e := range entries {
		n := dirSize(filepath.Join(a.tasksDir(), e.Name()))
		u.total += n
		if id, err := strconv.ParseInt(e.Name(), 10, 64); err == nil {
			u.tasks[id] = n
		}
	}
	u.total += dirSize(a.moduleDir())
	for _, d := range a.cfg.CacheDirs {
		u.total += dirSize(d)
	}
	return u
}

// makeRoom tells whether there is room under the disk cap for another
// task. Over the cap, it first frees what can go without losing work:
// modules no kept task needs and, while no task is starting or running
// (a child compiling a module writes to the cache), the caches.
func (a *Agent) makeRoom() bool {
	if a.cfg.DiskCap <= 0 {
		return true
	}
	if a.measureDisk().total >= a.cfg.DiskCap {
		a.pruneModules()
		a.mu.Lock()
		idle := a.active == 0
		a.mu.Unlock()
		if idle {
			for _, d := range a.cfg.CacheDirs {
				_ = os.RemoveAll(d)
			}
		}
	}
	used := a.measureDisk().total
	full := used >= a.cfg.DiskCap
	a.mu.Lock()
	changed := full != a.diskFull
	a.diskFull = full
	a.mu.Unlock()
	if full && changed {
		a.log.Warn("the disk cap is reached; no new work until tasks finish or reports go out",
			"used_mib", used>>20, "cap_mib", a.cfg.DiskCap>>20)
	}
	return !full
}

// pruneModules deletes the modules no kept task names. It holds the module
// lock, so no download is being written meanwhile.
func (a *Agent) pruneModules() {
	a.modMu.Lock()
	defer a.modMu.Unlock()
	needed := map[string]bool{}
	entries, _ := os.ReadDir(a.tasksDir())
	for _, e := range entries {
		if t, err := readTask(filepath.Join(a.tasksDir(), e.Name())); err == nil {
			needed[t.ModuleSHA256+".wasm"] = true
		}
	}
	modules, _ := os.ReadDir(a.moduleDir())
	for _, m := range modules {
		if strings.HasSuffix(m.Name(), ".wasm") && !needed[m.Name()] {
			_ = os.Remove(filepath.Join(a.moduleDir(), m.Name()))
		}
	}
}

// enforceDiskCap stops the running task that takes the most room when the
// running tasks are what pushes the worker over its cap: a module writing
// without bound to its scratch directory must not fill the volunteer's
// disk. When the rest alone fills it (reports waiting for an unreachable
// coordinator, say), stopping a task would free nothing that matters: the
// worker only stops fetching.
func (a *Agent) enforceDiskCap() {
	if a.cfg.DiskCap <= 0 || a.makeRoom() {
		return
	}
	u := a.measureDisk()
	a.mu.Lock()
	var victim *runningTask
	var victimID, size, running int64
	for id, r := range a.running {
		running += u.tasks[id]
		if r.stopped == "" && (victim == nil || u.tasks[id] > size) {
			victim, victimID, size = r, id, u.tasks[id]
		}
	}
	if victim == nil || u.total-running >= a.cfg.DiskCap {
		a.mu.Unlock()
		return
	}
	victim.stopped = "stopped: the task used " + strconv.FormatInt(size>>20, 10) +
		" MiB of disk and the worker's disk cap (disk_mib) is " + strconv.FormatInt(a.cfg.DiskCap>>20, 10) + " MiB"
	a.mu.Unlock()
	a.log.Warn("stopping a task over the disk cap", "task", victimID, "task_mib", size>>20, "cap_mib", a.cfg.DiskCap>>20)
	victim.execution.Kill()
}

// every runs fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
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
