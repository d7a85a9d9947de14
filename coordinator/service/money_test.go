package service

import (
	"context"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// moneyBundle is a funded project on a service taking a 2.5% fee, with
// helpers to lease, report and pay.
type moneyBundle struct {
	*testBundle
	t   *testing.T
	ctx context.Context
}

const funds = 100_000

func setupMoney(t *testing.T, b *testBundle) moneyBundle {
	t.Helper()
	b.svc.platformFeeBPS = 250
	if _, err := b.svc.FundProject(t.Context(), b.project.ID, funds, "g"); err != nil {
		t.Fatal(err)
	}
	return moneyBundle{testBundle: b, t: t, ctx: t.Context()}
}

func (m moneyBundle) submit(reward int64, units int, p workunits.Policy) workunits.Job {
	m.t.Helper()
	inputs := make([][]byte, units)
	for i := range inputs {
		inputs[i] = []byte(`{}`)
	}
	st, err := m.svc.SubmitJob(m.ctx, m.project.ID, JobRequest{App: "app", Inputs: inputs, RewardMicros: reward, Policy: p})
	if err != nil {
		m.t.Fatal(err)
	}
	return st.Job
}

func (m moneyBundle) lease(h workunits.Host) int64 {
	m.t.Helper()
	l, err := m.svc.LeaseTasks(m.ctx, h.ID, 1, nil)
	if err != nil || len(l) != 1 {
		m.t.Fatalf("host %s leased %v (%v), want one task", h.Name, l, err)
	}
	return l[0].TaskID
}

func (m moneyBundle) report(h workunits.Host, task int64, output string) {
	m.t.Helper()
	if err := m.svc.ReportResults(m.ctx, h.ID, []workunits.Report{{TaskID: task, Outcome: workunits.OutcomeSuccess, Output: []byte(output)}}); err != nil {
		m.t.Fatal(err)
	}
}

func (m moneyBundle) pay(want int) {
	m.t.Helper()
	if n, err := m.svc.PayCredits(m.ctx); err != nil || n != want {
		m.t.Fatalf("PayCredits recorded %d transactions (%v), want %d", n, err, want)
	}
}

func (m moneyBundle) wantBalances(want map[payouts.Account]int64) {
	m.t.Helper()
	for a, w := range want {
		if got := m.balance(m.t, a); got != w {
			m.t.Errorf("balance of %s = %d, want %d", a, got, w)
		}
	}
}

func (m moneyBundle) wantEarnings(c workunits.Contributor, available, pending int64) Earnings {
	m.t.Helper()
	e, err := m.svc.ContributorEarnings(m.ctx, c.ID)
	if err != nil {
		m.t.Fatal(err)
	}
	if e.AvailableMicros != available || e.PendingMicros != pending || e.InFlightMicros != 0 || e.PaidMicros != 0 {
		m.t.Errorf("earnings of %s = %+v, want %d available, %d pending", c.Name, e, available, pending)
	}
	return e
}

func (m moneyBundle) wantAudit() {
	m.t.Helper()
	a, err := m.svc.LedgerAudit(m.ctx)
	if err != nil || !a.Balanced() {
		m.t.Errorf("ledger audit: %+v, %v", a, err)
	}
}

func (m moneyBundle) wantJob(id int64, state workunits.JobState, finished bool) {
	m.t.Helper()
	st, err := m.svc.Job(m.ctx, m.project.ID, id)
	if err != nil || st.Job.State != state || st.Job.FinishedAt.IsZero() == finished {
		m.t.Errorf("job %d = %s finished at %v (%v), want %s, finished %v", id, st.Job.State, st.Job.FinishedAt, err, state, finished)
	}
}

// TestMoneyValidAndInvalid: a reported success is reserved (pending), a
// valid one posted less the 2.5% fee, an invalid one voided back to the
// escrow, and the job's unused escrow returns to the project.
func TestMoneyValidAndInvalid(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		m := setupMoney(t, b)
		const reward = 1000
		job := m.submit(reward, 1, workunits.Policy{MinQuorum: 2, TargetReplicas: 3, MaxTotalReplicas: 3})
		escrow := int64(3 * reward)
		ada, hostA := m.host(t, "ada")
		bob, hostB := m.host(t, "bob")
		eve, hostE := m.host(t, "eve")
		ta, tb, te := m.lease(hostA), m.lease(hostB), m.lease(hostE)

		m.report(hostA, ta, "42")
		m.wantEarnings(ada, 0, 0) // queued, not yet in the ledger
		m.pay(1)
		m.wantEarnings(ada, 0, reward)
		m.wantBalances(map[payouts.Account]int64{payouts.JobEscrow(job.ID): escrow - reward})

		m.report(hostB, tb, "42") // a quorum: ada and bob are valid
		m.pay(3)                  // bob's reserve, two posts
		const fee = reward * 250 / 10_000
		e := m.wantEarnings(ada, reward-fee, 0)
		if len(e.Hosts) != 1 || e.Hosts[0].EarnedMicros != reward-fee || e.Hosts[0].TasksValid != 1 {
			t.Errorf("ada's hosts = %+v, want one that earned %d", e.Hosts, reward-fee)
		}
		m.wantEarnings(bob, reward-fee, 0)
		m.wantBalances(map[payouts.Account]int64{payouts.PlatformFees: 2 * fee, payouts.JobEscrow(job.ID): escrow - 2*reward})
		m.wantJob(job.ID, workunits.JobActive, false) // eve's task still runs

		m.report(hostE, te, "41") // checked against the canonical output: invalid
		m.pay(2)                  // eve's reserve and its void
		e = m.wantEarnings(eve, 0, 0)
		if len(e.Hosts) != 1 || e.Hosts[0].TasksInvalid != 1 || e.Hosts[0].EarnedMicros != 0 {
			t.Errorf("eve's hosts = %+v, want one invalid task, nothing earned", e.Hosts)
		}
		m.wantJob(job.ID, workunits.JobDone, true)
		m.wantBalances(map[payouts.Account]int64{payouts.JobEscrow(job.ID): 0, payouts.ProjectBudget(m.project.ID): funds - 2*reward,
			payouts.ContributorPending(eve.ID): 0})
		m.wantAudit()
	})
}

// TestMoneyFailedUnitVoids: a unit that fails after a success was reported
// voids that success's reservation.
func TestMoneyFailedUnitVoids(t *testing.T) {
	b := setup(t)
	m := setupMoney(t, b)
	const reward = 500
	job := m.submit(reward, 1, workunits.Policy{MinQuorum: 2, TargetReplicas: 2, MaxTotalReplicas: 2, Deadline: time.Minute})
	ada, hostA := m.host(t, "ada")
	_, hostB := m.host(t, "bob")
	ta := m.lease(hostA)
	m.lease(hostB)
	m.report(hostA, ta, "42")
	m.pay(1)
	m.wantEarnings(ada, 0, reward)

	m.now = m.now.Add(2 * time.Minute) // bob misses his deadline: no replica is left to issue
	if n, err := m.svc.SweepOverdue(m.ctx); err != nil || n != 1 {
		t.Fatalf("sweep advanced %d units (%v), want 1", n, err)
	}
	m.pay(1) // the void
	m.wantEarnings(ada, 0, 0)
	if err := m.svc.FinishJobs(m.ctx); err != nil {
		t.Fatal(err)
	}
	m.wantJob(job.ID, workunits.JobDone, true)
	m.wantBalances(map[payouts.Account]int64{payouts.JobEscrow(job.ID): 0, payouts.ProjectBudget(m.project.ID): funds,
		payouts.PlatformFees: 0})
	m.wantAudit()
}

// TestMoneyCancelVoids: cancelling a job voids the reservations of its
// results not yet judged, recorded or still queued, and the job settles
// once the voids are recorded, its whole escrow back with the project.
func TestMoneyCancelVoids(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		m := setupMoney(t, b)
		const reward = 300
		job := m.submit(reward, 2, workunits.Policy{MinQuorum: 2, TargetReplicas: 2})
		ada, hostA := m.host(t, "ada")
		bob, hostB := m.host(t, "bob")
		m.report(hostA, m.lease(hostA), "1")
		m.pay(1) // ada's reservation is in the ledger
		m.report(hostB, m.lease(hostB), "2")
		m.wantEarnings(ada, 0, reward)

		if _, err := m.svc.CancelJob(m.ctx, m.project.ID, job.ID); err != nil {
			t.Fatal(err)
		}
		m.wantJob(job.ID, workunits.JobCancelled, false) // voids are owed
		var queued []store.MoneyMove
		m.inTx(t, func(tx store.Tx) (err error) {
			queued, err = tx.MoneyQueueTake(m.ctx, 10)
			if err == nil {
				err = tx.MoneyQueueAdd(m.ctx, withoutSeqs(queued))
			}
			return err
		})
		var kinds []store.MoneyKind
		for _, q := range queued {
			kinds = append(kinds, q.Kind)
		}
		if len(kinds) != 3 || kinds[0] != store.MoneyReserve || kinds[1] != store.MoneyVoid || kinds[2] != store.MoneyVoid {
			t.Errorf("queued after the cancel: %v, want bob's reserve, then two voids", kinds)
		}
		m.pay(3)
		m.wantEarnings(ada, 0, 0)
		m.wantEarnings(bob, 0, 0)
		m.wantJob(job.ID, workunits.JobCancelled, true)
		m.wantBalances(map[payouts.Account]int64{payouts.JobEscrow(job.ID): 0, payouts.ProjectBudget(m.project.ID): funds})
		st, err := m.svc.Job(m.ctx, m.project.ID, job.ID)
		if err != nil || st.Progress.Validations[workunits.ValidateUnchecked] != 2 {
			t.Errorf("validations after the cancel = %v (%v), want 2 unchecked", st.Progress.Validations, err)
		}
		m.wantAudit()
	})
}

// TestMoneyFreeJobQueuesNothing: a job that pays nothing moves no money.
func TestMoneyFreeJobQueuesNothing(t *testing.T) {
	b := setup(t)
	m := setupMoney(t, b)
	job := m.submit(0, 1, workunits.Policy{MinQuorum: 1, TargetReplicas: 1})
	_, h := m.host(t, "ada")
	m.report(h, m.lease(h), "x")
	m.pay(0)
	if err := m.svc.FinishJobs(m.ctx); err != nil {
		t.Fatal(err)
	}
	m.wantJob(job.ID, workunits.JobDone, true)
	m.wantAudit()
}

func withoutSeqs(moves []store.MoneyMove) []store.MoneyMove {
	for i := range moves {
		moves[i].Seq = 0
	}
	return moves
}
