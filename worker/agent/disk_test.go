package agent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

func writeFile(t *testing.T, path string, size int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// diskAgent is an agent over a state directory holding one kept task (of
// module "kept"), a module no task needs and a compilation cache.
func diskAgent(t *testing.T, capBytes int64) (*Agent, string) {
	t.Helper()
	dir := t.TempDir()
	a := New(Config{StateDir: dir, DiskCap: capBytes, CacheDirs: []string{filepath.Join(dir, "compiled")}})
	task, err := json.Marshal(api.Task{ID: 7, ModuleSHA256: "kept"})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "tasks", "7", "scratch", "checkpoint"), 1000)
	if err := os.WriteFile(filepath.Join(dir, "tasks", "7", "task.json"), task, 0o600); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "modules", "kept.wasm"), 1000)
	writeFile(t, filepath.Join(dir, "modules", "unused.wasm"), 1000)
	writeFile(t, filepath.Join(dir, "compiled", "x", "y"), 1000)
	return a, dir
}

func TestMakeRoomFreesWhatNoTaskNeeds(t *testing.T) {
	tests := []struct {
		name          string
		cap           int64
		taskStarting  bool
		room          bool
		modulesPruned bool
		cachePruned   bool
	}{
		{name: "no cap", cap: 0, room: true},
		{name: "under the cap: nothing removed", cap: 10_000, room: true},
		{name: "over: modules no task needs and caches go, and that makes room", cap: 3000, room: true, modulesPruned: true, cachePruned: true},
		{name: "over even then: no room", cap: 1500, room: false, modulesPruned: true, cachePruned: true},
		{name: "a task starting: the cache it may be writing stays", cap: 3000, taskStarting: true, room: false, modulesPruned: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, dir := diskAgent(t, tt.cap)
			if tt.taskStarting {
				a.active = 1
			}
			if got := a.makeRoom(); got != tt.room {
				t.Errorf("makeRoom = %v, want %v", got, tt.room)
			}
			if !exists(filepath.Join(dir, "modules", "kept.wasm")) || !exists(filepath.Join(dir, "tasks", "7", "scratch", "checkpoint")) {
				t.Error("removed what a kept task needs")
			}
			if exists(filepath.Join(dir, "modules", "unused.wasm")) == tt.modulesPruned {
				t.Errorf("unused module still there: %v, want %v", !tt.modulesPruned, !tt.modulesPruned)
			}
			if exists(filepath.Join(dir, "compiled")) == tt.cachePruned {
				t.Errorf("cache still there: %v, want %v", !tt.cachePruned, !tt.cachePruned)
			}
			if a.Status().DiskFull == tt.room {
				t.Errorf("status DiskFull = %v with room %v", a.Status().DiskFull, tt.room)
			}
		})
	}
}

// fakeExecution records what the agent does to it.
type fakeExecution struct{ killed bool }

func (f *fakeExecution) Suspend() error                   { return nil }
func (f *fakeExecution) Resume() error                    { return nil }
func (f *fakeExecution) Checkpoint(context.Context) error { return nil }
func (f *fakeExecution) Kill()                            { f.killed = true }
func (f *fakeExecution) Wait() (Result, error)            { return Result{}, nil }
func (f *fakeExecution) Progress() float64                { return 0 }

func TestOverTheDiskCapTheLargestTaskIsStopped(t *testing.T) {
	a, dir := diskAgent(t, 2500)
	writeFile(t, filepath.Join(dir, "tasks", "8", "scratch", "huge"), 5000)
	small, large := &fakeExecution{}, &fakeExecution{}
	a.running[7] = &runningTask{execution: small}
	a.running[8] = &runningTask{execution: large}

	a.enforceDiskCap()
	if !large.killed || small.killed {
		t.Fatalf("killed: large %v, small %v; want only the large task", large.killed, small.killed)
	}
	if reason := a.running[8].stopped; !strings.Contains(reason, "disk cap") {
		t.Errorf("stop reason %q does not name the disk cap", reason)
	}
}

// Reports waiting for an unreachable coordinator can fill the disk too;
// stopping a running task would free nothing that matters.
func TestOverTheDiskCapWithoutTheRunningTasksNothingIsStopped(t *testing.T) {
	a, dir := diskAgent(t, 2500)
	writeFile(t, filepath.Join(dir, "tasks", "9", "report.json"), 5000)
	running := &fakeExecution{}
	a.running[7] = &runningTask{execution: running}

	a.enforceDiskCap()
	if running.killed {
		t.Error("a running task was stopped for disk the reports take")
	}
	if !a.Status().DiskFull {
		t.Error("status does not say the disk is full")
	}
}
