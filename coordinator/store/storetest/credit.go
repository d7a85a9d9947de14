package storetest

import (
	"math"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// closeTo reports whether a and b agree to a relative 1e-9: credit is a
// float, and drivers may compute decay in SQL.
func closeTo(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func wantTotals(t *testing.T, what string, got store.CreditTotals, total, rac float64) {
	t.Helper()
	if !closeTo(got.Total, total) || !closeTo(got.RAC, rac) {
		t.Errorf("%s: total %v, RAC %v; want %v, %v", what, got.Total, got.RAC, total, rac)
	}
}

func testCredit(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("Benchmarks", func(t *testing.T) {
		s := setup(t, newStore)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Contributor()
			fast, slow, none := f.Host(c.ID), f.Host(c.ID), f.Host(c.ID)
			for _, set := range []struct {
				h   int64
				ops float64
			}{{fast.ID, 5e9}, {slow.ID, 1e9}, {slow.ID, 1e9}, {fast.ID, 4e9}} {
				if err := tx.HostOpsPerSecondSet(t.Context(), set.h, set.ops); err != nil {
					return err
				}
			}
			got, err := tx.HostOpsPerSecondMany(t.Context(), []int64{fast.ID, slow.ID, none.ID})
			if err != nil {
				return err
			}
			if len(got) != 2 || got[fast.ID] != 4e9 || got[slow.ID] != 1e9 {
				t.Errorf("benchmarks = %v, want fast 4e9, slow 1e9 and none for the host without", got)
			}
			est := workunits.Estimates{Ops: 7e11, MemoryMiB: 10, DiskMiB: 20, Deadline: 3 * time.Hour}
			p := f.Project()
			v, err := tx.AppVersionInsert(t.Context(), store.AppVersionInsertParams{ProjectID: p.ID, AppName: "est",
				ModuleSHA256: f.Module(), Size: 1, Now: t0, Estimates: est})
			if err != nil {
				return err
			}
			ests, err := tx.AppVersionEstimatesMany(t.Context(), []int64{v.ID, v.ID + 1000})
			if err != nil {
				return err
			}
			if len(ests) != 1 || ests[v.ID] != est {
				t.Errorf("estimates = %+v, want only %d: %+v", ests, v.ID, est)
			}
			return nil
		})
	})

	t.Run("GrantedCreditOfUnits", func(t *testing.T) {
		s := setup(t, newStore)
		inTx(t, s, func(tx store.Tx, f *factory) error {
			j := f.Job(jobSpec{Units: 3})
			ids := j.UnitIDs()
			if err := tx.UnitGrantedCreditSetMany(t.Context(), map[int64]float64{ids[0]: 1.5, ids[1]: 0}); err != nil {
				return err
			}
			// A unit's granted credit is fixed once: late results get the same.
			if err := tx.UnitGrantedCreditSetMany(t.Context(), map[int64]float64{ids[0]: 9}); err != nil {
				return err
			}
			got, err := tx.UnitGrantedCreditMany(t.Context(), ids)
			if err != nil {
				return err
			}
			if len(got) != 2 || got[ids[0]] != 1.5 || got[ids[1]] != 0 {
				t.Errorf("granted = %v, want unit 0: 1.5, unit 1: 0, none for unit 2", got)
			}
			return nil
		})
	})

	t.Run("Grant", func(t *testing.T) {
		s := setup(t, newStore)
		var a, b workunits.Contributor
		var a1, a2, b1 workunits.Host
		var j jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			a, b = f.Contributor(), f.Contributor()
			a1, a2, b1 = f.Host(a.ID), f.Host(a.ID), f.Host(b.ID)
			j = f.Job(jobSpec{Units: 2, Policy: workunits.Policy{MinQuorum: 2, TargetReplicas: 3}})
			f.UpdateTasks(
				reported(j.Tasks[0][0], a1.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second),
				reported(j.Tasks[0][1], b1.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second),
				reported(j.Tasks[1][0], a2.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second),
				reported(j.Tasks[1][1], b1.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second),
			)
			return tx.CreditGrantMany(t.Context(), []store.CreditGrant{
				{TaskID: j.Tasks[0][0].ID, Credit: 2}, {TaskID: j.Tasks[0][1].ID, Credit: 2},
				{TaskID: j.Tasks[1][0].ID, Credit: 3}, {TaskID: j.Tasks[1][1].ID, Credit: 3},
			}, t0)
		})
		rac := func(c float64) float64 { return payouts.RACAdd(0, time.Time{}, c, t0) }
		read := func(id int64, now time.Time) store.ContributorCredit {
			t.Helper()
			var c store.ContributorCredit
			if err := s.InReadTx(t.Context(), func(tx store.Tx) (err error) {
				c, err = tx.ContributorCreditGet(t.Context(), id, now)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return c
		}
		ca := read(a.ID, t0)
		wantTotals(t, "contributor a", ca.CreditTotals, 5, rac(5))
		wantTotals(t, "host a1", ca.Hosts[a1.ID], 2, rac(2))
		wantTotals(t, "host a2", ca.Hosts[a2.ID], 3, rac(3))
		cb := read(b.ID, t0)
		wantTotals(t, "contributor b", cb.CreditTotals, 5, rac(5))
		if len(cb.Hosts) != 1 {
			t.Errorf("contributor b's hosts = %v, want b1 only", cb.Hosts)
		}

		// A week without credit halves RAC; the total stays.
		week := t0.Add(payouts.RACHalfLife)
		wantTotals(t, "contributor a a week on", read(a.ID, week).CreditTotals, 5, rac(5)/2)

		// A repeated grant counts once; a new one adds to the decayed RAC.
		inTx(t, s, func(tx store.Tx, f *factory) error {
			f.UpdateTasks(reported(j.Tasks[0][2], a1.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second))
			return tx.CreditGrantMany(t.Context(), []store.CreditGrant{
				{TaskID: j.Tasks[0][0].ID, Credit: 2}, {TaskID: j.Tasks[0][2].ID, Credit: 2}}, week)
		})
		ca = read(a.ID, week)
		wantTotals(t, "contributor a after a late grant", ca.CreditTotals, 7, rac(5)/2+rac(2))
		wantTotals(t, "host a1 after a late grant", ca.Hosts[a1.ID], 4, rac(2)/2+rac(2))
		wantTotals(t, "contributor b untouched", read(b.ID, week).CreditTotals, 5, rac(5)/2)

		var board []store.CreditStanding
		if err := s.InReadTx(t.Context(), func(tx store.Tx) (err error) {
			board, err = tx.ContributorLeaderboard(t.Context(), 0, 10, week)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(board) != 2 || board[0].ContributorID != a.ID || board[1].ContributorID != b.ID || board[0].Name != a.Name {
			t.Errorf("leaderboard = %+v, want a then b", board)
		}
		// Only a contributor who opted in has a public name.
		for _, c := range board {
			if c.PublicName != "" {
				t.Errorf("before opting in, %d's public name is %q", c.ContributorID, c.PublicName)
			}
		}
		if err := s.InTx(t.Context(), func(tx store.Tx) (err error) {
			if _, err := tx.ContributorProfileSet(t.Context(), store.ContributorProfileParams{ID: a.ID, DisplayName: "Night owl", LeaderboardOptIn: true}); err != nil {
				return err
			}
			board, err = tx.ContributorLeaderboard(t.Context(), 0, 10, week)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(board) != 2 || board[0].PublicName != "Night owl" || board[1].PublicName != "" {
			t.Errorf("after a opts in, leaderboard = %+v, want a named Night owl and b anonymous", board)
		}
	})

	t.Run("Teams", func(t *testing.T) {
		s := setup(t, newStore)
		ctx := t.Context()
		var a, b, c workunits.Contributor
		var red, blue store.Team
		inTx(t, s, func(tx store.Tx, f *factory) error {
			a, b, c = f.Contributor(), f.Contributor(), f.Contributor()
			ha, hb, hc := f.Host(a.ID), f.Host(b.ID), f.Host(c.ID)
			var err error
			if red, err = tx.TeamInsert(ctx, store.TeamInsertParams{Name: "Red", Description: "the reds", CreatedBy: a.ID, Now: t0}); err != nil {
				return err
			}
			if blue, err = tx.TeamInsert(ctx, store.TeamInsertParams{Name: "Blue", CreatedBy: c.ID, Now: t0}); err != nil {
				return err
			}
			_, err = tx.TeamInsert(ctx, store.TeamInsertParams{Name: "rED", CreatedBy: b.ID, Now: t0})
			wantCode(t, err, workunits.ECONFLICT)
			wantCode(t, tx.TeamJoin(ctx, a.ID, blue.ID+red.ID+100), workunits.ENOTFOUND)
			for _, m := range []struct{ c, team int64 }{{a.ID, red.ID}, {b.ID, blue.ID}, {b.ID, red.ID}, {c.ID, blue.ID}} {
				if err := tx.TeamJoin(ctx, m.c, m.team); err != nil {
					return err
				}
			}
			j := f.Job(jobSpec{Units: 1, Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 3}})
			f.UpdateTasks(
				reported(j.Tasks[0][0], ha.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second),
				reported(j.Tasks[0][1], hb.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second),
				reported(j.Tasks[0][2], hc.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second),
			)
			return tx.CreditGrantMany(ctx, []store.CreditGrant{
				{TaskID: j.Tasks[0][0].ID, Credit: 1}, {TaskID: j.Tasks[0][1].ID, Credit: 2}, {TaskID: j.Tasks[0][2].ID, Credit: 4}}, t0)
		})
		rac := func(c float64) float64 { return payouts.RACAdd(0, time.Time{}, c, t0) }
		week := t0.Add(payouts.RACHalfLife)
		if err := s.InReadTx(ctx, func(tx store.Tx) error {
			got, err := tx.TeamGet(ctx, red.ID, week)
			if err != nil {
				return err
			}
			if got.Name != "Red" || got.Description != "the reds" || got.CreatedBy != a.ID || !sameMS(got.CreatedAt, t0) || got.Members != 2 {
				t.Errorf("team red = %+v", got)
			}
			wantTotals(t, "team red", got.CreditTotals, 3, rac(3)/2)
			members, err := tx.TeamMemberList(ctx, red.ID, week)
			if err != nil {
				return err
			}
			if len(members) != 2 || members[0].ContributorID != b.ID || members[1].ContributorID != a.ID || members[0].TeamID != red.ID {
				t.Errorf("red's members = %+v, want b then a", members)
			}
			teams, err := tx.TeamList(ctx, 0, 10, week)
			if err != nil {
				return err
			}
			if len(teams) != 2 || teams[0].ID != blue.ID || teams[1].ID != red.ID {
				t.Errorf("teams = %+v, want blue (4) then red (3)", teams)
			} else {
				wantTotals(t, "team blue", teams[0].CreditTotals, 4, rac(4)/2)
			}
			page, err := tx.TeamList(ctx, 1, 10, week)
			if err != nil {
				return err
			}
			if len(page) != 1 || page[0].ID != red.ID {
				t.Errorf("teams after the first = %+v, want red", page)
			}
			_, err = tx.TeamGet(ctx, red.ID+blue.ID+100, week)
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			if err := tx.TeamLeave(ctx, b.ID); err != nil {
				return err
			}
			if err := tx.TeamLeave(ctx, b.ID); err != nil { // not in a team: nothing to do
				return err
			}
			got, err := tx.TeamGet(ctx, red.ID, t0)
			if err != nil {
				return err
			}
			wantTotals(t, "team red after b left", got.CreditTotals, 1, rac(1))
			cc, err := tx.ContributorCreditGet(ctx, b.ID, t0)
			if err != nil {
				return err
			}
			if cc.TeamID != 0 {
				t.Errorf("b's team after leaving = %d, want none", cc.TeamID)
			}
			return nil
		})
	})
}
