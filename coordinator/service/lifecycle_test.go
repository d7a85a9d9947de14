package service

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Cancelling pays what was already validated, withdraws the rest, tells
// the host holding a running task, ignores that task's late report, and
// returns the escrow left once the last credit is paid.
func TestCancelPaysValidatedAndReturnsTheRest(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	if _, err := b.svc.FundProject(ctx, b.project.ID, 10_000, "g"); err != nil {
		t.Fatal(err)
	}
	// 3 units × 2 replicas at most × 100 = 600 in escrow.
	st, err := b.svc.SubmitJob(ctx, b.project.ID, JobRequest{App: "app", RewardMicros: 100,
		Inputs: [][]byte{[]byte(`1`), []byte(`2`), []byte(`3`)},
		Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1, MaxTotalReplicas: 2, Deadline: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	jobID := st.Job.ID
	alice, ah := b.host(t, "alice")
	_, bh := b.host(t, "bob")
	aLeases, err := b.svc.LeaseTasks(ctx, ah.ID, 1, nil)
	if err != nil || len(aLeases) != 1 {
		t.Fatalf("alice leased %v, %v", aLeases, err)
	}
	bLeases, err := b.svc.LeaseTasks(ctx, bh.ID, 1, nil)
	if err != nil || len(bLeases) != 1 {
		t.Fatalf("bob leased %v, %v", bLeases, err)
	}
	// Alice's task is valid (quorum 1) and queued for payment; bob's runs on.
	if err := b.svc.ReportResults(ctx, ah.ID, []workunits.Report{{TaskID: aLeases[0].TaskID, Outcome: workunits.OutcomeSuccess, Output: []byte("a")}}); err != nil {
		t.Fatal(err)
	}

	cancelled, err := b.svc.CancelJob(ctx, b.project.ID, jobID)
	if err != nil {
		t.Fatal(err)
	}
	if cancelled.Job.State != workunits.JobCancelled || !cancelled.Job.FinishedAt.IsZero() {
		t.Errorf("after cancel: state %q, finished %v; want cancelled and not settled (a credit is owed)", cancelled.Job.State, cancelled.Job.FinishedAt)
	}
	if got := cancelled.Progress.Units; got[workunits.UnitDone] != 1 || got[workunits.UnitFailed] != 2 {
		t.Errorf("units after cancel = %v, want 1 done, 2 failed", got)
	}
	if got := cancelled.Progress.Outcomes[workunits.OutcomeNotNeeded]; got != 1 {
		t.Errorf("withdrawn tasks = %d, want the 1 unsent", got)
	}
	if ids, _ := b.svc.CancelledTasks(ctx, bh.ID); !slices.Equal(ids, []int64{bLeases[0].TaskID}) {
		t.Errorf("CancelledTasks(bob) = %v, want [%d]", ids, bLeases[0].TaskID)
	}
	if ids, _ := b.svc.CancelledTasks(ctx, ah.ID); len(ids) != 0 {
		t.Errorf("CancelledTasks(alice) = %v, want none", ids)
	}
	if leases, _ := b.svc.LeaseTasks(ctx, ah.ID, 10, nil); len(leases) != 0 {
		t.Errorf("leased %d tasks of a cancelled job", len(leases))
	}
	// Bob's late report is taken and thrown away: no error, no credit.
	if err := b.svc.ReportResults(ctx, bh.ID, []workunits.Report{{TaskID: bLeases[0].TaskID, Outcome: workunits.OutcomeSuccess, Output: []byte("a")}}); err != nil {
		t.Errorf("a report of a cancelled job's task: %v, want accepted", err)
	}
	// Alice reporting bob's task is still refused.
	if err := b.svc.ReportResults(ctx, ah.ID, []workunits.Report{{TaskID: bLeases[0].TaskID, Outcome: workunits.OutcomeError}}); workunits.ErrorCode(err) != workunits.ENOTFOUND {
		t.Errorf("another host's report of a cancelled task: %v, want not found", err)
	}
	// Cancelling again is the same answer.
	again, err := b.svc.CancelJob(ctx, b.project.ID, jobID)
	if err != nil || again.Job.State != workunits.JobCancelled {
		t.Errorf("second cancel = %q, %v", again.Job.State, err)
	}

	if _, err := b.svc.PayCredits(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.balance(t, payouts.ContributorAvailable(alice.ID)); got != 100 {
		t.Errorf("alice earned %d, want 100 for her valid task", got)
	}
	if got := b.balance(t, payouts.JobEscrow(jobID)); got != 0 {
		t.Errorf("escrow left = %d, want 0", got)
	}
	if got := b.balance(t, payouts.ProjectBudget(b.project.ID)); got != 10_000-100 {
		t.Errorf("budget = %d, want %d: everything but alice's reward back", got, 10_000-100)
	}
	final, err := b.svc.Job(ctx, b.project.ID, jobID)
	if err != nil {
		t.Fatal(err)
	}
	if final.Job.FinishedAt.IsZero() || final.Progress.Validations[workunits.ValidateValid] != 1 {
		t.Errorf("final job: finished %v, validations %v; want settled with alice's one valid task", final.Job.FinishedAt, final.Progress.Validations)
	}
	// The deadline sweep later expires bob's task without replacing it.
	b.now = b.now.Add(2 * time.Hour)
	if _, err := b.svc.SweepOverdue(ctx); err != nil {
		t.Fatal(err)
	}
	if ids, _ := b.svc.CancelledTasks(ctx, bh.ID); len(ids) != 0 {
		t.Errorf("CancelledTasks(bob) after the deadline = %v, want none", ids)
	}
	if p, _ := b.svc.Job(ctx, b.project.ID, jobID); p.Progress.Tasks[workunits.TaskUnsent] != 0 {
		t.Errorf("the sweep issued replicas of a cancelled job: %v", p.Progress.Tasks)
	}
	if a, err := b.svc.LedgerAudit(ctx); err != nil || !a.Balanced() {
		t.Errorf("ledger audit %+v, %v", a, err)
	}
}

// A cancellation racing the payment of the job's last credit leaves the
// job unsettled; the background step settles it.
func TestSettleCancelledJobsCatchesUp(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	if _, err := b.svc.FundProject(ctx, b.project.ID, 1000, "g"); err != nil {
		t.Fatal(err)
	}
	st, err := b.svc.SubmitJob(ctx, b.project.ID, JobRequest{App: "app", RewardMicros: 100, Inputs: [][]byte{[]byte(`1`)},
		Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1, MaxTotalReplicas: 2}})
	if err != nil {
		t.Fatal(err)
	}
	_, h := b.host(t, "alice")
	l, _ := b.svc.LeaseTasks(ctx, h.ID, 1, nil)
	if err := b.svc.ReportResults(ctx, h.ID, []workunits.Report{{TaskID: l[0].TaskID, Outcome: workunits.OutcomeSuccess, Output: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	// Cancelled (through the store, as a racing coordinator would leave it)
	// while its credit is queued.
	if err := b.svc.store.InTx(ctx, func(tx store.Tx) error {
		_, err := tx.JobCancel(ctx, st.Job.ID, cancelReason)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.store.InTx(ctx, func(tx store.Tx) error {
		moves, err := tx.MoneyQueueTake(ctx, 10)
		if err != nil {
			return err
		}
		if len(moves) != 2 || moves[0].Kind != store.MoneyReserve || moves[1].Kind != store.MoneyPost {
			t.Errorf("money queued = %+v, want the task's reserve and post", moves)
		}
		txs := make([]payouts.Transaction, len(moves))
		for i, m := range moves {
			txs[i] = moneyTransaction(m, nil)
		}
		_, err = tx.LedgerRecordMany(ctx, txs, b.now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.SettleCancelledJobs(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.balance(t, payouts.ProjectBudget(b.project.ID)); got != 900 {
		t.Errorf("budget = %d, want 900 once settled", got)
	}
	if j, _ := b.svc.Job(ctx, b.project.ID, st.Job.ID); j.Job.FinishedAt.IsZero() {
		t.Errorf("the cancelled job was not settled")
	}
}

func TestCancelAndRetireRefusals(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	st, err := b.svc.SubmitJob(ctx, b.project.ID, JobRequest{App: "app", Inputs: [][]byte{[]byte(`1`)},
		Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := b.svc.CreateProject(ctx, "other lab")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want workunits.Code
	}{
		{"retire an active job", second(b.svc.RetireJob(ctx, b.project.ID, st.Job.ID)), workunits.ECONFLICT},
		{"cancel another project's job", second(b.svc.CancelJob(ctx, other.ID, st.Job.ID)), workunits.ENOTFOUND},
		{"retire another project's job", second(b.svc.RetireJob(ctx, other.ID, st.Job.ID)), workunits.ENOTFOUND},
		{"cancel an unknown job", second(b.svc.CancelJob(ctx, b.project.ID, 999)), workunits.ENOTFOUND},
	} {
		if got := workunits.ErrorCode(tc.err); got != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, tc.err, tc.want)
		}
	}
	if j, _ := b.svc.Job(ctx, b.project.ID, st.Job.ID); j.Job.State != workunits.JobActive || !j.Lifecycle.RetiredAt.IsZero() {
		t.Errorf("a refused action changed the job: %+v", j)
	}
	// Finished, it cannot be cancelled, and it can be retired.
	_, h := b.host(t, "alice")
	l, _ := b.svc.LeaseTasks(ctx, h.ID, 1, nil)
	if err := b.svc.ReportResults(ctx, h.ID, []workunits.Report{{TaskID: l[0].TaskID, Outcome: workunits.OutcomeSuccess, Output: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.FinishJobs(ctx); err != nil {
		t.Fatal(err)
	}
	if j, _ := b.svc.Job(ctx, b.project.ID, st.Job.ID); j.Job.State != workunits.JobDone {
		t.Fatalf("the job did not finish: %q", j.Job.State)
	}
	if _, err := b.svc.CancelJob(ctx, b.project.ID, st.Job.ID); workunits.ErrorCode(err) != workunits.ECONFLICT {
		t.Errorf("cancelling a done job: %v, want conflict", err)
	}
	retired, err := b.svc.RetireJob(ctx, b.project.ID, st.Job.ID)
	if err != nil || retired.Lifecycle.RetiredAt.IsZero() || retired.Job.State != workunits.JobDone {
		t.Fatalf("retire = %+v, %v", retired, err)
	}
	if _, err := b.svc.JobResults(ctx, b.project.ID, st.Job.ID, -1, 10); workunits.ErrorCode(err) != workunits.EGONE {
		t.Errorf("results of a retired job: %v, want gone", err)
	}
	if again, err := b.svc.RetireJob(ctx, b.project.ID, st.Job.ID); err != nil || !again.Lifecycle.RetiredAt.Equal(retired.Lifecycle.RetiredAt) {
		t.Errorf("retiring twice: %v, %v; want the first time kept", again.Lifecycle.RetiredAt, err)
	}
}

func second[T any](_ T, err error) error { return err }

func TestFinishedEvent(t *testing.T) {
	for _, tc := range []struct {
		units map[workunits.UnitState]int
		want  string
	}{
		{map[workunits.UnitState]int{workunits.UnitDone: 3}, EventJobDone},
		{map[workunits.UnitState]int{workunits.UnitDone: 1, workunits.UnitFailed: 5}, EventJobDone},
		{map[workunits.UnitState]int{workunits.UnitFailed: 2}, EventJobFailed},
	} {
		p := store.NewJobProgress()
		p.Units = tc.units
		if got := finishedEvent(p); got != tc.want {
			t.Errorf("finishedEvent(%v) = %q, want %q", tc.units, got, tc.want)
		}
	}
}
