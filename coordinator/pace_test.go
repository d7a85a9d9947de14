package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/worker/pace"
	"github.com/nightshift-platform/nightshift/workunits"
)

// A worker that has learnt a job's tasks take it longer than their deadline
// allows asks for none of them; it works on another job, and learns that
// job's pace from the tasks it runs.
func TestWorkerSkipsJobsItWouldNotFinishInTime(t *testing.T) {
	b := setup(t)
	policy := api.Policy{MinQuorum: 1, TargetReplicas: 1, DeadlineSeconds: 600}
	inputs := []string{`{"k":3,"seed":1,"n":200}`, `{"k":3,"seed":2,"n":200}`}
	tooSlow := b.submit(t, policy, 1000, inputs...)
	fits := b.submit(t, policy, 1000, inputs...)

	// What an earlier run learnt: tasks of tooSlow ran 20 minutes each, at
	// a third of the time available; its 10-minute deadline is out of reach.
	now := time.Now()
	learnt := pace.Estimates{Available: 1.0 / 3, UpdatedAt: now,
		Jobs: map[int64]pace.JobPace{tooSlow.ID: {RunSeconds: 1200, WindowSeconds: 600, Tasks: 3, LastAt: now}}}
	dir := t.TempDir()
	raw, err := json.Marshal(learnt)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pace.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}

	host := b.host(t, b.contributor(t, "ada"), "pc")
	a := startAgentIn(t, host, dir, nil)
	waitFor(t, 60*time.Second, "the fitting job to finish", func() bool { return b.job(t, fits.ID).State == string(workunits.JobDone) })

	if p := b.job(t, tooSlow.ID).Progress; p.Tasks[string(workunits.TaskUnsent)] != len(inputs) {
		t.Errorf("the too-slow job's tasks: %v; want all %d unsent", p.Tasks, len(inputs))
	}
	st := a.Status()
	if !slices.Equal(st.TooSlowFor, []int64{tooSlow.ID}) {
		t.Errorf("status: too slow for %v, want [%d]", st.TooSlowFor, tooSlow.ID)
	}
	// The tasks of the fitting job taught its pace, and it still fits.
	waitFor(t, 10*time.Second, "the pace of the fitting job", func() bool {
		raw, err := os.ReadFile(filepath.Join(dir, "pace.json"))
		var got pace.Estimates
		if err == nil {
			err = json.Unmarshal(raw, &got)
		}
		return err == nil && got.Jobs[fits.ID].Tasks == len(inputs)
	})
}
