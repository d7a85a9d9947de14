package service

import (
	"context"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

// submitJob submits a job of n units to b's app, paying nothing.
func (b *testBundle) submitJob(t *testing.T, n int, p workunits.Policy) workunits.Job {
	t.Helper()
	inputs := make([][]byte, n)
	for i := range inputs {
		inputs[i] = []byte(`{"x":1}`)
	}
	st, err := b.svc.SubmitJob(context.Background(), b.project.ID, JobRequest{App: "app", Inputs: inputs, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	return st.Job
}

// leaseAndReport leases up to max tasks to a host and reports output for each.
func (b *testBundle) leaseAndReport(t *testing.T, hostID int64, max int, output string) []int64 {
	t.Helper()
	ctx := context.Background()
	leases, err := b.svc.LeaseTasks(ctx, hostID, max, nil)
	if err != nil {
		t.Fatalf("leasing to host %d: %v", hostID, err)
	}
	ids := make([]int64, len(leases))
	reports := make([]workunits.Report, len(leases))
	for i, l := range leases {
		ids[i] = l.TaskID
		reports[i] = workunits.Report{TaskID: l.TaskID, Outcome: workunits.OutcomeSuccess, Output: []byte(output)}
	}
	if len(reports) > 0 {
		if err := b.svc.ReportResults(ctx, hostID, reports); err != nil {
			t.Fatalf("reports of host %d: %v", hostID, err)
		}
	}
	return ids
}

// jobTasks returns a job's units and all their tasks.
func (b *testBundle) jobTasks(t *testing.T, jobID int64) ([]workunits.Unit, []workunits.Task) {
	t.Helper()
	ctx := context.Background()
	var units []workunits.Unit
	var tasks []workunits.Task
	err := b.svc.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		if units, err = tx.UnitList(ctx, store.UnitListParams{JobID: jobID, AfterSeq: -1, Limit: 1000}); err != nil {
			return err
		}
		ids := make([]int64, len(units))
		for i, u := range units {
			ids[i] = u.ID
		}
		tasks, err = tx.TaskListByUnits(ctx, ids)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return units, tasks
}

func (b *testBundle) trust(t *testing.T, hostID int64) HostStanding {
	t.Helper()
	st, err := b.svc.HostStanding(context.Background(), hostID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func (b *testBundle) seedTrust(t *testing.T, h workunits.HostTrust) {
	t.Helper()
	if err := b.svc.store.InTx(context.Background(), func(tx store.Tx) error {
		return tx.HostTrustUpsertMany(context.Background(), []workunits.HostTrust{h})
	}); err != nil {
		t.Fatal(err)
	}
}

var adaptive = workunits.Policy{MinQuorum: 2, TargetReplicas: 2, Deadline: time.Hour, Adaptive: true}

func TestAdaptiveTrustedHostStandsAlone(t *testing.T) {
	b := setup(t)
	b.svc.rand = func() float64 { return 0.99 } // above 1/10: accept alone
	job := b.submitJob(t, 3, adaptive)
	_, h := b.host(t, "trusted")
	b.seedTrust(t, workunits.HostTrust{HostID: h.ID, AppVersionID: job.AppVersionID, ConsecutiveValid: 10, ValidTotal: 10})

	if ids := b.leaseAndReport(t, h.ID, 10, "out"); len(ids) != 3 {
		t.Fatalf("leased %d tasks, want one per unit (3)", len(ids))
	}
	units, tasks := b.jobTasks(t, job.ID)
	if len(tasks) != 3 {
		t.Errorf("the job has %d tasks, want 3: none replicated", len(tasks))
	}
	for _, u := range units {
		if u.State != workunits.UnitDone {
			t.Errorf("unit %d is %s, want done", u.ID, u.State)
		}
	}
	for _, tk := range tasks {
		if tk.ValidateState != workunits.ValidateValid || !tk.OnTrust {
			t.Errorf("task %d: %s, on trust %v; want valid on trust", tk.ID, tk.ValidateState, tk.OnTrust)
		}
	}
	// Results accepted alone earn no trust.
	st := b.trust(t, h.ID)
	if len(st.Trust) != 1 || st.Trust[0].ConsecutiveValid != 10 || st.Trust[0].ValidTotal != 13 {
		t.Errorf("trust after = %+v, want 10 in a row, 13 valid", st.Trust)
	}
}

func TestAdaptiveSpotCheckReplicates(t *testing.T) {
	b := setup(t)
	b.svc.rand = func() float64 { return 0.01 } // below 1/10: spot check
	job := b.submitJob(t, 1, adaptive)
	_, h := b.host(t, "trusted")
	_, other := b.host(t, "other")
	b.seedTrust(t, workunits.HostTrust{HostID: h.ID, AppVersionID: job.AppVersionID, ConsecutiveValid: 10, ValidTotal: 10})

	b.leaseAndReport(t, h.ID, 10, "out")
	units, tasks := b.jobTasks(t, job.ID)
	if units[0].State != workunits.UnitOpen || len(tasks) != 2 {
		t.Fatalf("after a spot-checked result: unit %s with %d tasks, want open with a second replica", units[0].State, len(tasks))
	}
	b.leaseAndReport(t, other.ID, 10, "out")
	units, tasks = b.jobTasks(t, job.ID)
	if units[0].State != workunits.UnitDone {
		t.Errorf("unit is %s after the check, want done", units[0].State)
	}
	for _, tk := range tasks {
		if tk.ValidateState != workunits.ValidateValid || tk.OnTrust {
			t.Errorf("task %d: %s, on trust %v; want valid, checked", tk.ID, tk.ValidateState, tk.OnTrust)
		}
	}
	if st := b.trust(t, h.ID); st.Trust[0].ConsecutiveValid != 11 {
		t.Errorf("trusted host's trust after a passed spot check = %+v, want 11 in a row", st.Trust[0])
	}
	// An untrusted host's result is always replicated, whatever the draw.
	b.svc.rand = func() float64 { return 0.99 }
	job2 := b.submitJob(t, 1, adaptive)
	b.leaseAndReport(t, other.ID, 10, "out")
	if _, tasks := b.jobTasks(t, job2.ID); len(tasks) != 2 {
		t.Errorf("an untrusted host's result: %d tasks, want 2", len(tasks))
	}
}

func TestInvalidResultsBlockHost(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	job := b.submitJob(t, 4, workunits.Policy{MinQuorum: 2, TargetReplicas: 3, Deadline: time.Hour})
	_, good1 := b.host(t, "good1")
	_, good2 := b.host(t, "good2")
	_, bad := b.host(t, "bad")
	badTasks, err := b.svc.LeaseTasks(ctx, bad.ID, 3, nil)
	if err != nil || len(badTasks) != 3 {
		t.Fatalf("bad host leased %d tasks, %v; want 3", len(badTasks), err)
	}
	b.leaseAndReport(t, good1.ID, 3, "right")
	b.leaseAndReport(t, good2.ID, 3, "right")
	for i, l := range badTasks {
		if err := b.svc.ReportResults(ctx, bad.ID, []workunits.Report{{TaskID: l.TaskID, Outcome: workunits.OutcomeSuccess, Output: []byte("wrong")}}); err != nil {
			t.Fatal(err)
		}
		st := b.trust(t, bad.ID)
		if st.Quota.InvalidStreak != i+1 || st.Quota.Quota() != workunits.DefaultDailyQuota>>(i+1) {
			t.Errorf("after %d invalid: streak %d, quota %d", i+1, st.Quota.InvalidStreak, st.Quota.Quota())
		}
	}
	st := b.trust(t, bad.ID)
	if !st.Quota.Blocked() || st.Quota.BlockedReason == "" {
		t.Fatalf("after 3 invalid results the host is not blocked: %+v", st.Quota)
	}
	if len(st.Trust) != 1 || st.Trust[0].InvalidTotal != 3 || st.Trust[0].AppVersionID != job.AppVersionID {
		t.Errorf("bad host's trust = %+v, want 3 invalid", st.Trust)
	}
	if st := b.trust(t, good1.ID); st.Trust[0].ConsecutiveValid != 3 || st.Quota.InvalidStreak != 0 {
		t.Errorf("good host's standing = %+v, want 3 valid in a row", st)
	}
	_, err = b.svc.LeaseTasks(ctx, bad.ID, 1, nil)
	if workunits.ErrorCode(err) != workunits.EFORBIDDEN {
		t.Fatalf("a blocked host leasing: %v, want EFORBIDDEN", err)
	}
	if st, err := b.svc.UnblockHost(ctx, bad.ID); err != nil || st.Quota.Blocked() || st.Quota.InvalidStreak != 0 {
		t.Fatalf("UnblockHost = %+v, %v", st.Quota, err)
	}
	if ls, err := b.svc.LeaseTasks(ctx, bad.ID, 1, nil); err != nil || len(ls) != 1 {
		t.Errorf("an unblocked host leased %d tasks, %v; want the fourth unit's", len(ls), err)
	}
	if _, err := b.svc.UnblockHost(ctx, 99999); workunits.ErrorCode(err) != workunits.ENOTFOUND {
		t.Errorf("unblocking an unknown host: %v", err)
	}
}

func TestQuotaCapsLeases(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	b.submitJob(t, 6, workunits.Policy{MinQuorum: 1, TargetReplicas: 1, Deadline: time.Hour})
	_, h := b.host(t, "small")
	if err := b.svc.store.InTx(ctx, func(tx store.Tx) error {
		return tx.HostQuotaUpdateMany(ctx, []workunits.HostQuota{{HostID: h.ID, DailyQuota: 2}})
	}); err != nil {
		t.Fatal(err)
	}
	l, err := b.svc.LeaseWork(ctx, h.ID, 5, nil)
	if err != nil || len(l.Tasks) != 2 {
		t.Fatalf("first lease: %d tasks, %v; want the quota's 2", len(l.Tasks), err)
	}
	l, err = b.svc.LeaseWork(ctx, h.ID, 5, nil)
	if err != nil || len(l.Tasks) != 0 || l.RetryAfter != 12*time.Hour {
		t.Fatalf("second lease: %d tasks, retry after %s, %v; want none until midnight (12h)", len(l.Tasks), l.RetryAfter, err)
	}
	if st := b.trust(t, h.ID); st.Quota.LeasedToday != 2 {
		t.Errorf("leased today = %d, want 2", st.Quota.LeasedToday)
	}
	b.now = b.now.Add(13 * time.Hour) // a new UTC day
	if l, err = b.svc.LeaseWork(ctx, h.ID, 5, nil); err != nil || len(l.Tasks) != 2 {
		t.Errorf("next day: %d tasks, %v; want 2", len(l.Tasks), err)
	}
}
