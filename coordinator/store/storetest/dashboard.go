package storetest

import (
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

func testDashboard(t *testing.T, newStore func(*testing.T) store.Store) {
	t.Run("EarningsByDay", func(t *testing.T) {
		s := setup(t, newStore)
		day := func(n int) time.Time { return t0.Truncate(24*time.Hour).AddDate(0, 0, n) }
		var c, other workunits.Contributor
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c, other = f.Contributor(), f.Contributor()
			job := f.Job(jobSpec{Units: 6, Reward: 1000})
			task := func(i int) int64 { return job.Tasks[i][0].ID }
			record := func(at time.Time, txs ...payouts.Transaction) {
				t.Helper()
				if _, err := tx.LedgerRecordMany(t.Context(), txs, at); err != nil {
					t.Fatalf("recording at %s: %v", at, err)
				}
			}
			record(day(-10), payouts.Fund(job.Job.ProjectID, 10_000, "r"), payouts.Escrow(job.Job.ID, job.Job.ProjectID, 6000))
			for i := range 6 {
				record(day(-10), payouts.Reserve(task(i), job.Job.ID, c.ID, 1000))
			}
			record(day(-5).Add(time.Hour), payouts.Post(task(0), c.ID, 1000, 0))                      // before the window
			record(day(-2).Add(time.Hour), payouts.Post(task(1), c.ID, 1000, 100))                    // 900
			record(day(-2).Add(23*time.Hour), payouts.Post(task(2), c.ID, 1000, 0))                   // 1000, same day
			record(day(0).Add(2*time.Hour), payouts.Clawback(task(2), c.ID, job.Job.ProjectID, 1000)) // -1000
			record(day(0).Add(2*time.Hour), payouts.Post(task(3), c.ID, 1000, 0),                     // 1000
				payouts.Hold(1, c.ID, 500)) // a payout: not earnings
			record(day(0).Add(3*time.Hour), payouts.Void(task(4), job.Job.ID, c.ID, 1000)) // nothing posted
			record(day(1), payouts.Post(task(5), c.ID, 1000, 0))                           // after the window
			return nil
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.ContributorEarningsByDay(t.Context(), c.ID, day(-3), day(1))
			if err != nil {
				return err
			}
			want := []store.DayMicros{{Day: day(-2), Micros: 1900}, {Day: day(0), Micros: 0}}
			if len(got) != len(want) {
				t.Fatalf("ContributorEarningsByDay = %+v, want %+v", got, want)
			}
			for i := range got {
				if !got[i].Day.Equal(want[i].Day) || got[i].Micros != want[i].Micros {
					t.Errorf("day %d: %+v, want %+v", i, got[i], want[i])
				}
			}
			if got, err := tx.ContributorEarningsByDay(t.Context(), other.ID, day(-30), day(1)); err != nil || len(got) != 0 {
				t.Errorf("another contributor's earnings by day = %+v, %v; want none", got, err)
			}
			if got, err := tx.ContributorEarningsByDay(t.Context(), c.ID, day(5), day(6)); err != nil || len(got) != 0 {
				t.Errorf("earnings by day after the ledger's end = %+v, %v; want none", got, err)
			}
			return nil
		})
	})

	t.Run("Rank", func(t *testing.T) {
		s := setup(t, newStore)
		var top, tied1, tied2, none workunits.Contributor
		inTx(t, s, func(tx store.Tx, f *factory) error {
			top, tied1, tied2, none = f.Contributor(), f.Contributor(), f.Contributor(), f.Contributor()
			job := f.Job(jobSpec{Units: 3})
			var tasks []workunits.Task
			var grants []store.CreditGrant
			for i, c := range []workunits.Contributor{top, tied1, tied2} {
				tk := reported(job.Tasks[i][0], f.Host(c.ID).ID, workunits.OutcomeSuccess, workunits.ValidateValid, time.Second)
				tasks = append(tasks, tk)
				grants = append(grants, store.CreditGrant{TaskID: tk.ID, Credit: map[int]float64{0: 50, 1: 10, 2: 10}[i]})
			}
			f.UpdateTasks(tasks...)
			return tx.CreditGrantMany(t.Context(), grants, t0)
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			for _, c := range []struct {
				who  workunits.Contributor
				rank int
			}{{top, 1}, {tied1, 2}, {tied2, 2}, {none, 4}} {
				rank, of, err := tx.ContributorRank(t.Context(), c.who.ID)
				if err != nil || rank != c.rank || of != 4 {
					t.Errorf("ContributorRank(%d) = %d of %d, %v; want %d of 4", c.who.ID, rank, of, err, c.rank)
				}
			}
			_, _, err := tx.ContributorRank(t.Context(), none.ID+1000)
			wantCode(t, err, workunits.ENOTFOUND)
			return nil
		})
	})

	t.Run("Hosts", func(t *testing.T) {
		s := setup(t, newStore)
		var c workunits.Contributor
		var h1, h2, idle workunits.Host
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c = f.Contributor()
			h1, h2, idle = f.Host(c.ID), f.Host(c.ID), f.Host(c.ID)
			stranger := f.Host(f.Contributor().ID)
			job := f.Job(jobSpec{Units: 4, Reward: 1000, Policy: workunits.Policy{MinQuorum: 2, TargetReplicas: 3}})
			const ok = workunits.OutcomeSuccess
			f.UpdateTasks(
				reported(job.Tasks[0][0], h1.ID, ok, workunits.ValidateValid, time.Second),
				reported(job.Tasks[0][1], h2.ID, ok, workunits.ValidateInvalid, time.Second),
				reported(job.Tasks[0][2], stranger.ID, ok, workunits.ValidateValid, time.Second),
				reported(job.Tasks[1][0], h1.ID, ok, workunits.ValidateValid, time.Second), // clawed back below
				reported(job.Tasks[1][1], h2.ID, workunits.OutcomeError, workunits.ValidatePending, time.Second),
				leased(job.Tasks[1][2], h1.ID, t0.Add(time.Hour)),
				reported(job.Tasks[2][0], h1.ID, ok, workunits.ValidatePending, time.Second),
				reported(job.Tasks[2][1], h1.ID, ok, workunits.ValidateInconclusive, time.Second),
				reported(job.Tasks[2][2], h2.ID, workunits.OutcomeNoReply, workunits.ValidatePending, 0),
				reported(job.Tasks[3][0], h2.ID, ok, workunits.ValidateUnchecked, time.Second),
			)
			blocked := workunits.HostQuota{HostID: h2.ID, BlockedAt: t0.Add(time.Minute), BlockedReason: "too many invalid results"}
			if err := tx.HostQuotaUpdateMany(t.Context(), []workunits.HostQuota{blocked}); err != nil {
				return err
			}
			_, err := tx.LedgerRecordMany(t.Context(), []payouts.Transaction{
				payouts.Fund(job.Job.ProjectID, 10_000, "r"), payouts.Escrow(job.Job.ID, job.Job.ProjectID, 10_000),
				payouts.Reserve(job.Tasks[0][0].ID, job.Job.ID, c.ID, 1000), payouts.Post(job.Tasks[0][0].ID, c.ID, 1000, 30),
				payouts.Reserve(job.Tasks[1][0].ID, job.Job.ID, c.ID, 1000), payouts.Post(job.Tasks[1][0].ID, c.ID, 1000, 30),
				payouts.Clawback(job.Tasks[1][0].ID, c.ID, job.Job.ProjectID, 970),
				payouts.Reserve(job.Tasks[0][2].ID, job.Job.ID, c.ID+1, 1000), payouts.Post(job.Tasks[0][2].ID, c.ID+1, 1000, 0),
			}, t0)
			return err
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.HostOverviewList(t.Context(), c.ID)
			if err != nil {
				return err
			}
			if len(got) != 3 || got[0].ID != h1.ID || got[1].ID != h2.ID || got[2].ID != idle.ID {
				t.Fatalf("HostOverviewList = %+v, want hosts %d, %d, %d in order", got, h1.ID, h2.ID, idle.ID)
			}
			want := []map[workunits.TaskStatus]int{
				{workunits.StatusValid: 2, workunits.StatusInProgress: 1, workunits.StatusPendingValidation: 2},
				{workunits.StatusInvalid: 1, workunits.StatusError: 2, workunits.StatusUnchecked: 1},
				{},
			}
			for i, h := range got {
				if g := nonZero(h.Tasks); !maps.Equal(g, want[i]) {
					t.Errorf("host %d tasks = %v, want %v", h.ID, g, want[i])
				}
				if h.Name == "" || h.Platform != "linux/amd64" || h.Cores != 8 || h.ContributorID != c.ID ||
					!sameMS(h.CreatedAt, t0) || !sameMS(h.LastContactAt, t0) {
					t.Errorf("host %d = %+v, want its name, platform, cores and times", h.ID, h.Host)
				}
			}
			if got[0].EarnedMicros != 970 || got[1].EarnedMicros != 0 || got[2].EarnedMicros != 0 {
				t.Errorf("earned = %d, %d, %d; want 970 (a post, and one clawed back), 0, 0",
					got[0].EarnedMicros, got[1].EarnedMicros, got[2].EarnedMicros)
			}
			if !got[0].BlockedAt.IsZero() || !sameMS(got[1].BlockedAt, t0.Add(time.Minute)) || got[1].BlockedReason != "too many invalid results" {
				t.Errorf("blocked = %v %q, %v %q; want only the second, with its reason",
					got[0].BlockedAt, got[0].BlockedReason, got[1].BlockedAt, got[1].BlockedReason)
			}
			none, err := tx.HostOverviewList(t.Context(), c.ID+1000)
			if err != nil || len(none) != 0 {
				t.Errorf("HostOverviewList of an unknown contributor = %+v, %v; want none", none, err)
			}
			return nil
		})
	})

	t.Run("Tasks", func(t *testing.T) {
		s := setup(t, newStore)
		var c workunits.Contributor
		var h1, h2 workunits.Host
		var a, b jobFixture
		inTx(t, s, func(tx store.Tx, f *factory) error {
			c = f.Contributor()
			h1, h2 = f.Host(c.ID), f.Host(c.ID)
			stranger := f.Host(f.Contributor().ID)
			a = f.Job(jobSpec{Units: 4, Reward: 1000, Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 2}})
			b = f.Job(jobSpec{Units: 2})
			const ok = workunits.OutcomeSuccess
			f.UpdateTasks(
				reported(a.Tasks[0][0], h1.ID, ok, workunits.ValidateValid, 2*time.Second),
				reported(a.Tasks[0][1], stranger.ID, ok, workunits.ValidateValid, time.Second),
				reported(a.Tasks[1][0], h2.ID, ok, workunits.ValidateInvalid, time.Second),
				leased(a.Tasks[1][1], h1.ID, t0.Add(time.Hour)),
				reported(a.Tasks[2][0], h1.ID, workunits.OutcomeError, workunits.ValidatePending, time.Second),
				reported(a.Tasks[3][0], h2.ID, ok, workunits.ValidatePending, time.Second),
				reported(b.Tasks[0][0], h1.ID, ok, workunits.ValidateValid, time.Second),
				leased(b.Tasks[1][0], h2.ID, t0.Add(time.Hour)),
			)
			if err := tx.CreditGrantMany(t.Context(), []store.CreditGrant{{TaskID: a.Tasks[0][0].ID, Credit: 12.5}}, t0); err != nil {
				return err
			}
			_, err := tx.LedgerRecordMany(t.Context(), []payouts.Transaction{
				payouts.Fund(a.Job.ProjectID, 10_000, "r"), payouts.Escrow(a.Job.ID, a.Job.ProjectID, 8000),
				payouts.Reserve(a.Tasks[0][0].ID, a.Job.ID, c.ID, 1000), payouts.Post(a.Tasks[0][0].ID, c.ID, 1000, 25),
			}, t0)
			return err
		})
		mine := []int64{a.Tasks[0][0].ID, a.Tasks[1][0].ID, a.Tasks[1][1].ID, a.Tasks[2][0].ID, a.Tasks[3][0].ID,
			b.Tasks[0][0].ID, b.Tasks[1][0].ID} // in id order: a's tasks were made first
		list := func(p store.ContributorTaskListParams) []store.ContributorTask {
			t.Helper()
			p.ContributorID = c.ID
			if p.Limit == 0 {
				p.Limit = 100
			}
			var got []store.ContributorTask
			inTx(t, s, func(tx store.Tx, f *factory) (err error) {
				got, err = tx.ContributorTaskList(t.Context(), p)
				return err
			})
			return got
		}
		ids := func(tasks []store.ContributorTask) []int64 {
			out := make([]int64, len(tasks))
			for i, tk := range tasks {
				out[i] = tk.TaskID
			}
			return out
		}
		newestFirst := func(ids ...int64) []int64 {
			out := make([]int64, len(ids))
			for i, id := range ids {
				out[len(ids)-1-i] = id
			}
			return out
		}

		all := list(store.ContributorTaskListParams{})
		if got, want := ids(all), newestFirst(mine...); !reflect.DeepEqual(got, want) {
			t.Fatalf("all tasks = %v, want %v (newest first, not the stranger's)", got, want)
		}
		first := all[len(all)-1]
		if first.TaskID != a.Tasks[0][0].ID || first.HostID != h1.ID || first.HostName != h1.Name ||
			first.ProjectID != a.Job.ProjectID || first.ProjectName == "" || first.App != "sim" || first.JobID != a.Job.ID ||
			first.UnitSeq != 0 || first.State != workunits.TaskOver || first.Outcome != workunits.OutcomeSuccess ||
			first.ValidateState != workunits.ValidateValid || !sameMS(first.SentAt, t0) || !sameMS(first.ReceivedAt, t0.Add(10*time.Minute)) ||
			first.CPUTime != 2*time.Second || first.Credit != 12.5 || first.RewardMicros != 975 {
			t.Errorf("task %d = %+v, want every field as reported, credit 12.5 and reward 975", a.Tasks[0][0].ID, first)
		}
		if inProgress := all[0]; inProgress.TaskID != b.Tasks[1][0].ID || !inProgress.ReceivedAt.IsZero() || inProgress.RewardMicros != 0 ||
			inProgress.UnitSeq != 1 {
			t.Errorf("task in progress = %+v, want no report, no reward, unit 1", inProgress)
		}

		// Pages of two, each after the last of the one before.
		var paged []int64
		for before := int64(0); ; {
			page := list(store.ContributorTaskListParams{BeforeID: before, Limit: 2})
			paged = append(paged, ids(page)...)
			if len(page) < 2 {
				break
			}
			before = page[len(page)-1].TaskID
		}
		if want := newestFirst(mine...); !reflect.DeepEqual(paged, want) {
			t.Errorf("paged = %v, want %v", paged, want)
		}

		match := func(s workunits.TaskStatus) workunits.TaskMatch {
			m, _ := s.Match()
			return m
		}
		for _, c := range []struct {
			name string
			p    store.ContributorTaskListParams
			want []int64
		}{
			{"valid", store.ContributorTaskListParams{Match: match(workunits.StatusValid)}, newestFirst(a.Tasks[0][0].ID, b.Tasks[0][0].ID)},
			{"in progress", store.ContributorTaskListParams{Match: match(workunits.StatusInProgress)}, newestFirst(a.Tasks[1][1].ID, b.Tasks[1][0].ID)},
			{"error", store.ContributorTaskListParams{Match: match(workunits.StatusError)}, []int64{a.Tasks[2][0].ID}},
			{"pending", store.ContributorTaskListParams{Match: match(workunits.StatusPendingValidation)}, []int64{a.Tasks[3][0].ID}},
			{"host", store.ContributorTaskListParams{HostID: h2.ID}, newestFirst(a.Tasks[1][0].ID, a.Tasks[3][0].ID, b.Tasks[1][0].ID)},
			{"project", store.ContributorTaskListParams{ProjectID: b.Job.ProjectID}, newestFirst(b.Tasks[0][0].ID, b.Tasks[1][0].ID)},
			{"app", store.ContributorTaskListParams{App: "sim", HostID: h1.ID, Match: match(workunits.StatusValid)},
				newestFirst(a.Tasks[0][0].ID, b.Tasks[0][0].ID)},
			{"another app", store.ContributorTaskListParams{App: "other"}, []int64{}},
			{"another's host", store.ContributorTaskListParams{HostID: h2.ID + 1000}, []int64{}},
		} {
			if got := ids(list(c.p)); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: tasks %v, want %v", c.name, got, c.want)
			}
		}
	})

	t.Run("Projects", func(t *testing.T) {
		s := setup(t, newStore)
		var busy, quiet workunits.Project
		inTx(t, s, func(tx store.Tx, f *factory) error {
			busy, quiet = f.Project(), f.Project()
			if err := tx.ProjectDescriptionSet(t.Context(), busy.ID, "Folding proteins for cancer research."); err != nil {
				return err
			}
			wantCode(t, tx.ProjectDescriptionSet(t.Context(), quiet.ID+1000, "x"), workunits.ENOTFOUND)
			running := f.Job(jobSpec{ProjectID: busy.ID, Units: 4})
			done := f.Job(jobSpec{ProjectID: busy.ID, Units: 3})
			cancelled := f.Job(jobSpec{ProjectID: busy.ID, Units: 5})
			u := running.Units[0]
			u.State, u.FinishedAt = workunits.UnitDone, t0
			v := running.Units[1]
			v.State, v.FinishedAt, v.Error = workunits.UnitFailed, t0, "no quorum"
			f.UpdateUnits(u, v)
			f.fail("finishing a job", tx.JobFinish(t.Context(), done.Job.ID, t0))
			_, err := tx.JobCancel(t.Context(), cancelled.Job.ID, "job cancelled")
			f.fail("cancelling a job", err)

			for _, m := range []store.MemberInsertParams{
				{ProjectID: busy.ID, Name: "Ada", Email: "Ada@Example.org", Role: workunits.RoleResearcher, Now: t0},
				{ProjectID: quiet.ID, Name: "Ada", Email: "ada@example.org", Role: workunits.RoleViewer, Now: t0},
			} {
				if _, err := tx.MemberInsert(t.Context(), m); err != nil {
					return err
				}
			}
			gone, err := tx.MemberInsert(t.Context(), store.MemberInsertParams{ProjectID: f.Project().ID, Name: "Ada",
				Email: "ada@example.org", Role: workunits.RoleAdmin, Now: t0})
			if err != nil {
				return err
			}
			_, err = tx.MemberRemove(t.Context(), gone.ProjectID, gone.ID, t0)
			return err
		})
		inTx(t, s, func(tx store.Tx, f *factory) error {
			got, err := tx.ProjectSummaryList(t.Context())
			if err != nil {
				return err
			}
			byID := map[int64]store.ProjectSummary{}
			for _, p := range got {
				byID[p.ID] = p
			}
			want := store.ProjectSummary{ID: busy.ID, Name: busy.Name, Description: "Folding proteins for cancer research.",
				JobsActive: 1, JobsDone: 1, UnitsTotal: 7, UnitsDone: 5}
			g := byID[busy.ID]
			createdOK := sameMS(g.CreatedAt, t0)
			g.CreatedAt = time.Time{}
			if g != want || !createdOK {
				t.Errorf("busy project = %+v, want %+v", byID[busy.ID], want)
			}
			if q := byID[quiet.ID]; q.Name != quiet.Name || q.JobsActive+q.JobsDone+q.UnitsTotal+q.UnitsDone != 0 || q.Description != "" {
				t.Errorf("quiet project = %+v, want no jobs", q)
			}

			mine, err := tx.ProjectListByMemberEmail(t.Context(), "ADA@example.ORG")
			if err != nil {
				return err
			}
			wantMine := []store.MemberOf{
				{ProjectID: busy.ID, Name: busy.Name, Description: "Folding proteins for cancer research.", Role: workunits.RoleResearcher},
				{ProjectID: quiet.ID, Name: quiet.Name, Role: workunits.RoleViewer},
			}
			if !reflect.DeepEqual(mine, wantMine) {
				t.Errorf("ProjectListByMemberEmail = %+v, want %+v (not the project she left)", mine, wantMine)
			}
			for _, email := range []string{"", "bob@example.org"} {
				if got, err := tx.ProjectListByMemberEmail(t.Context(), email); err != nil || len(got) != 0 {
					t.Errorf("ProjectListByMemberEmail(%q) = %+v, %v; want none", email, got, err)
				}
			}
			return nil
		})
	})
}
