package service

import (
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/coordinator/store/postgres"
	"github.com/nightshift-platform/nightshift/coordinator/store/postgres/pgtest"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// eachStore runs test on a bundle over SQLite and on one over PostgreSQL.
func eachStore(t *testing.T, test func(t *testing.T, b *testBundle)) {
	t.Run("sqlite", func(t *testing.T) { test(t, setup(t)) })
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(t.Context(), pgtest.NewSchema(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		test(t, setupOn(t, st))
	})
}

// TestPayerSetsAsideRefusedCredits: a reward the ledger refuses neither
// stops the payer nor is lost. Three one-unit jobs have a valid task each,
// queued oldest first: job A's escrow was drained, job B's reward key was
// used for another amount, job C is sound. C is paid at once; A and B are
// set aside, listed with why, and keep their jobs open; A is paid, once,
// when its escrow is back and its retry is due; B keeps being retried,
// backing off.
func TestPayerSetsAsideRefusedCredits(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		ctx := t.Context()
		if _, err := b.svc.FundProject(ctx, b.project.ID, 10_000, "g"); err != nil {
			t.Fatal(err)
		}
		ada, _ := b.host(t, "ada")
		const reward = 100
		var jobs [3]workunits.Job
		for i := range jobs {
			st, err := b.svc.SubmitJob(ctx, b.project.ID, JobRequest{App: "app", Inputs: [][]byte{[]byte(`{}`)}, RewardMicros: reward,
				Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1, MaxTotalReplicas: 1}})
			if err != nil {
				t.Fatal(err)
			}
			jobs[i] = st.Job
		}
		a, bb, c := jobs[0].ID, jobs[1].ID, jobs[2].ID
		taskOf := map[int64]int64{} // job → its one task
		budget := payouts.ProjectBudget(b.project.ID)
		b.inTx(t, func(tx store.Tx) error {
			// A fresh store numbers tasks from 1: these are the jobs' three.
			tasks, err := tx.TaskGetMany(ctx, []int64{1, 2, 3})
			if err != nil {
				return err
			}
			unitIDs := make([]int64, len(tasks))
			for i, tk := range tasks {
				unitIDs[i] = tk.UnitID
			}
			// The units are done and their tasks valid, as reports would leave them.
			units, err := tx.UnitGetManyForUpdate(ctx, unitIDs)
			if err != nil {
				return err
			}
			if len(tasks) != len(jobs) || len(units) != len(jobs) {
				t.Fatalf("tasks 1 to 3 = %+v in units %+v, want one of each job", tasks, units)
			}
			jobOf := map[int64]int64{}
			for i, u := range units {
				jobOf[u.ID] = u.JobID
				units[i].State = workunits.UnitDone
			}
			if err := tx.UnitUpdateMany(ctx, units); err != nil {
				return err
			}
			var credits []store.Credit
			for _, tk := range tasks {
				taskOf[jobOf[tk.UnitID]] = tk.ID
				credits = append(credits, store.Credit{TaskID: tk.ID, JobID: jobOf[tk.UnitID], ContributorID: ada.ID, AmountMicros: reward})
			}
			if err := tx.CreditQueueAdd(ctx, credits); err != nil {
				return err
			}
			drain := payouts.Transaction{Key: "test:drain", Memo: "escrow taken by hand",
				Entries: []payouts.Entry{{Account: payouts.JobEscrow(a), Amount: -reward}, {Account: budget, Amount: reward}}}
			if _, err := store.LedgerRecord(ctx, tx, drain, b.now); err != nil {
				return err
			}
			_, err = store.LedgerRecord(ctx, tx, payouts.Reward(taskOf[bb], bb, ada.ID, 60), b.now)
			return err
		})
		pay := func(want int) {
			t.Helper()
			if n, err := b.svc.PayCredits(ctx); err != nil || n != want {
				t.Fatalf("PayCredits paid %d tasks (%v), want %d", n, err, want)
			}
		}
		wantState := func(job int64, want workunits.JobState) {
			t.Helper()
			if st, err := b.svc.Job(ctx, b.project.ID, job); err != nil || st.Job.State != want {
				t.Errorf("job %d = %s (%v), want %s", job, st.Job.State, err, want)
			}
		}
		type refusal struct {
			job      int64
			code     workunits.Code
			attempts int
			retryAt  time.Time
		}
		wantRefused := func(want ...refusal) {
			t.Helper()
			got, err := b.svc.RefusedCredits(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("refused credits = %+v, want %d", got, len(want))
			}
			for i, w := range want {
				g := got[i]
				if g.TaskID != taskOf[w.job] || g.JobID != w.job || g.ContributorID != ada.ID || g.AmountMicros != reward ||
					!strings.HasPrefix(g.Reason, string(w.code)+":") || g.Attempts != w.attempts ||
					!g.RetryAt.Equal(w.retryAt) || !g.RefusedAt.Equal(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)) {
					t.Errorf("refused credit %d = %+v, want job %d's task %d refused %d times for %s, retried at %v",
						i, g, w.job, taskOf[w.job], w.attempts, w.code, w.retryAt)
				}
			}
		}
		start := b.now

		pay(1)
		wantState(c, workunits.JobDone)
		wantState(a, workunits.JobActive)
		wantState(bb, workunits.JobActive)
		wantRefused(refusal{a, workunits.EINSUFFICIENT, 1, start.Add(time.Minute)}, refusal{bb, workunits.ECONFLICT, 1, start.Add(time.Minute)})
		if got := b.balance(t, payouts.ContributorAvailable(ada.ID)); got != 60+reward {
			t.Errorf("ada has %d, want %d (the reward recorded by hand and job C's)", got, 60+reward)
		}

		// Not before the retry is due, even once it could be paid.
		b.inTx(t, func(tx store.Tx) error {
			refill := payouts.Transaction{Key: "test:refill", Memo: "escrow put back",
				Entries: []payouts.Entry{{Account: budget, Amount: -reward}, {Account: payouts.JobEscrow(a), Amount: reward}}}
			_, err := store.LedgerRecord(ctx, tx, refill, b.now)
			return err
		})
		pay(0)
		wantRefused(refusal{a, workunits.EINSUFFICIENT, 1, start.Add(time.Minute)}, refusal{bb, workunits.ECONFLICT, 1, start.Add(time.Minute)})

		b.now = start.Add(time.Minute)
		pay(1)
		wantState(a, workunits.JobDone)
		wantState(bb, workunits.JobActive)
		wantRefused(refusal{bb, workunits.ECONFLICT, 2, b.now.Add(2 * time.Minute)})

		b.now = start.Add(time.Hour)
		pay(0)
		wantRefused(refusal{bb, workunits.ECONFLICT, 3, b.now.Add(4 * time.Minute)})
		if got := b.balance(t, payouts.ContributorAvailable(ada.ID)); got != 60+2*reward {
			t.Errorf("ada has %d, want %d: jobs A and C paid once each", got, 60+2*reward)
		}
		if a, err := b.svc.LedgerAudit(ctx); err != nil || !a.Balanced() {
			t.Errorf("ledger audit: %+v, %v", a, err)
		}
	})
}

func TestRetryDelay(t *testing.T) {
	for n, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 6: 32 * time.Minute, 7: time.Hour, 1000: time.Hour} {
		if got := retryDelay(n); got != want {
			t.Errorf("retryDelay(%d) = %v, want %v", n, got, want)
		}
	}
}

func (b *testBundle) inTx(t *testing.T, fn func(store.Tx) error) {
	t.Helper()
	if err := b.svc.store.InTx(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}
