package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testContributorEarnings(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("PerHost", func(t *testing.T) {
		s := setup(t, newStore)
		touched := t0.Add(3 * time.Hour)
		var c workunits.Contributor
		var h1, h2, flaky, fresh workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c = f.Contributor()
			h1, h2, flaky, fresh = f.Host(c.ID), f.Host(c.ID), f.Host(c.ID), f.Host(c.ID)
			stranger := f.Host(f.Contributor().ID)
			if err := tx.HostTouchMany(t.Context(), map[int64]time.Time{h1.ID: touched}); err != nil {
				return err
			}

			a := f.Job(jobSpec{Units: 3, Reward: 1000, Policy: workunits.Policy{MinQuorum: 2, TargetReplicas: 3}})
			b := f.Job(jobSpec{Units: 1, Reward: 50})
			const (
				success  = workunits.OutcomeSuccess
				failure  = workunits.OutcomeError
				noReply  = workunits.OutcomeNoReply
				valid    = workunits.ValidateValid
				invalid  = workunits.ValidateInvalid
				pending  = workunits.ValidatePending
				inconcl  = workunits.ValidateInconclusive
				cpu      = time.Second
				deadline = time.Hour
			)
			f.UpdateTasks(
				// Unit a0, validated but still open in this snapshot.
				reported(a.Tasks[0][0], h1.ID, success, valid, cpu),
				reported(a.Tasks[0][1], h2.ID, failure, pending, cpu),
				reported(a.Tasks[0][2], stranger.ID, success, valid, cpu),
				// Unit a1 is done: a pending task there will never be paid.
				reported(a.Tasks[1][0], h1.ID, success, invalid, cpu),
				reported(a.Tasks[1][1], h2.ID, success, pending, cpu),
				// Unit a2 is open: h1 waits for its replica.
				reported(a.Tasks[2][0], h1.ID, success, pending, cpu),
				leased(a.Tasks[2][1], h2.ID, t0.Add(deadline)),
				reported(a.Tasks[2][2], flaky.ID, noReply, pending, 0), // failed tasks earn nothing
				// Unit b0 is open with a disagreement.
				reported(b.Tasks[0][0], h1.ID, success, inconcl, cpu),
				reported(b.Tasks[0][1], h2.ID, success, valid, cpu),
			)
			f.UpdateUnits(withState(a.Units[1], workunits.UnitDone))
			// Earned is what the ledger posted: h1's valid task less a fee,
			// h2's under the old one-step reward key. Stranger's is not
			// counted, nor would a valid task be whose post is still queued.
			reward := payouts.Transaction{Key: fmt.Sprintf("reward:task:%d", b.Tasks[0][1].ID), Entries: []payouts.Entry{
				{Account: payouts.JobEscrow(b.Job.ID), Amount: -50}, {Account: payouts.ContributorAvailable(c.ID), Amount: 50}}}
			_, err := tx.LedgerRecordMany(t.Context(), []payouts.Transaction{
				payouts.Fund(a.Job.ProjectID, 5000, "r"), payouts.Fund(b.Job.ProjectID, 50, "r"),
				payouts.Escrow(a.Job.ID, a.Job.ProjectID, 5000), payouts.Escrow(b.Job.ID, b.Job.ProjectID, 50),
				payouts.Reserve(a.Tasks[0][0].ID, a.Job.ID, c.ID, 1000), payouts.Post(a.Tasks[0][0].ID, c.ID, 1000, 25),
				reward,
				payouts.Reserve(a.Tasks[0][2].ID, a.Job.ID, c.ID+1, 1000), payouts.Post(a.Tasks[0][2].ID, c.ID+1, 1000, 0),
			}, t0)
			return err
		})
		want := []store.HostEarnings{
			{HostID: h1.ID, HostName: h1.Name, LastContactAt: touched, TasksValid: 1, TasksInvalid: 1, TasksPending: 2,
				PendingMicros: 1000 + 50, EarnedMicros: 975},
			{HostID: h2.ID, HostName: h2.Name, LastContactAt: t0, TasksValid: 1, EarnedMicros: 50},
			{HostID: flaky.ID, HostName: flaky.Name, LastContactAt: t0},
			{HostID: fresh.ID, HostName: fresh.Name, LastContactAt: t0}, // no tasks at all
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.ContributorEarnings(t.Context(), c.ID)
			if err != nil {
				return err
			}
			got = sortedBy(got, func(e store.HostEarnings) int64 { return e.HostID })
			if len(got) != len(want) {
				t.Fatalf("ContributorEarnings = %+v, want %+v", got, want)
			}
			for i := range got {
				g, w := got[i], want[i]
				lastOK := sameMS(g.LastContactAt, w.LastContactAt)
				g.LastContactAt, w.LastContactAt = time.Time{}, time.Time{}
				if g != w || !lastOK {
					t.Errorf("host %d: %+v, want %+v", w.HostID, got[i], want[i])
				}
			}
			return nil
		})
	})

	t.Run("NoHosts", func(t *testing.T) {
		s := setup(t, newStore)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Contributor()
			f.Host(f.Contributor().ID)
			got, err := tx.ContributorEarnings(t.Context(), c.ID)
			if len(got) != 0 {
				t.Errorf("ContributorEarnings of a contributor without hosts = %+v, want none", got)
			}
			return err
		})
	})
}
