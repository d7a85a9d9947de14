package service

import (
	"context"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/coordinator/store/postgres"
	"github.com/nightshift-platform/nightshift/coordinator/store/postgres/pgtest"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// pausingStore holds a transaction just after it has listed a project's
// waiting jobs, once, when asked to: the moment another transaction could
// cancel a job about to be funded.
type pausingStore struct {
	store.Store
	paused chan chan struct{} // a transaction that pauses takes a resume channel from here
}

func (p *pausingStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return p.Store.InTx(ctx, func(tx store.Tx) error { return fn(&pausingTx{tx, p}) })
}

type pausingTx struct {
	store.Tx
	p *pausingStore
}

func (t *pausingTx) JobListWaiting(ctx context.Context, projectID int64) ([]workunits.Job, error) {
	jobs, err := t.Tx.JobListWaiting(ctx, projectID)
	select {
	case resume := <-t.p.paused:
		<-resume
	default:
	}
	return jobs, err
}

// TestCancellingAWaitingJobWhileItIsFunded cancels a waiting job between
// the moment funding lists it and the moment funding sets its escrow
// aside, on PostgreSQL, where both run at once. Whichever goes first, the
// money must end in the budget: a cancelled, settled job holding escrow
// would hold it for ever.
func TestCancellingAWaitingJobWhileItIsFunded(t *testing.T) {
	st, err := postgres.Open(t.Context(), pgtest.NewSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ps := &pausingStore{Store: st, paused: make(chan chan struct{}, 1)}
	b := setupOn(t, ps)
	ctx := context.Background()
	job, err := b.svc.SubmitJob(ctx, b.project.ID, costing(2, 0)) // 2 units × 3 replicas × 100
	if err != nil || job.Job.State != workunits.JobWaiting {
		t.Fatalf("submit = %+v, %v; want a waiting job", job.Job, err)
	}
	before := b.balance(t, payouts.ProjectBudget(b.project.ID))

	resume := make(chan struct{})
	ps.paused <- resume
	funded := make(chan error, 1)
	go func() { _, err := b.svc.FundProject(ctx, b.project.ID, 1000, "grant"); funded <- err }()
	for len(ps.paused) > 0 { // until the funder has listed the job and paused
		time.Sleep(time.Millisecond)
	}
	cancelled := make(chan error, 1)
	go func() { _, err := b.svc.CancelJob(ctx, b.project.ID, job.Job.ID); cancelled <- err }()
	time.Sleep(200 * time.Millisecond) // let the cancel run as far as it can
	close(resume)
	if err := <-funded; err != nil {
		t.Fatalf("funding: %v", err)
	}
	if err := <-cancelled; err != nil {
		t.Fatalf("cancelling: %v", err)
	}
	if err := b.svc.SettleCancelledJobs(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := b.svc.Job(ctx, b.project.ID, job.Job.ID)
	if err != nil || got.Job.State != workunits.JobCancelled {
		t.Fatalf("job = %+v, %v; want cancelled", got.Job, err)
	}
	if escrow := b.balance(t, payouts.JobEscrow(job.Job.ID)); escrow != 0 {
		t.Errorf("the cancelled job holds %d of escrow; want it returned", escrow)
	}
	if budget := b.balance(t, payouts.ProjectBudget(b.project.ID)); budget != before+1000 {
		t.Errorf("budget = %d, want %d: the grant, all of it", budget, before+1000)
	}
}
