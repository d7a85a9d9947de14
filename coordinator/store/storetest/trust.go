package storetest

import (
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testTrust(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("QuotaRoundTrip", func(t *testing.T) {
		s := setup(t, newStore)
		var a, b workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c := f.Contributor()
			a, b = f.Host(c.ID), f.Host(c.ID)
			return nil
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.HostQuotaGetMany(t.Context(), []int64{b.ID, a.ID})
			if err != nil {
				return err
			}
			want := []workunits.HostQuota{{HostID: a.ID}, {HostID: b.ID}}
			if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
				t.Errorf("fresh hosts' quotas = %+v, want %+v", got, want)
			}
			return nil
		})
		blocked := workunits.HostQuota{HostID: b.ID, DailyQuota: 25, LeasedToday: 7, QuotaDay: workunits.Day(t0),
			InvalidStreak: 3, BlockedAt: t0.Add(time.Minute), BlockedReason: "3 invalid results in a row"}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			return tx.HostQuotaUpdateMany(t.Context(), []workunits.HostQuota{blocked})
		})
		err := s.InReadTx(t.Context(), func(tx store.Tx) error {
			got, err := tx.HostQuotaGetMany(t.Context(), []int64{a.ID, b.ID})
			if err != nil {
				return err
			}
			if len(got) != 2 || got[0] != (workunits.HostQuota{HostID: a.ID}) || !sameQuota(got[1], blocked) {
				t.Errorf("after update: %+v, want host %d untouched and %+v", got, a.ID, blocked)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("QuotaUnknownHost", func(t *testing.T) {
		s := setup(t, newStore)
		err := s.InTx(t.Context(), func(tx store.Tx) error {
			_, err := tx.HostQuotaGetMany(t.Context(), []int64{987654})
			return err
		})
		wantCode(t, err, workunits.ENOTFOUND)
		err = s.InTx(t.Context(), func(tx store.Tx) error {
			return tx.HostQuotaUpdateMany(t.Context(), []workunits.HostQuota{{HostID: 987654, DailyQuota: 3}})
		})
		wantCode(t, err, workunits.ENOTFOUND)
	})

	t.Run("TrustUpsert", func(t *testing.T) {
		s := setup(t, newStore)
		var h, other workunits.Host
		var v1, v2 workunits.AppVersion
		inTx(t, s, func(tx store.Tx, f *factory) error {
			h, other = f.Host(f.Contributor().ID), f.Host(f.Contributor().ID)
			p := f.Project().ID
			v1, v2 = f.AppVersion(p, "sim"), f.AppVersion(p, "sim")
			return nil
		})
		first := []workunits.HostTrust{
			{HostID: h.ID, AppVersionID: v2.ID, ConsecutiveValid: 1, ValidTotal: 1, LastVerifiedAt: t0},
			{HostID: h.ID, AppVersionID: v1.ID, InvalidTotal: 1},
		}
		inTx(t, s, func(tx store.Tx, f *factory) error { return tx.HostTrustUpsertMany(t.Context(), first) })
		second := workunits.HostTrust{HostID: h.ID, AppVersionID: v2.ID, ConsecutiveValid: 12, ValidTotal: 14,
			InvalidTotal: 2, SpotCheckFailures: 1, LastVerifiedAt: t0.Add(time.Hour)}
		inTx(t, s, func(tx store.Tx, f *factory) error {
			return tx.HostTrustUpsertMany(t.Context(), []workunits.HostTrust{second})
		})
		err := s.InReadTx(t.Context(), func(tx store.Tx) error {
			keys := []store.HostAppVersion{
				{HostID: h.ID, AppVersionID: v1.ID}, {HostID: h.ID, AppVersionID: v2.ID}, {HostID: other.ID, AppVersionID: v1.ID},
			}
			got, err := tx.HostTrustGetMany(t.Context(), keys)
			if err != nil {
				return err
			}
			if len(got) != 2 || !sameTrust(got[keys[0]], first[1]) || !sameTrust(got[keys[1]], second) {
				t.Errorf("HostTrustGetMany = %+v, want %+v and %+v, none for host %d", got, first[1], second, other.ID)
			}
			list, err := tx.HostTrustList(t.Context(), h.ID)
			if err != nil {
				return err
			}
			if len(list) != 2 || !sameTrust(list[0], first[1]) || !sameTrust(list[1], second) {
				t.Errorf("HostTrustList = %+v, want version %d then %d", list, v1.ID, v2.ID)
			}
			if list, err = tx.HostTrustList(t.Context(), other.ID); err != nil || len(list) != 0 {
				t.Errorf("HostTrustList(other) = %+v, %v; want none", list, err)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	// Adaptive jobs and tasks accepted on trust are stored as such.
	t.Run("AdaptiveAndOnTrust", func(t *testing.T) {
		s := setup(t, newStore)
		var job jobFixture
		var h workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			h = f.Host(f.Contributor().ID)
			job = f.Job(jobSpec{Policy: workunits.Policy{MinQuorum: 2, TargetReplicas: 2, Adaptive: true}})
			tk := reported(job.Tasks[0][0], h.ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second)
			tk.OnTrust = true
			f.UpdateTasks(tk)
			return nil
		})
		err := s.InReadTx(t.Context(), func(tx store.Tx) error {
			j, err := tx.JobGet(t.Context(), job.Job.ID)
			if err != nil {
				return err
			}
			if !j.Policy.Adaptive {
				t.Errorf("job %d is not adaptive after a round trip", j.ID)
			}
			tasks, err := tx.TaskListByUnits(t.Context(), job.UnitIDs())
			if err != nil {
				return err
			}
			for _, tk := range tasks {
				if want := tk.ID == job.Tasks[0][0].ID; tk.OnTrust != want {
					t.Errorf("task %d OnTrust = %v, want %v", tk.ID, tk.OnTrust, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func sameQuota(a, b workunits.HostQuota) bool {
	return sameMS(a.QuotaDay, b.QuotaDay) && sameMS(a.BlockedAt, b.BlockedAt) &&
		a.HostID == b.HostID && a.DailyQuota == b.DailyQuota && a.LeasedToday == b.LeasedToday &&
		a.InvalidStreak == b.InvalidStreak && a.BlockedReason == b.BlockedReason
}

func sameTrust(a, b workunits.HostTrust) bool {
	la, lb := a.LastVerifiedAt, b.LastVerifiedAt
	a.LastVerifiedAt, b.LastVerifiedAt = time.Time{}, time.Time{}
	return a == b && sameMS(la, lb)
}
