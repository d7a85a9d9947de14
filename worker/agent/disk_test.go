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
		name     string
		cap      int64
		room     bool
		pruned   bool
		wantFull bool
	}{
		{name: "no cap", cap: 0, room: true},
		{name: "under the cap: nothing removed", cap: 10_000, room: true},
		{name: "over: modules no task needs and caches go, and that makes room", cap: 3000, room: true, pruned: true},
		{name: "over even then: no room", cap: 1500, room: false, pruned: true, wantFull: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, dir := diskAgent(t, tt.cap)
			if got := a.makeRoom(); got != tt.room {
				t.Errorf("makeRoom = %v, want %v", got, tt.room)
			}
			if !exists(filepath.Join(dir, "modules", "kept.wasm")) || !exists(filepath.Join(dir, "tasks", "7", "scratch", "checkpoint")) {
				t.Error("removed what a kept task needs")
			}
			for _, p := range []string{filepath.Join(dir, "modules", "unused.wasm"), filepath.Join(dir, "compiled")} {
				if exists(p) == tt.pruned {
					t.Errorf("%s exists %v, want %v", p, exists(p), !tt.pruned)
				}
			}
			if a.Status().DiskFull != tt.wantFull {
				t.Errorf("status DiskFull = %v, want %v", a.Status().DiskFull, tt.wantFull)
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
