package service

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/signing"
	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/coordinator/store/sqlite"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// testBundle is a service on a fresh SQLite store with a clock the test moves.
type testBundle struct {
	svc     *Service
	now     time.Time
	project workunits.Project
}

// wasmHeader is the smallest module: the tests here never run it.
var wasmHeader = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

func setup(t *testing.T) *testBundle {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return setupOn(t, st)
}

// setupOn is setup on a store the caller opened and will close.
func setupOn(t *testing.T, st store.Store) *testBundle {
	t.Helper()
	ctx := context.Background()
	var err error
	b := &testBundle{now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	b.svc = New(Options{Store: st, OperatorKey: "nso_test", Now: func() time.Time { return b.now },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	signer, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if b.project, _, err = b.svc.CreateProjectWith(ctx, NewProject{Name: "lab", SigningKey: signing.PublicKey(signer)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.UploadAppVersion(ctx, b.project.ID, AppUpload{App: "app", Module: wasmHeader,
		Signature: signing.Sign(signer, wasmHeader)}); err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *testBundle) host(t *testing.T, name string) (workunits.Contributor, workunits.Host) {
	t.Helper()
	ctx := context.Background()
	c, _, err := b.svc.CreateContributor(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := b.svc.RegisterHost(ctx, c.ID, HostInfo{Name: name + "-pc", Platform: "test", Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c, h
}

func (b *testBundle) balance(t *testing.T, a payouts.Account) int64 {
	t.Helper()
	var v int64
	if err := b.svc.store.InTx(context.Background(), func(tx store.Tx) (err error) {
		v, err = tx.LedgerBalance(context.Background(), a)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFundingIsIdempotentByKey(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	for range 3 {
		got, err := b.svc.FundProject(ctx, b.project.ID, 1000, "grant-7")
		if err != nil || got != 1000 {
			t.Fatalf("FundProject = %d, %v; want 1000 every time", got, err)
		}
	}
	if got, _ := b.svc.FundProject(ctx, b.project.ID, 500, "grant-8"); got != 1500 {
		t.Errorf("a new key funds again: balance %d, want 1500", got)
	}
	if _, err := b.svc.FundProject(ctx, 999, 500, "x"); workunits.ErrorCode(err) != workunits.ENOTFOUND {
		t.Errorf("funding an unknown project: %v", err)
	}
}

// TestLifecycle drives one unit through a missed deadline, a replacement,
// a quorum and payment, with the clock under the test's control.
func TestLifecycle(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	if _, err := b.svc.FundProject(ctx, b.project.ID, 10_000, "g"); err != nil {
		t.Fatal(err)
	}
	st, err := b.svc.SubmitJob(ctx, b.project.ID, JobRequest{App: "app", Inputs: [][]byte{[]byte(`{"x":1}`)}, RewardMicros: 100,
		Policy: workunits.Policy{MinQuorum: 2, TargetReplicas: 2, Deadline: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	job := st.Job
	_, slow := b.host(t, "slow")
	ada, hostA := b.host(t, "ada")
	grace, hostG := b.host(t, "grace")

	lease := func(h workunits.Host, want int) []store.Lease {
		t.Helper()
		l, err := b.svc.LeaseTasks(ctx, h.ID, 4, nil)
		if err != nil || len(l) != want {
			t.Fatalf("host %s leased %d tasks (%v), want %d", h.Name, len(l), err, want)
		}
		return l
	}
	ls := lease(slow, 1)
	la := lease(hostA, 1)
	lease(hostG, 0) // both replicas are out
	report := func(h workunits.Host, task int64) error {
		return b.svc.ReportResults(ctx, h.ID, []workunits.Report{{TaskID: task, Outcome: workunits.OutcomeSuccess, Output: []byte("42")}})
	}

	b.now = b.now.Add(30 * time.Second)
	if err := report(hostA, la[0].TaskID); err != nil {
		t.Fatal(err)
	}
	b.now = b.now.Add(time.Minute) // the slow host misses its deadline
	if n, err := b.svc.SweepOverdue(ctx); err != nil || n != 1 {
		t.Fatalf("sweep advanced %d units (%v), want 1", n, err)
	}
	if err := report(slow, ls[0].TaskID); workunits.ErrorCode(err) != workunits.ECONFLICT {
		t.Fatalf("a report after the deadline: %v, want conflict", err)
	}
	lease(hostA, 0) // a host never gets two replicas of one unit
	lg := lease(hostG, 1)
	if err := report(hostG, lg[0].TaskID); err != nil {
		t.Fatal(err)
	}
	// Valid tasks are paid, and so the job finished, by the payer.
	if st, err := b.svc.Job(ctx, b.project.ID, job.ID); err != nil || st.Job.State != workunits.JobActive {
		t.Errorf("job before payment = %s (%v), want still active", st.Job.State, err)
	}
	if n, err := b.svc.PayCredits(ctx); err != nil || n != 4 {
		t.Fatalf("PayCredits recorded %d transactions (%v), want 4: two reserves, two posts", n, err)
	}
	if n, err := b.svc.PayCredits(ctx); err != nil || n != 0 {
		t.Fatalf("PayCredits again recorded %d transactions (%v), want 0", n, err)
	}
	st, err = b.svc.Job(ctx, b.project.ID, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Job.State != workunits.JobDone || st.Progress.Outcomes[workunits.OutcomeNoReply] != 1 {
		t.Errorf("job = %s, outcomes %v; want done with one no-reply", st.Job.State, st.Progress.Outcomes)
	}
	for _, c := range []workunits.Contributor{ada, grace} {
		if got := b.balance(t, payouts.ContributorAvailable(c.ID)); got != 100 {
			t.Errorf("%s earned %d, want 100", c.Name, got)
		}
	}
	if got := b.balance(t, payouts.JobEscrow(job.ID)); got != 0 {
		t.Errorf("escrow left after the job finished: %d", got)
	}
	if got := b.balance(t, payouts.ProjectBudget(b.project.ID)); got != 10_000-200 {
		t.Errorf("budget = %d, want %d (the unused escrow returned)", got, 10_000-200)
	}
	a, err := b.svc.LedgerAudit(ctx)
	if err != nil || !a.Balanced() {
		t.Errorf("ledger audit: %+v, %v", a, err)
	}
}
