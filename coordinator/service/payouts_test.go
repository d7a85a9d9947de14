package service

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// earn pays a contributor amount as a validated result would (the money
// flow's reserve and post are not needed to test payouts): the project is
// funded, a job's escrow set aside and a reward paid from it.
func (b *testBundle) earn(t *testing.T, contributorID, jobID, taskID, amount int64) {
	t.Helper()
	ctx := context.Background()
	if err := b.svc.store.InTx(ctx, func(tx store.Tx) error {
		_, err := tx.LedgerRecordMany(ctx, []payouts.Transaction{
			payouts.Fund(b.project.ID, amount, fmt.Sprintf("earn-%d", taskID)),
			payouts.Transaction{Key: fmt.Sprintf("escrow:job:%d:task:%d", jobID, taskID), Memo: "test escrow", Entries: []payouts.Entry{
				{Account: payouts.ProjectBudget(b.project.ID), Amount: -amount}, {Account: payouts.JobEscrow(jobID), Amount: amount}}},
			payouts.Reserve(taskID, jobID, contributorID, amount),
			payouts.Post(taskID, contributorID, amount, 0),
		}, b.now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func (b *testBundle) wantAudit(t *testing.T) {
	t.Helper()
	a, err := b.svc.LedgerAudit(context.Background())
	if err != nil || !a.Balanced() {
		t.Errorf("LedgerAudit = %+v, %v; want balanced", a, err)
	}
}

func TestPayoutRun(t *testing.T) {
	ctx := context.Background()
	b := setup(t)
	ada, _ := b.host(t, "ada")
	bob, _ := b.host(t, "bob")
	cy, _ := b.host(t, "cy")
	b.payTo(t, ada.ID, payouts.MethodPayPal, "ada@example.com")
	b.payTo(t, bob.ID, payouts.MethodBankTransfer, "GB82 WEST 1234 5698 7654 32")
	b.payTo(t, cy.ID, payouts.MethodPayPal, "cy@example.com")
	b.earn(t, ada.ID, 1, 1, 12_000_000)
	b.earn(t, bob.ID, 1, 2, 30_000_000)
	b.earn(t, cy.ID, 1, 3, 9_000_000) // below the default threshold

	run, err := b.svc.CreatePayoutRun(ctx, "2026-11", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Created || run.ThresholdMicros != DefaultPayoutThreshold || len(run.Lines) != 2 || run.TotalMicros != 42_000_000 {
		t.Fatalf("run = %+v", run)
	}
	for _, c := range []struct {
		id                  int64
		available, inflight int64
	}{{ada.ID, 0, 12_000_000}, {bob.ID, 0, 30_000_000}, {cy.ID, 9_000_000, 0}} {
		if got := b.balance(t, payouts.ContributorAvailable(c.id)); got != c.available {
			t.Errorf("contributor %d available = %d, want %d", c.id, got, c.available)
		}
		if got := b.balance(t, payouts.ContributorInflight(c.id)); got != c.inflight {
			t.Errorf("contributor %d inflight = %d, want %d", c.id, got, c.inflight)
		}
	}

	// The same key is the same run: no new lines, no new holds.
	b.earn(t, cy.ID, 1, 4, 5_000_000)
	again, err := b.svc.CreatePayoutRun(ctx, "2026-11", 1)
	if err != nil || again.Created || again.ID != run.ID || len(again.Lines) != 2 {
		t.Fatalf("CreatePayoutRun again = %+v, %v", again, err)
	}
	if got := b.balance(t, payouts.ContributorAvailable(cy.ID)); got != 14_000_000 {
		t.Errorf("cy's available = %d after a replayed run, want 14000000", got)
	}

	// Export: both files, atomically, the same bytes twice.
	dir := t.TempDir()
	paths, err := b.svc.ExportPayoutRun(ctx, run.ID, dir)
	if err != nil {
		t.Fatal(err)
	}
	csvPath := filepath.Join(dir, fmt.Sprintf("payout-run-%d.csv", run.ID))
	if !slices.Equal(paths, []string{csvPath, filepath.Join(dir, fmt.Sprintf("payout-run-%d.json", run.ID))}) {
		t.Errorf("paths = %q", paths)
	}
	first, err := os.ReadFile(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	wantCSV := fmt.Sprintf("line_id,run_id,contributor_id,contributor_name,amount_micros,amount,currency,method,destination\n"+
		"%d,%d,%d,ada,12000000,12.000000,USD,paypal,ada@example.com\n%d,%d,%d,bob,30000000,30.000000,USD,bank_transfer,GB82WEST12345698765432\n",
		run.Lines[0].ID, run.ID, ada.ID, run.Lines[1].ID, run.ID, bob.ID)
	if string(first) != wantCSV {
		t.Errorf("CSV file:\n%s\nwant\n%s", first, wantCSV)
	}
	exported, _ := b.svc.GetPayoutRun(ctx, run.ID)
	if exported.ExportedAt.IsZero() {
		t.Error("the run is not marked exported")
	}
	b.now = b.now.Add(time.Hour)
	if _, err := b.svc.ExportPayoutRun(ctx, run.ID, dir); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(csvPath)
	reexported, _ := b.svc.GetPayoutRun(ctx, run.ID)
	if string(second) != string(first) || !reexported.ExportedAt.Equal(exported.ExportedAt) {
		t.Errorf("a second export changed the file or the export time")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("dir holds %d files, want 2 (no temporary files left)", len(entries))
	}
	if _, err := b.svc.ExportPayoutRun(ctx, run.ID+99, dir); workunits.ErrorCode(err) != workunits.ENOTFOUND {
		t.Errorf("exporting no run: %v, want ENOTFOUND", err)
	}

	// Bad files change nothing.
	adaLine, bobLine := run.Lines[0].ID, run.Lines[1].ID
	for name, tc := range map[string]struct {
		file string
		code workunits.Code
	}{
		"unknown line": {fmt.Sprintf("line_id,status\n%d,paid\n%d,paid\n", adaLine, bobLine+99), workunits.EINVALID},
		"bad status":   {fmt.Sprintf("line_id,status\n%d,sent\n", adaLine), workunits.EINVALID},
		"garbage":      {"[{", workunits.EINVALID},
	} {
		if _, err := b.svc.ImportPayoutResults(ctx, run.ID, []byte(tc.file)); workunits.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want %s", name, err, tc.code)
		}
	}
	if _, err := b.svc.ImportPayoutResults(ctx, run.ID+99, []byte("line_id,status\n")); workunits.ErrorCode(err) != workunits.ENOTFOUND {
		t.Errorf("importing into no run: %v, want ENOTFOUND", err)
	}
	if got := b.balance(t, payouts.ContributorInflight(ada.ID)); got != 12_000_000 {
		t.Errorf("a refused import moved money: ada inflight = %d", got)
	}

	// ada paid, bob failed.
	results := fmt.Sprintf(`[{"line_id":%d,"status":"paid","reference":"wire-1"},{"line_id":%d,"status":"failed"}]`, adaLine, bobLine)
	imp, err := b.svc.ImportPayoutResults(ctx, run.ID, []byte(results))
	if err != nil {
		t.Fatal(err)
	}
	if imp.Settled != 1 || imp.Returned != 1 || imp.Unchanged != 0 || imp.Run.State != store.PayoutRunClosed {
		t.Errorf("import = %+v", imp)
	}
	want := map[payouts.Account]int64{
		payouts.ContributorAvailable(ada.ID): 0, payouts.ContributorInflight(ada.ID): 0,
		payouts.ContributorAvailable(bob.ID): 30_000_000, payouts.ContributorInflight(bob.ID): 0,
		payouts.ExternalPayouts: 12_000_000,
	}
	wantBalances := func() {
		t.Helper()
		for a, w := range want {
			if got := b.balance(t, a); got != w {
				t.Errorf("%s = %d, want %d", a, got, w)
			}
		}
	}
	wantBalances()

	// The same file again: nothing changes, and the counts say so.
	imp, err = b.svc.ImportPayoutResults(ctx, run.ID, []byte(results))
	if err != nil || imp.Settled != 0 || imp.Returned != 0 || imp.Unchanged != 2 {
		t.Errorf("second import = %+v, %v; want 2 unchanged", imp, err)
	}
	wantBalances()

	// Contradicting the first file is a conflict, and changes nothing.
	for _, file := range []string{
		fmt.Sprintf("line_id,status\n%d,failed\n", adaLine),
		fmt.Sprintf("line_id,status\n%d,paid\n", bobLine),
	} {
		if _, err := b.svc.ImportPayoutResults(ctx, run.ID, []byte(file)); workunits.ErrorCode(err) != workunits.ECONFLICT {
			t.Errorf("import of %q: %v, want ECONFLICT", file, err)
		}
	}
	wantBalances()
	got, _ := b.svc.GetPayoutRun(ctx, run.ID)
	if got.Lines[0].State != store.PayoutLineSettled || got.Lines[0].Reference != "wire-1" || got.Lines[1].State != store.PayoutLineReturned {
		t.Errorf("lines = %+v", got.Lines)
	}

	// bob's returned money goes into the next run.
	next, err := b.svc.CreatePayoutRun(ctx, "2026-12", 0)
	if err != nil || len(next.Lines) != 2 || next.Lines[0].ContributorID != bob.ID || next.Lines[1].ContributorID != cy.ID {
		t.Errorf("next run = %+v, %v; want bob and cy", next, err)
	}
	runs, err := b.svc.ListPayoutRuns(ctx, 0, 0)
	if err != nil || len(runs) != 2 || runs[0].ID != next.ID {
		t.Errorf("ListPayoutRuns = %+v, %v", runs, err)
	}
	b.wantAudit(t)

	// ada's statement: earned, held, settled, with running balances.
	st, err := b.svc.ContributorStatement(ctx, ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range st {
		lines = append(lines, fmt.Sprintf("%s %s %d %d", e.Kind, e.Account, e.Amount, e.Balance))
	}
	wantLines := []string{
		fmt.Sprintf("reserve contributor:%d:pending 12000000 12000000", ada.ID),
		fmt.Sprintf("post contributor:%d:pending -12000000 0", ada.ID),
		fmt.Sprintf("post contributor:%d:available 12000000 12000000", ada.ID),
		fmt.Sprintf("payout contributor:%d:available -12000000 0", ada.ID),
		fmt.Sprintf("payout contributor:%d:inflight 12000000 12000000", ada.ID),
		fmt.Sprintf("settle contributor:%d:inflight -12000000 0", ada.ID),
	}
	if !slices.Equal(lines, wantLines) {
		t.Errorf("statement:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
	mine, err := b.svc.ContributorPayouts(ctx, bob.ID)
	if err != nil || len(mine) != 2 || mine[0].RunID != next.ID || mine[1].State != store.PayoutLineReturned {
		t.Errorf("bob's payouts = %+v, %v", mine, err)
	}
}

func TestCreatePayoutRunRefusesBadInput(t *testing.T) {
	b := setup(t)
	for name, tc := range map[string]struct {
		key       string
		threshold int64
	}{
		"no key":             {"", 0},
		"long key":           {strings.Repeat("k", MaxPayoutKey+1), 0},
		"negative threshold": {"k", -1},
	} {
		if _, err := b.svc.CreatePayoutRun(context.Background(), tc.key, tc.threshold); workunits.ErrorCode(err) != workunits.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
	if runs, _ := b.svc.ListPayoutRuns(context.Background(), 0, 10); len(runs) != 0 {
		t.Errorf("runs = %+v, want none", runs)
	}
}

func TestProjectSpend(t *testing.T) {
	ctx := context.Background()
	b := setup(t)
	ada, _ := b.host(t, "ada")
	if _, err := b.svc.FundProject(ctx, b.project.ID, 1_000, "grant"); err != nil {
		t.Fatal(err)
	}
	// Job 5: 600 escrowed; a reward of 100, a reservation of 200 posted
	// with a fee of 20, one of 50 voided; the rest released.
	job := int64(5)
	escrow := payouts.JobEscrow(job)
	pending, avail := payouts.ContributorPending(ada.ID), payouts.ContributorAvailable(ada.ID)
	tr := func(key string, from, to payouts.Account, amount int64) payouts.Transaction {
		return payouts.Transaction{Key: key, Memo: key, Entries: []payouts.Entry{{Account: from, Amount: -amount}, {Account: to, Amount: amount}}}
	}
	txs := []payouts.Transaction{
		payouts.Escrow(job, b.project.ID, 600),
		tr("reward:task:1", escrow, avail, 100), // a legacy one-step reward
		tr("reserve:task:2", escrow, pending, 200),
		{Key: "post:task:2", Memo: "post", Entries: []payouts.Entry{{Account: pending, Amount: -200}, {Account: avail, Amount: 180}, {Account: payouts.PlatformFees, Amount: 20}}},
		tr("reserve:task:3", escrow, pending, 50),
		tr("void:task:3", pending, escrow, 50),
		payouts.Release(job, b.project.ID, 300),
	}
	if err := b.svc.store.InTx(ctx, func(tx store.Tx) error {
		_, err := tx.LedgerRecordMany(ctx, txs, b.now)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got, err := b.svc.ProjectSpend(ctx, b.project.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantJob := JobSpend{JobID: job, Spend: Spend{Escrowed: 600, Contributors: 280, Fees: 20, Voided: 50, Released: 300}, Escrow: 0}
	if len(got.Jobs) != 1 || got.Jobs[0] != wantJob {
		t.Errorf("jobs = %+v, want %+v", got.Jobs, wantJob)
	}
	wantTotal := Spend{Funded: 1_000, Escrowed: 600, Contributors: 280, Fees: 20, Voided: 50, Released: 300}
	if got.Total != wantTotal || got.Budget != 700 {
		t.Errorf("total = %+v, budget %d; want %+v, 700", got.Total, got.Budget, wantTotal)
	}
	if _, err := b.svc.ProjectSpend(ctx, b.project.ID+99); workunits.ErrorCode(err) != workunits.ENOTFOUND {
		t.Errorf("spend of no project: %v, want ENOTFOUND", err)
	}
}
