package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nightshift-platform/nightshift/coordinator/web"
)

// TestBrowserMoneyPages: a contributor whose PC earned on three units sees
// the earnings chart, lists and filters the tasks, downloads the statement
// (the same file the API serves) and sets how to be paid.
func TestBrowserMoneyPages(t *testing.T) {
	b := newBrowser(t)
	key := b.signUp("ada@example.org", browserPassword)
	svc := b.coord.Service
	ada, err := svc.AuthContributor(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	f := web.SetUpEarnings(t, svc, ada.ID, 3)

	// Home: a bar a day, today's earned.
	if status := b.open("/"); status != 200 {
		t.Fatalf("GET /: status %d", status)
	}
	if n := eval[int](b, `document.querySelectorAll("svg#earnings-chart rect.bar").length`); n != 30 {
		t.Errorf("the chart has %d bars, want 30", n)
	}
	today := eval[int](b, `+document.querySelector("svg#earnings-chart rect.bar:last-of-type").dataset.micros`)
	if today <= 0 {
		t.Errorf("today's bar shows %d micros, want the day's earnings", today)
	}
	if h := eval[float64](b, `document.querySelector("svg#earnings-chart rect.bar:last-of-type").getBoundingClientRect().height`); h < 10 {
		t.Errorf("today's bar is %.1f px high, want it drawn", h)
	}
	if got := b.text("#week-this"); got == "0.00" || got != b.text("#days-total") {
		t.Errorf("this week shows %q, the 30 days %q: want this week's earnings in both", got, b.text("#days-total"))
	}
	if got := b.text("#rank"); !strings.HasSuffix(got, " of 2") && !strings.HasSuffix(got, " of 3") {
		t.Errorf("rank shows %q", got)
	}
	b.screenshot("money-home")
	if status := b.submit("a#days-90"); status != 200 || b.location() != "/?days=90" {
		t.Errorf("the 90-day link ends at %s with status %d", b.location(), status)
	}
	if n := eval[int](b, `document.querySelectorAll("svg#earnings-chart rect.bar").length`); n != 90 {
		t.Errorf("the 90-day chart has %d bars, want 90", n)
	}

	// Tasks: the three valid and the running one; the filter narrows them.
	b.open("/tasks")
	if n := eval[int](b, `document.querySelectorAll("table#tasks tr[data-task-id]").length`); n != 4 {
		t.Errorf("the tasks table has %d rows, want 4", n)
	}
	b.screenshot("money-tasks")
	b.fill(map[string]string{"status": "valid", "host": fmt.Sprint(f.Host.ID)})
	if status := b.submit("#apply-filter"); status != 200 || !strings.Contains(b.location(), "status=valid") {
		t.Errorf("filtering ends at %s with status %d", b.location(), status)
	}
	statuses := eval[[]string](b, `[...document.querySelectorAll("table#tasks tr[data-task-id] .status")].map(e => e.textContent.trim())`)
	if strings.Join(statuses, ",") != "valid,valid,valid" {
		t.Errorf("filtered on valid, the table shows %q", statuses)
	}
	if got := eval[string](b, `document.getElementById("status").value`); got != "valid" {
		t.Errorf("after filtering the status select shows %q", got)
	}

	// Payouts: the run that paid, the statement, the settings.
	b.open("/payouts")
	if n := eval[int](b, `document.querySelectorAll("table#payout-history tbody tr[data-line-id]").length`); n != 1 {
		t.Errorf("the payout history has %d lines, want 1", n)
	}
	if href := eval[string](b, `document.getElementById("statement-download").getAttribute("href")`); href != "/payouts/statement.csv" {
		t.Errorf("the statement link goes to %q", href)
	}
	ctx, cancel := context.WithTimeout(b.tab, 30*time.Second)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/payouts/statement.csv", {credentials: "same-origin"}).then(r => r.ok ? r.text() : "status " + r.status)`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetching the statement: %v", err)
	}
	req, _ := http.NewRequestWithContext(t.Context(), "GET", b.coord.URL+"/api/v1/contributor/statement.csv", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	api, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || got != string(api) || strings.Count(got, "\n") < 5 {
		t.Errorf("the dashboard's statement:\n%s\nthe API's (status %d):\n%s", got, resp.StatusCode, api)
	}

	b.fill(map[string]string{"method": "bank_transfer", "destination": "GB82 WEST 1234 5698 7654 32", "threshold": "25.00"})
	if status := b.submit("#save-payout-settings"); status != 200 || b.location() != "/payouts?saved=1" {
		t.Errorf("saving payout settings ends at %s with status %d: %q", b.location(), status, b.text("main"))
	}
	if got := b.text("#destination-masked"); !strings.HasSuffix(got, "5432") || strings.Contains(got, "WEST") {
		t.Errorf("the stored destination shows as %q, want it masked", got)
	}
	b.fill(map[string]string{"threshold": "0.01"})
	if status := b.submit("#save-payout-settings"); status != 400 || !strings.Contains(b.text("#form-error"), "threshold") {
		t.Errorf("a threshold below the minimum: status %d, page says %q", status, b.text("main"))
	}
	b.open("/payouts")
	b.screenshot("money-payouts")

	// On a phone: nothing wider than the screen.
	b.step("narrowing to a phone", chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile))
	for _, path := range []string{"/", "/tasks", "/payouts"} {
		b.open(path)
		if w := eval[int](b, "document.documentElement.scrollWidth"); w > 375 {
			t.Errorf("at 375 px %s is %d px wide", path, w)
		}
	}
	b.open("/tasks")
	b.screenshot("money-tasks-375px")
}
