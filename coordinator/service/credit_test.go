package service

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

func TestCredit(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	est := float64(workunits.DefaultEstimates.Ops) // the app's estimate
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

	host := func(name string, ops float64) (workunits.Contributor, workunits.Host) {
		t.Helper()
		c, _, err := b.svc.CreateContributor(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := b.svc.RegisterHost(ctx, c.ID, HostInfo{Name: name, Platform: "test", Cores: 1, OpsPerSecond: ops})
		if err != nil {
			t.Fatal(err)
		}
		return c, h
	}
	lease := func(h workunits.Host) int64 {
		t.Helper()
		l, err := b.svc.LeaseTasks(ctx, h.ID, 1, nil)
		if err != nil || len(l) != 1 {
			t.Fatalf("host %s leased %d tasks (%v), want 1", h.Name, len(l), err)
		}
		return l[0].TaskID
	}
	report := func(h workunits.Host, task int64, cpu time.Duration) {
		t.Helper()
		if err := b.svc.ReportResults(ctx, h.ID, []workunits.Report{{TaskID: task,
			Outcome: workunits.OutcomeSuccess, Output: []byte("42"), CPUTime: cpu}}); err != nil {
			t.Fatal(err)
		}
	}
	run := func(h workunits.Host, cpu time.Duration) { t.Helper(); report(h, lease(h), cpu) }
	credit := func(c workunits.Contributor) (float64, float64) {
		t.Helper()
		cc, err := b.svc.ContributorCredit(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		return cc.Total, cc.RAC
	}
	submit := func(quorum, target int) {
		t.Helper()
		if _, err := b.svc.SubmitJob(ctx, b.project.ID, JobRequest{App: "app", Inputs: [][]byte{[]byte(`{"x":1}`)},
			Policy: workunits.Policy{MinQuorum: quorum, TargetReplicas: target, Deadline: time.Hour}}); err != nil {
			t.Fatal(err)
		}
	}

	if _, _, err := b.svc.RegisterHost(ctx, 1, HostInfo{Name: "x", Platform: "test", Cores: 1, OpsPerSecond: -1}); workunits.ErrorCode(err) != workunits.EINVALID {
		t.Errorf("a negative benchmark: %v, want invalid", err)
	}
	if err := b.svc.SetHostBenchmark(ctx, 1, 2e13); workunits.ErrorCode(err) != workunits.EINVALID {
		t.Errorf("a benchmark above the bound: %v, want invalid", err)
	}

	// Two hosts of different speeds agree: both get the lesser claim.
	fast, fastHost := host("fast", 2e9)
	slow, slowHost := host("slow", 1e9)
	late, lateHost := host("late", 0) // no benchmark: claims the estimate
	submit(2, 3)
	lateTask := lease(lateHost)
	run(fastHost, 100*time.Second)
	run(slowHost, 100*time.Second)
	want := payouts.ClaimedCredit(100*time.Second, 1e9, int64(est))
	if !near(want, 1e11/payouts.OpsPerCredit) {
		t.Fatalf("slow host's claim = %v", want)
	}
	for _, c := range []workunits.Contributor{fast, slow} {
		if total, rac := credit(c); !near(total, want) || !near(rac, payouts.RACAdd(0, time.Time{}, want, b.now)) {
			t.Errorf("%s: credit %v, RAC %v; want %v (the least claim of the quorum)", c.Name, total, rac, want)
		}
	}
	// A result found valid after the unit is done gets the same credit,
	// though it claims the whole estimate.
	report(lateHost, lateTask, time.Hour)
	if total, _ := credit(late); !near(total, want) {
		t.Errorf("late valid result: credit %v, want the unit's %v", total, want)
	}

	// An inflated benchmark claims at most twice the estimate.
	cheat, cheatHost := host("cheat", payouts.MaxOpsPerSecond)
	submit(1, 1)
	run(cheatHost, 100*time.Second)
	if total, _ := credit(cheat); !near(total, 2*est/payouts.OpsPerCredit) {
		t.Errorf("inflated benchmark: credit %v, want the cap %v", total, 2*est/payouts.OpsPerCredit)
	}

	// A week without credit halves RAC; the total stays.
	total0, rac0 := credit(fast)
	b.now = b.now.Add(payouts.RACHalfLife)
	if total, rac := credit(fast); total != total0 || !near(rac, rac0/2) {
		t.Errorf("a week on: credit %v, RAC %v; want %v, %v", total, rac, total0, rac0/2)
	}

	// A team's credit is its members'.
	tm, err := b.svc.CreateTeam(ctx, fast.ID, "  Speed  ", "fast and slow")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.CreateTeam(ctx, late.ID, "speed", ""); workunits.ErrorCode(err) != workunits.ECONFLICT {
		t.Errorf("a taken team name in another case: %v, want conflict", err)
	}
	if _, err := b.svc.CreateTeam(ctx, late.ID, string(make([]byte, MaxTeamName+1)), ""); workunits.ErrorCode(err) != workunits.EINVALID {
		t.Errorf("a long team name: %v, want invalid", err)
	}
	if err := b.svc.JoinTeam(ctx, slow.ID, tm.ID); err != nil {
		t.Fatal(err)
	}
	got, members, err := b.svc.Team(ctx, tm.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, slowRAC := credit(slow)
	if got.Name != "Speed" || got.Members != 2 || len(members) != 2 || !near(got.Total, 2*want) || !near(got.RAC, rac0/2+slowRAC) {
		t.Errorf("team = %+v with %d members, want Speed with fast and slow, credit %v", got, len(members), 2*want)
	}
	teams, more, err := b.svc.Teams(ctx, 0, 10)
	if err != nil || more || len(teams) != 1 || teams[0].ID != tm.ID {
		t.Errorf("teams = %+v, more %v (%v); want Speed only", teams, more, err)
	}
	board, more, err := b.svc.Leaderboard(ctx, 0, 1)
	if err != nil || !more || len(board) != 1 || board[0].ContributorID != cheat.ID {
		t.Errorf("leaderboard page = %+v, more %v (%v); want the cheat first, more to follow", board, more, err)
	}
}
