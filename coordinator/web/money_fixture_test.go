package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/signing"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// MoneyFixture is what SetUpEarnings made: exported (from a test file)
// for the browser tests in package web_test.
type MoneyFixture struct {
	Project    workunits.Project
	Host       workunits.Host // the contributor's
	OtherHost  workunits.Host // another contributor's, the second replica
	Valid      []int64        // the contributor's valid tasks, oldest first
	InProgress int64          // the contributor's task still running
	OtherTasks []int64        // the other contributor's tasks
	Run        service.PayoutRun
}

// Reward is what each unit pays a replica, before the platform's fee.
const Reward = 1_500_000

// SetUpEarnings gives the contributor a host that agrees with another
// contributor's on n units (so it earns n rewards), a task in progress, a
// payout method and a payout run that paid what was available — all
// through the service, as a real coordinator would.
func SetUpEarnings(t *testing.T, svc *service.Service, contributorID int64, n int) MoneyFixture {
	t.Helper()
	ctx := t.Context()
	var f MoneyFixture
	signer, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if f.Project, _, err = svc.CreateProjectWith(ctx, service.NewProject{Name: "cancer lab", SigningKey: signing.PublicKey(signer)}); err != nil {
		t.Fatal(err)
	}
	module := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	if _, err := svc.UploadAppVersion(ctx, f.Project.ID, service.AppUpload{App: "fold", Module: module, Signature: signing.Sign(signer, module)}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.FundProject(ctx, f.Project.ID, 1_000_000_000, "fixture"); err != nil {
		t.Fatal(err)
	}
	if f.Host, _, err = svc.RegisterHost(ctx, contributorID, service.HostInfo{Name: "study-pc", Platform: "linux/amd64", Cores: 4}); err != nil {
		t.Fatal(err)
	}
	other, _, err := svc.CreateContributor(ctx, fmt.Sprintf("other-of-%d", contributorID))
	if err != nil {
		t.Fatal(err)
	}
	if f.OtherHost, _, err = svc.RegisterHost(ctx, other.ID, service.HostInfo{Name: "other-pc", Platform: "linux/amd64", Cores: 2}); err != nil {
		t.Fatal(err)
	}
	quorum := workunits.Policy{MinQuorum: 2, TargetReplicas: 2, MaxTotalReplicas: 2}
	submit := func(units int) {
		t.Helper()
		inputs := make([][]byte, units)
		for i := range inputs {
			inputs[i] = []byte(`{}`)
		}
		if _, err := svc.SubmitJob(ctx, f.Project.ID, service.JobRequest{App: "fold", Inputs: inputs, RewardMicros: Reward, Policy: quorum}); err != nil {
			t.Fatal(err)
		}
	}
	lease := func(h workunits.Host) int64 {
		t.Helper()
		l, err := svc.LeaseTasks(ctx, h.ID, 1, nil)
		if err != nil || len(l) != 1 {
			t.Fatalf("host %s leased %v (%v), want one task", h.Name, l, err)
		}
		return l[0].TaskID
	}
	report := func(h workunits.Host, task int64) {
		t.Helper()
		r := workunits.Report{TaskID: task, Outcome: workunits.OutcomeSuccess, Output: []byte("42"), CPUTime: 83 * time.Second}
		if err := svc.ReportResults(ctx, h.ID, []workunits.Report{r}); err != nil {
			t.Fatal(err)
		}
	}
	submit(n)
	for range n {
		mine, theirs := lease(f.Host), lease(f.OtherHost)
		report(f.Host, mine)
		report(f.OtherHost, theirs)
		f.Valid, f.OtherTasks = append(f.Valid, mine), append(f.OtherTasks, theirs)
	}
	if _, err := svc.PayCredits(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetPayoutSettings(ctx, contributorID, service.PayoutSettings{Method: payouts.MethodPayPal, Destination: "ada.lovelace@example.org"}); err != nil {
		t.Fatal(err)
	}
	if f.Run, err = svc.CreatePayoutRun(ctx, fmt.Sprintf("fixture-%d", contributorID), 1); err != nil {
		t.Fatal(err)
	}
	submit(1)
	f.InProgress = lease(f.Host)
	return f
}
