package service

import (
	"context"
	"testing"

	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// costing is a job of units units whose escrow is units × 3 × 100.
func costing(units int, priority int) JobRequest {
	inputs := make([][]byte, units)
	for i := range inputs {
		inputs[i] = []byte(`1`)
	}
	return JobRequest{App: "app", Inputs: inputs, RewardMicros: 100, Priority: priority,
		Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1, MaxTotalReplicas: 3}}
}

func (b *testBundle) jobState(t *testing.T, id int64) workunits.JobState {
	t.Helper()
	st, err := b.svc.Job(context.Background(), b.project.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return st.Job.State
}

// A job the budget cannot cover is created waiting: nothing set aside,
// nothing leased. Funding the project funds it, and then it is leased.
func TestSubmitUnfundedJobWaits(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	st, err := b.svc.SubmitJob(ctx, b.project.ID, costing(2, 0))
	if err != nil {
		t.Fatalf("unfunded job: %v, want it created waiting", err)
	}
	if st.Job.State != workunits.JobWaiting || st.Escrow != 0 {
		t.Fatalf("unfunded job = %s with escrow %d, want waiting with none", st.Job.State, st.Escrow)
	}
	if got := b.balance(t, payouts.JobEscrow(st.Job.ID)); got != 0 {
		t.Errorf("escrow of a waiting job = %d, want 0", got)
	}
	_, h := b.host(t, "ada")
	if ls, err := b.svc.LeaseTasks(ctx, h.ID, 4, nil); err != nil || len(ls) != 0 {
		t.Fatalf("leased %+v (%v) of a waiting job, want nothing", ls, err)
	}
	if _, err := b.svc.FundProject(ctx, b.project.ID, 500, "g1"); err != nil {
		t.Fatal(err)
	}
	if got := b.jobState(t, st.Job.ID); got != workunits.JobWaiting {
		t.Errorf("job after funding 500 of 600 = %s, want still waiting", got)
	}
	balance, err := b.svc.FundProject(ctx, b.project.ID, 150, "g2")
	if err != nil {
		t.Fatal(err)
	}
	if got := b.jobState(t, st.Job.ID); got != workunits.JobActive {
		t.Errorf("job after funding 650 = %s, want active", got)
	}
	if balance != 50 || b.balance(t, payouts.JobEscrow(st.Job.ID)) != 600 {
		t.Errorf("after funding: budget %d, escrow %d; want 50 and 600", balance, b.balance(t, payouts.JobEscrow(st.Job.ID)))
	}
	if ls, err := b.svc.LeaseTasks(ctx, h.ID, 4, nil); err != nil || len(ls) != 2 {
		t.Errorf("leased %d tasks (%v) of the funded job, want 2", len(ls), err)
	}
}

// Waiting jobs are funded highest priority first, then oldest, and
// funding stops at the first the budget cannot cover: a big job is not
// held back for ever by small ones behind it.
func TestWaitingJobsFundedInOrder(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	submit := func(units, priority int) int64 {
		t.Helper()
		st, err := b.svc.SubmitJob(ctx, b.project.ID, costing(units, priority))
		if err != nil || st.Job.State != workunits.JobWaiting {
			t.Fatalf("SubmitJob = %s, %v; want waiting", st.Job.State, err)
		}
		return st.Job.ID
	}
	old, high, young := submit(1, 0), submit(1, 5), submit(1, 0) // 300 each
	if _, err := b.svc.FundProject(ctx, b.project.ID, 600, "g1"); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]workunits.JobState{high: workunits.JobActive, old: workunits.JobActive, young: workunits.JobWaiting} {
		if got := b.jobState(t, id); got != want {
			t.Errorf("job %d = %s, want %s (high %d, then old %d, funded; young %d waits)", id, got, want, high, old, young)
		}
	}
	big := submit(4, 9) // 1200, ahead of young
	if _, err := b.svc.FundProject(ctx, b.project.ID, 900, "g2"); err != nil {
		t.Fatal(err)
	}
	if b.jobState(t, big) != workunits.JobWaiting || b.jobState(t, young) != workunits.JobWaiting {
		t.Errorf("with 900 for a 1200 job ahead of a 300 one: big %s, young %s; want both waiting",
			b.jobState(t, big), b.jobState(t, young))
	}
	if _, err := b.svc.FundProject(ctx, b.project.ID, 600, "g3"); err != nil {
		t.Fatal(err)
	}
	if b.jobState(t, big) != workunits.JobActive || b.jobState(t, young) != workunits.JobActive {
		t.Errorf("with 1500: big %s, young %s; want both active", b.jobState(t, big), b.jobState(t, young))
	}
	// A new job behind nothing is funded at once when the budget covers it.
	if _, err := b.svc.FundProject(ctx, b.project.ID, 300, "g4"); err != nil {
		t.Fatal(err)
	}
	if st, err := b.svc.SubmitJob(ctx, b.project.ID, costing(1, 0)); err != nil || st.Job.State != workunits.JobActive || st.Escrow != 300 {
		t.Errorf("funded submit = %s, escrow %d, %v; want active with 300 set aside", st.Job.State, st.Escrow, err)
	}
	if audit, err := b.svc.LedgerAudit(ctx); err != nil || !audit.Balanced() {
		t.Errorf("ledger audit = %+v, %v", audit, err)
	}
}

// Escrow a finished job returns funds the jobs waiting for it.
func TestReturnedEscrowFundsWaitingJobs(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	if _, err := b.svc.FundProject(ctx, b.project.ID, 600, "g"); err != nil {
		t.Fatal(err)
	}
	first, err := b.svc.SubmitJob(ctx, b.project.ID, costing(2, 0)) // 600, of which 200 is paid
	if err != nil || first.Job.State != workunits.JobActive {
		t.Fatalf("funded job = %s, %v", first.Job.State, err)
	}
	next, err := b.svc.SubmitJob(ctx, b.project.ID, costing(1, 0)) // 300
	if err != nil || next.Job.State != workunits.JobWaiting {
		t.Fatalf("job beyond the budget = %s, %v; want waiting", next.Job.State, err)
	}
	_, h := b.host(t, "ada")
	ls, err := b.svc.LeaseTasks(ctx, h.ID, 4, nil)
	if err != nil || len(ls) != 2 {
		t.Fatalf("leased %d (%v), want the first job's 2 tasks", len(ls), err)
	}
	for _, l := range ls {
		if err := b.svc.ReportResults(ctx, h.ID, []workunits.Report{{TaskID: l.TaskID, Outcome: workunits.OutcomeSuccess, Output: []byte("1")}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.svc.PayCredits(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.jobState(t, first.Job.ID); got != workunits.JobDone {
		t.Fatalf("first job = %s, want done", got)
	}
	if got := b.jobState(t, next.Job.ID); got != workunits.JobActive {
		t.Errorf("waiting job after 400 came back = %s, want active", got)
	}
	if got := b.balance(t, payouts.ProjectBudget(b.project.ID)); got != 100 {
		t.Errorf("budget = %d, want 600 - 200 paid - 300 set aside = 100", got)
	}
}

func TestShareAndPriorityRefused(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	for _, share := range []int{0, -1, workunits.MaxShare + 1} {
		if share != 0 { // 0 at creation takes the default
			if _, _, err := b.svc.CreateProjectWith(ctx, NewProject{Name: "x", Share: share}); workunits.ErrorCode(err) != workunits.EINVALID {
				t.Errorf("CreateProjectWith(share %d) = %v, want EINVALID", share, err)
			}
		}
		if _, err := b.svc.UpdateProject(ctx, b.project.ID, ProjectChange{Share: &share}); workunits.ErrorCode(err) != workunits.EINVALID {
			t.Errorf("UpdateProject(share %d) = %v, want EINVALID", share, err)
		}
	}
	five, threeHundred := 5, 300
	if _, err := b.svc.UpdateProject(ctx, 999, ProjectChange{Share: &five}); workunits.ErrorCode(err) != workunits.ENOTFOUND {
		t.Errorf("UpdateProject of an unknown project = %v, want ENOTFOUND", err)
	}
	p, err := b.svc.UpdateProject(ctx, b.project.ID, ProjectChange{Share: &threeHundred})
	if err != nil || p.Share != 300 {
		t.Errorf("UpdateProject(share 300) = %+v, %v", p, err)
	}
	for _, pr := range []int{workunits.MinPriority - 1, workunits.MaxPriority + 1} {
		if _, err := b.svc.SubmitJob(ctx, b.project.ID, costing(1, pr)); workunits.ErrorCode(err) != workunits.EINVALID {
			t.Errorf("SubmitJob(priority %d) = %v, want EINVALID", pr, err)
		}
	}
	if _, err := b.svc.Job(ctx, b.project.ID, 1); workunits.ErrorCode(err) != workunits.ENOTFOUND {
		t.Errorf("a refused job was stored: %v", err)
	}
}
