package service

import (
	"fmt"
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

// TestPayerSetsAsideRefusedCredits: a money row the ledger refuses neither
// stops the payer nor is lost. Three one-unit jobs have a valid task each,
// reserved and posted in queue order: job A's escrow was drained, job B's
// post key was used for another amount, job C is sound. C is paid at once;
// A's reserve, its post (waiting for it) and B's post are set aside,
// listed with why, and keep their jobs open; A is paid, once, when its
// escrow is back and its retry is due; B keeps being retried, backing off.
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
			for _, tk := range tasks {
				taskOf[jobOf[tk.UnitID]] = tk.ID
			}
			// Reserves first, then posts, as reports and validation queue them.
			var moves []store.MoneyMove
			for _, kind := range []store.MoneyKind{store.MoneyReserve, store.MoneyPost} {
				for _, j := range []int64{a, bb, c} {
					moves = append(moves, store.MoneyMove{Kind: kind, TaskID: taskOf[j], JobID: j, ContributorID: ada.ID, AmountMicros: reward})
				}
			}
			if err := tx.MoneyQueueAdd(ctx, moves); err != nil {
				return err
			}
			drain := payouts.Transaction{Key: "test:drain", Memo: "escrow taken by hand",
				Entries: []payouts.Entry{{Account: payouts.JobEscrow(a), Amount: -reward}, {Account: budget, Amount: reward}}}
			if _, err := store.LedgerRecord(ctx, tx, drain, b.now); err != nil {
				return err
			}
			byHand := payouts.Transaction{Key: fmt.Sprintf("post:task:%d", taskOf[bb]), Memo: "posted by hand",
				Entries: []payouts.Entry{{Account: budget, Amount: -60}, {Account: payouts.ContributorAvailable(ada.ID), Amount: 60}}}
			_, err = store.LedgerRecord(ctx, tx, byHand, b.now)
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
			kind     store.MoneyKind
			code     workunits.Code
			attempts int
			retryAt  time.Time
		}
		wantRefused := func(want ...refusal) {
			t.Helper()
			got, err := b.svc.RefusedMoney(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("refused money = %+v, want %d", got, len(want))
			}
			for i, w := range want {
				g := got[i]
				if g.Kind != w.kind || g.TaskID != taskOf[w.job] || g.JobID != w.job || g.ContributorID != ada.ID || g.AmountMicros != reward ||
					!strings.HasPrefix(g.Reason, string(w.code)+":") || g.Attempts != w.attempts ||
					!g.RetryAt.Equal(w.retryAt) || !g.RefusedAt.Equal(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)) {
					t.Errorf("refused row %d = %+v, want the %s of job %d's task %d refused %d times for %s, retried at %v",
						i, g, w.kind, w.job, taskOf[w.job], w.attempts, w.code, w.retryAt)
				}
			}
		}
		start := b.now

		// Job A's reserve is refused and its post waits with it; job B's post
		// finds its key used. B and C are reserved, C is posted.
		pay(3)
		wantState(c, workunits.JobDone)
		wantState(a, workunits.JobActive)
		wantState(bb, workunits.JobActive)
		minute := start.Add(time.Minute)
		wantRefused(refusal{a, store.MoneyReserve, workunits.EINSUFFICIENT, 1, minute},
			refusal{a, store.MoneyPost, workunits.EINSUFFICIENT, 1, minute}, refusal{bb, store.MoneyPost, workunits.ECONFLICT, 1, minute})
		if got := b.balance(t, payouts.ContributorAvailable(ada.ID)); got != 60+reward {
			t.Errorf("ada has %d, want %d (the post recorded by hand and job C's)", got, 60+reward)
		}

		// Not before the retry is due, even once it could be paid.
		b.inTx(t, func(tx store.Tx) error {
			refill := payouts.Transaction{Key: "test:refill", Memo: "escrow put back",
				Entries: []payouts.Entry{{Account: budget, Amount: -reward}, {Account: payouts.JobEscrow(a), Amount: reward}}}
			_, err := store.LedgerRecord(ctx, tx, refill, b.now)
			return err
		})
		pay(0)

		b.now = minute
		pay(2) // A's reserve and post
		wantState(a, workunits.JobDone)
		wantState(bb, workunits.JobActive)
		wantRefused(refusal{bb, store.MoneyPost, workunits.ECONFLICT, 2, b.now.Add(2 * time.Minute)})

		b.now = start.Add(time.Hour)
		pay(0)
		wantRefused(refusal{bb, store.MoneyPost, workunits.ECONFLICT, 3, b.now.Add(4 * time.Minute)})
		if got := b.balance(t, payouts.ContributorAvailable(ada.ID)); got != 60+2*reward {
			t.Errorf("ada has %d, want %d: jobs A and C paid once each", got, 60+2*reward)
		}
		if got := b.balance(t, payouts.ContributorPending(ada.ID)); got != reward {
			t.Errorf("ada has %d pending, want job B's %d", got, reward)
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
