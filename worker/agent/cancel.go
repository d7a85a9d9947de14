package agent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
)

// errCancelled ends a task whose job was cancelled before it started.
var errCancelled = errors.New("the task's job was cancelled")

// cancelTasks stops the tasks the coordinator says were cancelled: a
// running one is killed, one not started yet never starts, and a report
// not sent yet is dropped. Nothing of theirs is reported: the coordinator
// would throw it away. Tasks this worker no longer has are ignored (the
// coordinator repeats the news until their deadlines).
func (a *Agent) cancelTasks(ids []int64) {
	for _, id := range ids {
		dir := filepath.Join(a.tasksDir(), strconv.FormatInt(id, 10))
		if _, err := os.Stat(filepath.Join(dir, "report.json")); err == nil {
			if err := os.RemoveAll(dir); err == nil {
				a.log.Info("dropped the report of a cancelled task", "task", id)
				signal(a.roomNow)
			}
			continue
		}
		a.mu.Lock()
		r := a.running[id]
		_, kept := os.Stat(dir)
		if r == nil && kept != nil {
			a.mu.Unlock()
			continue // not ours any more
		}
		if a.cancelled == nil {
			a.cancelled = map[int64]bool{}
		}
		known := a.cancelled[id]
		a.cancelled[id] = true
		if r != nil && r.stopped == "" {
			r.stopped = errCancelled.Error()
		} else {
			r = nil
		}
		a.mu.Unlock()
		if !known {
			a.log.Info("stopping a task: its job was cancelled", "task", id)
		}
		if r != nil {
			r.execution.Kill()
		}
	}
}

func (a *Agent) isCancelled(id int64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cancelled[id]
}

// discardCancelled deletes a task that ended after its job was cancelled,
// checkpoint and all, and reports whether it did.
func (a *Agent) discardCancelled(id int64, j Job) bool {
	a.mu.Lock()
	cancelled := a.cancelled[id]
	delete(a.cancelled, id)
	a.mu.Unlock()
	if !cancelled {
		return false
	}
	if err := os.RemoveAll(j.Dir); err != nil {
		a.log.Warn("could not remove a cancelled task", "task", id, "err", err)
	}
	a.log.Info("discarded a cancelled task", "task", id)
	signal(a.roomNow)
	return true
}

// checkIn asks for no task, only for news of cancelled jobs: a worker
// whose slots are all busy would otherwise hear nothing until a task ends.
func (a *Agent) checkIn(ctx context.Context) {
	work, err := a.cfg.Client.RequestWork(ctx, 0)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Debug("checking in with the coordinator failed", "err", err)
		}
		return
	}
	a.cancelTasks(work.CancelTasks)
}
