package service

import (
	"context"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// drain runs the payer until nothing is left to record.
func (b *testBundle) drain(t *testing.T) {
	t.Helper()
	for range 10 {
		n, err := b.svc.PayCredits(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the payer kept finding money to record")
}

// TestClawBack: a host found cheating after it was paid. Its valid result
// in a quorum gives way to the other host's, its result accepted alone on
// trust is computed again, its pending result is voided, the reward it was
// paid becomes a debt, and it gets no more work.
func TestClawBack(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	b.svc.rand = func() float64 { return 0.99 } // trusted hosts' results stand alone
	const reward = 1000
	if _, err := b.svc.FundProject(ctx, b.project.ID, 1_000_000, "grant"); err != nil {
		t.Fatal(err)
	}
	submit := func(n int, p workunits.Policy) workunits.Job {
		inputs := make([][]byte, n)
		for i := range inputs {
			inputs[i] = []byte{'0' + byte(i)}
		}
		st, err := b.svc.SubmitJob(ctx, b.project.ID, JobRequest{App: "app", Inputs: inputs, RewardMicros: reward, Policy: p})
		if err != nil {
			t.Fatal(err)
		}
		return st.Job
	}
	cheat, cheater := b.host(t, "cheater")
	honestC, honest := b.host(t, "honest")
	b.payTo(t, cheat.ID, payouts.MethodPayPal, "cheat@example.com")
	b.payTo(t, honestC.ID, payouts.MethodPayPal, "honest@example.com")
	before := b.now

	// Job 1: one unit, quorum 2: both hosts agree; the cheater is first,
	// so its task is canonical.
	quorum := submit(1, workunits.Policy{MinQuorum: 2})
	b.leaseAndReport(t, cheater.ID, 1, "42")
	b.leaseAndReport(t, honest.ID, 1, "42")
	// Job 2: quorum 2, only the cheater has reported: pending.
	pending := submit(1, workunits.Policy{MinQuorum: 2})
	b.leaseAndReport(t, cheater.ID, 1, "44")
	// Job 3: adaptive; the cheater is trusted, so its result stands alone.
	b.seedTrust(t, workunits.HostTrust{HostID: cheater.ID, AppVersionID: quorum.AppVersionID, ConsecutiveValid: 20, ValidTotal: 20})
	// Its second unit stays unsent, so the job is still running.
	alone := submit(2, workunits.Policy{MinQuorum: 2, Adaptive: true})
	b.leaseAndReport(t, cheater.ID, 1, "43")
	b.drain(t)
	if got := b.balance(t, payouts.ContributorAvailable(cheat.ID)); got != 2*reward {
		t.Fatalf("the cheater earned %d before the clawback, want %d", got, 2*reward)
	}
	if got := b.balance(t, payouts.ContributorPending(cheat.ID)); got != reward {
		t.Fatalf("the cheater has %d pending, want %d", got, reward)
	}
	// It is paid out before it is found out.
	run, err := b.svc.CreatePayoutRun(ctx, "run-1", 1)
	if err != nil || len(run.Lines) != 2 {
		t.Fatalf("payout run: %+v, %v", run, err)
	}

	b.now = b.now.Add(time.Hour)
	for _, bad := range []struct {
		since  time.Time
		reason string
	}{{before, ""}, {time.Time{}, "x"}, {b.now.Add(time.Hour), "x"}} {
		if _, err := b.svc.ClawBack(ctx, cheater.ID, bad.since, bad.reason); workunits.ErrorCode(err) != workunits.EINVALID {
			t.Errorf("ClawBack(%v, %q) = %v, want EINVALID", bad.since, bad.reason, err)
		}
	}
	if _, err := b.svc.ClawBack(ctx, 999, before, "x"); workunits.ErrorCode(err) != workunits.ENOTFOUND {
		t.Errorf("clawing back an unknown host: %v, want ENOTFOUND", err)
	}
	c, err := b.svc.ClawBack(ctx, cheater.ID, before, "returned made-up outputs")
	if err != nil {
		t.Fatal(err)
	}
	if c.TasksInvalidated != 3 || c.UnitsReopened != 1 || c.UnitsFailed != 0 || c.AmountMicros != 2*reward || c.DoneAt.IsZero() {
		t.Errorf("clawback = %+v, want 3 tasks invalidated, 1 unit reopened, %d clawed back", c, 2*reward)
	}
	b.drain(t)

	// Job 1 keeps its result, now the honest host's.
	units, tasks := b.jobTasks(t, quorum.ID)
	if units[0].State != workunits.UnitDone || tasks[1].ID != units[0].CanonicalTaskID || tasks[0].ValidateState != workunits.ValidateInvalid {
		t.Errorf("quorum job: unit %+v, tasks %+v", units[0], tasks)
	}
	// Job 2's unit is open again, with a new replica.
	units, tasks = b.jobTasks(t, alone.ID)
	if units[0].State != workunits.UnitOpen || len(tasks) != 3 || tasks[2].UnitID != units[0].ID || tasks[2].State != workunits.TaskUnsent {
		t.Errorf("adaptive job: unit %+v, tasks %+v; want open with a new replica", units[0], tasks)
	}
	// Job 3's pending result is voided.
	_, tasks = b.jobTasks(t, pending.ID)
	if tasks[0].ValidateState != workunits.ValidateInvalid {
		t.Errorf("pending job: task %+v, want invalid", tasks[0])
	}
	if got := b.balance(t, payouts.ContributorPending(cheat.ID)); got != 0 {
		t.Errorf("pending after the clawback = %d, want 0", got)
	}
	// The paid-out rewards are a debt.
	if got := b.balance(t, payouts.ContributorAvailable(cheat.ID)); got != -2*reward {
		t.Errorf("available after the clawback = %d, want %d", got, -2*reward)
	}
	if _, err := b.svc.LeaseTasks(ctx, cheater.ID, 1, nil); workunits.ErrorCode(err) != workunits.EFORBIDDEN {
		t.Errorf("a clawed-back host leasing: %v, want EFORBIDDEN", err)
	}
	// Clawing back again finds nothing more to reverse.
	again, err := b.svc.ClawBack(ctx, cheater.ID, before, "again")
	if err != nil || again.TasksInvalidated != 0 || again.AmountMicros != 0 {
		t.Errorf("second clawback = %+v, %v; want nothing reversed", again, err)
	}
	if list, err := b.svc.Clawbacks(ctx, cheater.ID); err != nil || len(list) != 2 || list[0].ID != again.ID {
		t.Errorf("clawbacks = %+v, %v", list, err)
	}
	b.wantAudit(t)
}

// TestClawBackOfAnEndedJobFailsItsUnit: a finished job's unit whose only
// result was the cheater's cannot be computed again; it fails, saying why.
func TestClawBackOfAnEndedJobFailsItsUnit(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	b.svc.rand = func() float64 { return 0.99 }
	job := b.submitJob(t, 1, workunits.Policy{MinQuorum: 2, Adaptive: true})
	_, cheater := b.host(t, "cheater")
	b.seedTrust(t, workunits.HostTrust{HostID: cheater.ID, AppVersionID: job.AppVersionID, ConsecutiveValid: 20, ValidTotal: 20})
	start := b.now
	b.leaseAndReport(t, cheater.ID, 1, "x")
	if err := b.svc.FinishJobs(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := b.svc.ClawBack(ctx, cheater.ID, start, "made up")
	if err != nil || c.UnitsFailed != 1 || c.UnitsReopened != 0 {
		t.Fatalf("clawback = %+v, %v; want one unit failed", c, err)
	}
	units, _ := b.jobTasks(t, job.ID)
	if units[0].State != workunits.UnitFailed || units[0].Error == "" {
		t.Errorf("unit = %+v, want failed with a reason", units[0])
	}
}

// TestSpotCheckFailureThenBlockClawsBackAutomatically: a trusted host that
// fails a spot check and is then blocked for invalid results has the
// results that stood on its trust reversed, without an operator.
func TestSpotCheckFailureThenBlockClawsBackAutomatically(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	decide := 0.99
	b.svc.rand = func() float64 { return decide }
	job := b.submitJob(t, 6, workunits.Policy{MinQuorum: 2, Adaptive: true})
	_, sleeper := b.host(t, "sleeper")
	_, h1 := b.host(t, "h1")
	_, h2 := b.host(t, "h2")
	b.seedTrust(t, workunits.HostTrust{HostID: sleeper.ID, AppVersionID: job.AppVersionID, ConsecutiveValid: 20, ValidTotal: 20})
	b.leaseAndReport(t, sleeper.ID, 2, "wrong") // accepted alone, on trust
	decide = 0                                  // from now on every result is checked
	b.leaseAndReport(t, sleeper.ID, 3, "wrong")
	for range 4 { // until the sleeper's three wrong results are outvoted
		b.leaseAndReport(t, h1.ID, 10, "right")
		b.leaseAndReport(t, h2.ID, 10, "right")
	}
	if _, err := b.svc.LeaseTasks(ctx, sleeper.ID, 1, nil); workunits.ErrorCode(err) != workunits.EFORBIDDEN {
		t.Fatalf("the sleeper is not blocked: %v", err)
	}
	n, err := b.svc.RunPendingClawbacks(ctx)
	if err != nil || n != 1 {
		t.Fatalf("RunPendingClawbacks = %d, %v; want 1", n, err)
	}
	list, err := b.svc.Clawbacks(ctx, sleeper.ID)
	if err != nil || len(list) != 1 || list[0].UnitsReopened != 2 || list[0].Reason != autoClawbackReason {
		t.Fatalf("clawbacks = %+v, %v; want one automatic, reopening the 2 units accepted on trust", list, err)
	}
	// The reopened units are computed again by honest hosts.
	for range 3 {
		b.leaseAndReport(t, h1.ID, 10, "right")
		b.leaseAndReport(t, h2.ID, 10, "right")
	}
	units, _ := b.jobTasks(t, job.ID)
	for _, u := range units {
		if u.State != workunits.UnitDone {
			t.Errorf("unit %d is %s, want done", u.Seq, u.State)
		}
	}
	if n, err := b.svc.RunPendingClawbacks(ctx); err != nil || n != 0 {
		t.Errorf("a second run did %d clawbacks (%v), want 0", n, err)
	}
}
