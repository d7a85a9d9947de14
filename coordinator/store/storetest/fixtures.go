package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// factory creates fixture rows inside one transaction; every method fails
// the test on error, so tests read as a list of what exists.
type factory struct {
	t   *testing.T
	ctx context.Context
	tx  store.Tx
}

// serial makes names and key hashes unique within a store.
var serial atomic.Int64

func (f *factory) fail(what string, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("fixture: %s: %v", what, err)
	}
}

func (f *factory) Project() workunits.Project {
	f.t.Helper()
	n := serial.Add(1)
	p, err := f.tx.ProjectInsert(f.ctx, store.ProjectInsertParams{
		Name: fmt.Sprintf("project %d", n), KeyHash: fmt.Sprintf("project-key-%d", n), Now: t0})
	f.fail("inserting project", err)
	return p
}

func (f *factory) Contributor() workunits.Contributor {
	f.t.Helper()
	n := serial.Add(1)
	c, err := f.tx.ContributorInsert(f.ctx, store.ContributorInsertParams{
		Name: fmt.Sprintf("contributor %d", n), KeyHash: fmt.Sprintf("contributor-key-%d", n), Now: t0})
	f.fail("inserting contributor", err)
	return c
}

func (f *factory) Host(contributorID int64) workunits.Host {
	f.t.Helper()
	name := fmt.Sprintf("host %d", serial.Add(1))
	h, err := f.tx.HostInsert(f.ctx, store.HostInsertParams{ContributorID: contributorID,
		Name: name, Platform: "linux/amd64", Cores: 8, TokenHash: "token of " + name, Now: t0})
	f.fail("inserting host", err)
	return h
}

// hostToken is the token hash factory.Host gave h.
func hostToken(h workunits.Host) string { return "token of " + h.Name }

// Module stores a new, unique module blob and returns its hash.
func (f *factory) Module() string {
	f.t.Helper()
	data := fmt.Appendf([]byte("\x00asm\x01\x00\x00\x00"), "module %d", serial.Add(1))
	sha := workunits.Hash(data)
	f.fail("storing module", f.tx.BlobPut(f.ctx, sha, data))
	return sha
}

// AppVersion adds the next version of the project's app with a new module.
func (f *factory) AppVersion(projectID int64, appName string) workunits.AppVersion {
	f.t.Helper()
	sha := f.Module()
	v, err := f.tx.AppVersionInsert(f.ctx, store.AppVersionInsertParams{
		ProjectID: projectID, AppName: appName, ModuleSHA256: sha, Size: 1234, Now: t0})
	f.fail("inserting app version", err)
	return v
}

// jobSpec describes a job fixture; zero fields take defaults.
type jobSpec struct {
	ProjectID int64            // 0: a new project
	Units     int              // 0: one unit
	Policy    workunits.Policy // zero fields from workunits.DefaultPolicy
	Reward    int64
	CreatedAt time.Time // zero: t0
}

// jobFixture is an active job of app "sim" with its units and, for each
// unit, Policy.TargetReplicas unsent tasks.
type jobFixture struct {
	Version workunits.AppVersion
	Job     workunits.Job
	Units   []workunits.Unit
	Tasks   [][]workunits.Task // by unit, in id order
}

// UnitIDs returns the job's unit ids in Seq order.
func (j jobFixture) UnitIDs() []int64 {
	ids := make([]int64, len(j.Units))
	for i, u := range j.Units {
		ids[i] = u.ID
	}
	return ids
}

// unitInput is the input factory.Job gives the unit at seq.
func unitInput(seq int) []byte { return fmt.Appendf(nil, `{"x":%d}`, seq) }

// Job inserts a job as a submission does: units, then their first replicas.
func (f *factory) Job(spec jobSpec) jobFixture {
	f.t.Helper()
	if spec.ProjectID == 0 {
		spec.ProjectID = f.Project().ID
	}
	if spec.Units == 0 {
		spec.Units = 1
	}
	if spec.CreatedAt.IsZero() {
		spec.CreatedAt = t0
	}
	policy := spec.Policy.WithDefaults()
	var fx jobFixture
	fx.Version, fx.Job = f.bareJob(spec.ProjectID, policy, spec.Reward, spec.Units, spec.CreatedAt)
	inputs := make([][]byte, spec.Units)
	for i := range inputs {
		inputs[i] = unitInput(i)
	}
	var err error
	fx.Units, err = f.tx.UnitInsertMany(f.ctx, fx.Job.ID, inputs)
	f.fail("inserting units", err)
	var replicas []int64
	for _, u := range fx.Units {
		for range policy.TargetReplicas {
			replicas = append(replicas, u.ID)
		}
	}
	f.fail("inserting tasks", f.tx.TaskInsertMany(f.ctx, replicas, spec.CreatedAt))
	tasks, err := f.tx.TaskListByUnits(f.ctx, fx.UnitIDs())
	f.fail("listing tasks", err)
	index := map[int64]int{}
	for i, u := range fx.Units {
		index[u.ID] = i
	}
	fx.Tasks = make([][]workunits.Task, len(fx.Units))
	for _, tk := range sortedTasks(tasks) {
		i := index[tk.UnitID]
		fx.Tasks[i] = append(fx.Tasks[i], tk)
	}
	return fx
}

// BareJob inserts an active job of a new project with no units yet.
func (f *factory) BareJob() workunits.Job {
	f.t.Helper()
	_, job := f.bareJob(f.Project().ID, workunits.DefaultPolicy, 0, 0, t0)
	return job
}

func (f *factory) bareJob(projectID int64, policy workunits.Policy, reward int64, units int, created time.Time) (workunits.AppVersion, workunits.Job) {
	f.t.Helper()
	v := f.AppVersion(projectID, "sim")
	job, err := f.tx.JobInsert(f.ctx, workunits.Job{ProjectID: projectID, AppVersionID: v.ID,
		Policy: policy, RewardMicros: reward, State: workunits.JobActive, UnitCount: units, CreatedAt: created})
	f.fail("inserting job", err)
	return v, job
}

// UpdateTasks stores the given task states.
func (f *factory) UpdateTasks(tasks ...workunits.Task) {
	f.t.Helper()
	f.fail("updating tasks", f.tx.TaskUpdateMany(f.ctx, tasks, nil))
}

// UpdateUnits stores the given unit states.
func (f *factory) UpdateUnits(units ...workunits.Unit) {
	f.t.Helper()
	f.fail("updating units", f.tx.UnitUpdateMany(f.ctx, units))
}

// leased returns tk as leased to hostID at t0 until deadline.
func leased(tk workunits.Task, hostID int64, deadline time.Time) workunits.Task {
	tk.HostID = hostID
	tk.State = workunits.TaskInProgress
	tk.SentAt = t0
	tk.DeadlineAt = deadline
	return tk
}

// reported returns tk as leased to hostID, reported with the outcome and
// given the validate state; cpu is its CPU time.
func reported(tk workunits.Task, hostID int64, outcome workunits.Outcome, vs workunits.ValidateState, cpu time.Duration) workunits.Task {
	tk = leased(tk, hostID, t0.Add(time.Hour))
	tk.State = workunits.TaskOver
	tk.Outcome = outcome
	tk.ValidateState = vs
	tk.ReceivedAt = t0.Add(10 * time.Minute)
	tk.CPUTime = cpu
	if outcome == workunits.OutcomeSuccess {
		tk.OutputSHA256 = workunits.Hash(fmt.Appendf(nil, "output of task %d", tk.ID))
	}
	return tk
}
