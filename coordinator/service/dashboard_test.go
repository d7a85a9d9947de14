package service

import (
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/workunits"
)

// TestDashboard: two contributors agree on a unit yesterday and on another
// today; what ada's dashboard shows is what the ledger posted to her, day
// by day, per host and per task, and her pages refuse bad input.
func TestDashboard(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		m := setupMoney(t, b)
		const reward, fee = 1000, 1000 * 250 / 10_000
		ada, hostA := m.host(t, "ada")
		bob, hostB := m.host(t, "bob")
		quorum := workunits.Policy{MinQuorum: 2, TargetReplicas: 2, MaxTotalReplicas: 2}
		today := b.now
		var adaTasks []int64
		for _, at := range []time.Time{today.AddDate(0, 0, -1), today} {
			b.now = at
			m.submit(reward, 1, quorum)
			ta, tb := m.lease(hostA), m.lease(hostB)
			m.report(hostA, ta, "42")
			m.report(hostB, tb, "42")
			m.pay(4) // two reserves, two posts
			adaTasks = append(adaTasks, ta)
		}
		b.now = today.Add(time.Hour)
		running := m.submit(reward, 1, quorum)
		inProgress := m.lease(hostA)

		hist, err := b.svc.EarningsByDay(m.ctx, ada.ID, 7, b.now)
		if err != nil {
			t.Fatal(err)
		}
		midnight := today.Truncate(24 * time.Hour)
		if len(hist.Days) != 7 || !hist.Days[0].Day.Equal(midnight.AddDate(0, 0, -6)) || !hist.Days[6].Day.Equal(midnight) {
			t.Fatalf("days = %+v, want the 7 days ending %s", hist.Days, midnight)
		}
		for i, d := range hist.Days {
			want := int64(0)
			if i >= 5 {
				want = reward - fee
			}
			if d.Micros != want {
				t.Errorf("day %s: %d, want %d", d.Day, d.Micros, want)
			}
		}
		if hist.TotalMicros != 2*(reward-fee) || hist.ThisWeekMicros != 2*(reward-fee) || hist.LastWeekMicros != 0 {
			t.Errorf("history = total %d, this week %d, last week %d; want %d, %d, 0",
				hist.TotalMicros, hist.ThisWeekMicros, hist.LastWeekMicros, 2*(reward-fee), 2*(reward-fee))
		}
		// Seen a week later, the same earnings are last week's.
		later, err := b.svc.EarningsByDay(m.ctx, ada.ID, 1, b.now.AddDate(0, 0, 7))
		if err != nil || later.ThisWeekMicros != 0 || later.LastWeekMicros != 2*(reward-fee) || len(later.Days) != 1 || later.TotalMicros != 0 {
			t.Errorf("a week later = %+v, %v; want it all last week", later, err)
		}

		hosts, err := b.svc.HostsOverview(m.ctx, ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hosts) != 1 {
			t.Fatalf("ada's hosts = %+v, want one", hosts)
		}
		if h := hosts[0]; h.ID != hostA.ID || h.Name != hostA.Name || h.TasksDone != 2 || h.TasksValid != 2 || h.TasksInProgress != 1 ||
			h.EarnedMicros != 2*(reward-fee) || h.Blocked || h.State != nil {
			t.Errorf("ada's host = %+v, want 2 valid tasks done, 1 in progress, %d earned", h, 2*(reward-fee))
		}
		// Once the host has said what it is doing, the overview shows it.
		said := workunits.HostState{State: "suspended", Reason: "user_active", Detail: "input 3s ago"}
		if _, err := b.svc.HostContact(m.ctx, hostA, said); err != nil {
			t.Fatal(err)
		}
		if hosts, err = b.svc.HostsOverview(m.ctx, ada.ID); err != nil {
			t.Fatal(err)
		}
		if st := hosts[0].State; st == nil || st.State != said.State || st.Reason != said.Reason || st.Detail != said.Detail || st.At.IsZero() {
			t.Errorf("ada's host state = %+v, want what it said: %+v", st, said)
		}

		rank, err := b.svc.ContributorRank(m.ctx, ada.ID)
		if err != nil || rank.Of != 2 || rank.Position < 1 || rank.Position > 2 {
			t.Errorf("ada's rank = %+v, %v; want a place of 2", rank, err)
		}

		page, err := b.svc.ContributorTasks(m.ctx, ada.ID, TaskFilter{}, PageRequest{Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Tasks) != 2 || page.Tasks[0].ID != inProgress || page.Tasks[0].Status != workunits.StatusInProgress ||
			page.Tasks[0].JobID != running.ID || page.Tasks[1].ID != adaTasks[1] || page.Tasks[1].Status != workunits.StatusValid ||
			page.Tasks[1].RewardMicros != reward-fee || page.Tasks[1].App != "app" || page.Tasks[1].ProjectName != "lab" || page.Next == "" {
			t.Fatalf("first page = %+v, want the task in progress, then today's valid one, and a next page", page)
		}
		next, err := b.svc.ContributorTasks(m.ctx, ada.ID, TaskFilter{}, PageRequest{Cursor: page.Next, Limit: 2})
		if err != nil || len(next.Tasks) != 1 || next.Tasks[0].ID != adaTasks[0] || next.Next != "" {
			t.Errorf("second page = %+v, %v; want yesterday's task and no more", next, err)
		}
		valid, err := b.svc.ContributorTasks(m.ctx, ada.ID, TaskFilter{Status: workunits.StatusValid, HostID: hostA.ID}, PageRequest{})
		if err != nil || len(valid.Tasks) != 2 || valid.Next != "" {
			t.Errorf("valid tasks = %+v, %v; want 2", valid, err)
		}

		projects, err := b.svc.PublicProjects(m.ctx)
		if err != nil || len(projects) != 1 || projects[0].UnitsTotal != 3 || projects[0].UnitsDone != 2 ||
			projects[0].JobsDone != 2 || projects[0].JobsActive != 1 || projects[0].PercentDone < 66 || projects[0].PercentDone > 67 {
			t.Errorf("public projects = %+v, %v; want lab, 2 of 3 units done", projects, err)
		}

		if _, _, err := b.svc.CreateProjectWith(m.ctx, NewProject{Name: "clinic", Admin: &NewMember{Name: "Grace", Email: "Grace@Example.org"}}); err != nil {
			t.Fatal(err)
		}
		mine, err := b.svc.MemberProjectsByEmail(m.ctx, "grace@example.ORG")
		if err != nil || len(mine) != 1 || mine[0].Name != "clinic" || mine[0].Role != workunits.RoleAdmin || len(mine[0].Jobs) != 0 {
			t.Errorf("grace's projects = %+v, %v; want clinic, as admin, no jobs", mine, err)
		}

		for _, c := range []struct {
			name string
			err  error
		}{
			{"no days", second(b.svc.EarningsByDay(m.ctx, ada.ID, 0, b.now))},
			{"negative days", second(b.svc.EarningsByDay(m.ctx, ada.ID, -7, b.now))},
			{"too many days", second(b.svc.EarningsByDay(m.ctx, ada.ID, MaxEarningsDays+1, b.now))},
			{"negative limit", second(b.svc.ContributorTasks(m.ctx, ada.ID, TaskFilter{}, PageRequest{Limit: -1}))},
			{"limit too high", second(b.svc.ContributorTasks(m.ctx, ada.ID, TaskFilter{}, PageRequest{Limit: MaxTaskPage + 1}))},
			{"malformed cursor", second(b.svc.ContributorTasks(m.ctx, ada.ID, TaskFilter{}, PageRequest{Cursor: "not-a-cursor"}))},
			{"forged cursor", second(b.svc.ContributorTasks(m.ctx, ada.ID, TaskFilter{}, PageRequest{Cursor: "dDE6LTU"}))}, // "t1:-5"
			{"unknown state", second(b.svc.ContributorTasks(m.ctx, ada.ID, TaskFilter{Status: "done"}, PageRequest{}))},
			{"no email", second(b.svc.MemberProjectsByEmail(m.ctx, " "))},
		} {
			if code := workunits.ErrorCode(c.err); code != workunits.EINVALID || workunits.ErrorMessage(c.err) == "" {
				t.Errorf("%s: error %v (code %q), want %q with a message", c.name, c.err, code, workunits.EINVALID)
			}
		}
		// Bob's host is not ada's to list.
		_, err = b.svc.ContributorTasks(m.ctx, ada.ID, TaskFilter{HostID: hostB.ID}, PageRequest{})
		if code := workunits.ErrorCode(err); code != workunits.ENOTFOUND {
			t.Errorf("ada listing bob's host: %v, want %q", err, workunits.ENOTFOUND)
		}
		if _, err := b.svc.ContributorRank(m.ctx, bob.ID+1000); workunits.ErrorCode(err) != workunits.ENOTFOUND {
			t.Errorf("rank of an unknown contributor: %v, want %q", err, workunits.ENOTFOUND)
		}
	})
}
