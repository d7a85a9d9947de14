package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// signedUpWithEarnings signs up through the form and gives the account
// earnings (SetUpEarnings with n units).
func (e *testEnv) signedUpWithEarnings(email string, n int) (workunits.Contributor, MoneyFixture) {
	e.t.Helper()
	key := e.signUp(email)
	c, err := e.svc.AuthContributor(e.t.Context(), key)
	if err != nil {
		e.t.Fatal(err)
	}
	return c, SetUpEarnings(e.t, e.svc, c.ID, n)
}

// signUpAs signs another browser up and returns it.
func (e *testEnv) signUpAs(name, email string) *http.Client {
	e.t.Helper()
	c := newClient(e.t)
	form := e.do(c, "GET", "/signup", nil)
	want(e.t, e.do(c, "POST", "/signup", url.Values{"csrf": {csrfOf(e.t, form)}, "name": {name}, "email": {email}, "password": {testPassword}}),
		http.StatusCreated)
	return c
}

var (
	barRE    = regexp.MustCompile(`<rect class="bar[^"]*" data-day="(\d{4}-\d\d-\d\d)" data-micros="(-?\d+)"[^>]*><title>[^<]+</title></rect>`)
	taskRowR = regexp.MustCompile(`<tr data-task-id="(\d+)">`)
)

func taskIDs(body string) []string {
	var out []string
	for _, m := range taskRowR.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func ids(xs ...int64) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprint(x)
	}
	return out
}

func TestHomeShowsEarningsByDayWeekAndRank(t *testing.T) {
	e := newTestEnv(t)
	ada, _ := e.signedUpWithEarnings("ada@example.org", 2)
	hist, err := e.svc.EarningsByDay(t.Context(), ada.ID, 30, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if hist.ThisWeekMicros <= 0 {
		t.Fatalf("the fixture earned nothing this week: %+v", hist)
	}
	rank, err := e.svc.ContributorRank(t.Context(), ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := e.get("/")
	want(t, r, http.StatusOK, `<svg id="earnings-chart"`, `id="week-this">`+formatMoney(hist.ThisWeekMicros)+`<`,
		`id="week-last">0.00<`, fmt.Sprintf(`id="rank">%d of %d<`, rank.Position, rank.Of), `id="days-30" href="/?days=30"`,
		`id="days-90" href="/?days=90"`, `<caption>Days with earnings</caption>`, `id="pending">`, `id="credit">`)
	bars := barRE.FindAllStringSubmatch(r.body, -1)
	if len(bars) != 30 {
		t.Fatalf("the chart has %d bars, want 30", len(bars))
	}
	today := time.Now().UTC().Format("2006-01-02")
	if last := bars[29]; last[1] != today || last[2] != fmt.Sprint(hist.Days[29].Micros) || hist.Days[29].Micros != hist.ThisWeekMicros {
		t.Errorf("the last bar is %s %s, want today %s with %d", last[1], last[2], today, hist.Days[29].Micros)
	}

	want(t, e.get("/?days=90"), http.StatusOK, `id="days-90" href="/?days=90" aria-current="true"`)
	if n := len(barRE.FindAllString(e.get("/?days=90").body, -1)); n != 90 {
		t.Errorf("/?days=90 has %d bars, want 90", n)
	}
	for _, days := range []string{"7", "365", "abc", "-30", "30.0"} {
		r := e.get("/?days=" + url.QueryEscape(days))
		want(t, r, http.StatusBadRequest, "days must be 30 or 90", `role="alert"`, `id="pending">`)
		if n := len(barRE.FindAllString(r.body, -1)); n != 30 {
			t.Errorf("/?days=%s shows %d bars, want the 30-day chart", days, n)
		}
	}
}

func TestTasksPageListsFiltersAndPages(t *testing.T) {
	e := newTestEnv(t)
	_, f := e.signedUpWithEarnings("ada@example.org", 3)
	all := e.get("/tasks")
	want(t, all, http.StatusOK, `<form id="task-filter"`, `<select id="status" name="status">`, `<select id="host" name="host">`,
		`<select id="project" name="project">`, `<input type="text" id="app" name="app"`, `<table id="tasks"`, "<caption",
		`<th scope="col" class="num">Reward`, "cancer lab", ">fold<", "study-pc", "1 min 23 s", `class="status status-valid" data-status="valid">valid<`,
		`data-status="in_progress">in progress<`)
	wantIDs := ids(f.InProgress, f.Valid[2], f.Valid[1], f.Valid[0])
	if got := taskIDs(all.body); strings.Join(got, ",") != strings.Join(wantIDs, ",") {
		t.Errorf("tasks = %v, want %v (newest first, only the contributor's)", got, wantIDs)
	}
	if strings.Contains(all.body, "other-pc") || strings.Contains(all.body, `id="next-page"`) {
		t.Errorf("the tasks page shows another contributor's host or a next page")
	}

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"status=valid", ids(f.Valid[2], f.Valid[1], f.Valid[0])},
		{"status=in_progress", ids(f.InProgress)},
		{"status=invalid", nil},
		{fmt.Sprintf("host=%d&status=valid", f.Host.ID), ids(f.Valid[2], f.Valid[1], f.Valid[0])},
		{fmt.Sprintf("project=%d&app=fold", f.Project.ID), wantIDs},
		{"app=other", nil},
		{"project=9999", nil},
	} {
		r := e.get("/tasks?" + tt.query)
		want(t, r, http.StatusOK)
		if got := taskIDs(r.body); strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("/tasks?%s = %v, want %v", tt.query, got, tt.want)
		}
		if tt.want == nil && !strings.Contains(r.body, "No task matches this filter.") {
			t.Errorf("/tasks?%s does not say that nothing matches", tt.query)
		}
	}
	// The filter is shown as chosen.
	want(t, e.get("/tasks?status=valid&app=fold"), http.StatusOK, `<option value="valid" selected>`, `name="app" value="fold"`)

	// Pages of one, following the next links to the end.
	var got []string
	next := "/tasks?limit=1&status=valid"
	for range 10 {
		r := e.get(next)
		want(t, r, http.StatusOK)
		got = append(got, taskIDs(r.body)...)
		m := regexp.MustCompile(`<a id="next-page" href="([^"]+)"`).FindStringSubmatch(r.body)
		if m == nil {
			break
		}
		next = html.UnescapeString(m[1])
		if !strings.Contains(next, "status=valid") || !strings.Contains(next, "cursor=") {
			t.Errorf("the next link %q loses the filter or the cursor", next)
		}
	}
	if strings.Join(got, ",") != strings.Join(ids(f.Valid[2], f.Valid[1], f.Valid[0]), ",") {
		t.Errorf("paging by one gave %v, want the three valid tasks newest first", got)
	}
}

func TestTasksPageRefusesBadFilters(t *testing.T) {
	e := newTestEnv(t)
	_, f := e.signedUpWithEarnings("ada@example.org", 1)
	for _, tt := range []struct {
		query, says string
	}{
		{"status=done", `there is no task status &#34;done&#34;`},
		{"host=abc", "host must be one of your hosts"},
		{"host=-1", "host must be one of your hosts"},
		{"project=1.5", "project must be a project"},
		{"cursor=not-a-cursor", "is malformed"},
		{"cursor=dDE6LTU", "is malformed"}, // "t1:-5"
		{"limit=0", "limit must be"},
		{"limit=1000", "limit must be between 1 and 100"},
		{"app=" + strings.Repeat("a", 101), "app must be at most 100 characters"},
	} {
		r := e.get("/tasks?" + tt.query)
		want(t, r, http.StatusBadRequest, tt.says, `role="alert"`, `<form id="task-filter"`)
		if ids := taskIDs(r.body); len(ids) != 0 {
			t.Errorf("/tasks?%s refused, yet lists tasks %v", tt.query, ids)
		}
	}
	// Another contributor's host is not found, and shows nothing of it.
	r := e.get(fmt.Sprintf("/tasks?host=%d", f.OtherHost.ID))
	want(t, r, http.StatusNotFound, fmt.Sprintf("host %d not found", f.OtherHost.ID))
	if len(taskIDs(r.body)) != 0 || strings.Contains(r.body, "other-pc") {
		t.Errorf("filtering on another contributor's host shows data:\n%s", r.body)
	}
}

func TestMoneyPagesAreEachContributorsOwn(t *testing.T) {
	e := newTestEnv(t)
	_, f := e.signedUpWithEarnings("ada@example.org", 1)
	bob := e.signUpAs("Bob", "bob@example.org")
	for _, path := range []string{"/tasks", fmt.Sprintf("/tasks?project=%d", f.Project.ID), "/tasks?contributor=1", "/payouts", "/"} {
		r := e.do(bob, "GET", path, nil)
		want(t, r, http.StatusOK, "bob@example.org")
		if len(taskIDs(r.body)) != 0 || strings.Contains(r.body, "study-pc") || strings.Contains(r.body, "ada@example.org") ||
			strings.Contains(r.body, "data-line-id") || strings.Contains(r.body, "*******.org") {
			t.Errorf("Bob's %s shows Ada's data:\n%s", path, r.body)
		}
	}
	want(t, e.do(bob, "GET", fmt.Sprintf("/tasks?host=%d", f.Host.ID), nil), http.StatusNotFound)
	statement := e.do(bob, "GET", "/payouts/statement.csv", nil)
	if rows, err := csv.NewReader(strings.NewReader(statement.body)).ReadAll(); err != nil || len(rows) != 1 {
		t.Errorf("Bob's statement = %d rows (%v), want only the header:\n%s", len(rows), err, statement.body)
	}

	// Signed out: sent to sign in; a POST changes nothing.
	stranger := newClient(t)
	wantRedirect(t, e.do(stranger, "GET", "/tasks?status=valid", nil), "/signin?next=%2Ftasks%3Fstatus%3Dvalid")
	wantRedirect(t, e.do(stranger, "GET", "/payouts", nil), "/signin?next=%2Fpayouts")
	wantRedirect(t, e.do(stranger, "GET", "/payouts/statement.csv", nil), "/signin?next=%2Fpayouts%2Fstatement.csv")
	wantRedirect(t, e.do(stranger, "POST", "/payouts/settings", url.Values{"csrf": {"x"}, "method": {""}}), "/signin")
}

func TestPayoutsPageHistoryAndStatement(t *testing.T) {
	e := newTestEnv(t)
	ada, f := e.signedUpWithEarnings("ada@example.org", 2)
	if len(f.Run.Lines) != 1 {
		t.Fatalf("the fixture's run has lines %+v, want one to ada", f.Run.Lines)
	}
	line := f.Run.Lines[0]
	r := e.get("/payouts")
	want(t, r, http.StatusOK, `<a id="statement-download" class="button" href="/payouts/statement.csv"`, `<table id="payout-history"`,
		fmt.Sprintf(`<tr data-line-id="%d">`, line.ID), formatMoney(line.AmountMicros), "PayPal (email address)",
		`<form id="payout-settings"`, `<select id="method" name="method">`, `<input type="text" id="destination"`,
		`<input type="text" id="threshold"`, `id="save-payout-settings"`, `<option value="paypal" selected>`,
		payouts.MaskDestination("ada.lovelace@example.org"), `id="payout-inflight">`+formatMoney(line.AmountMicros)+`<`,
		`<label for="method">`, `<label for="destination">`, `<label for="threshold">`)
	if strings.Contains(r.body, "ada.lovelace") {
		t.Errorf("the payouts page shows the destination unmasked")
	}

	s := e.get("/payouts/statement.csv")
	if s.StatusCode != 200 || !strings.HasPrefix(s.Header.Get("Content-Type"), "text/csv") ||
		s.Header.Get("Content-Disposition") != fmt.Sprintf(`attachment; filename="contributor-%d-statement.csv"`, ada.ID) {
		t.Fatalf("statement: %d %q %q", s.StatusCode, s.Header.Get("Content-Type"), s.Header.Get("Content-Disposition"))
	}
	entries, err := e.svc.ContributorStatement(t.Context(), ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	var wantCSV bytes.Buffer
	if err := csv.NewWriter(&wantCSV).WriteAll(service.StatementCSV(entries)); err != nil {
		t.Fatal(err)
	}
	if s.body != wantCSV.String() || len(entries) < 4 {
		t.Errorf("statement =\n%s\nwant (%d entries)\n%s", s.body, len(entries), wantCSV.String())
	}
}

func TestPayoutSettingsForm(t *testing.T) {
	e := newTestEnv(t)
	ada, _ := e.signedUpWithEarnings("ada@example.org", 1)
	token := csrfOf(t, e.get("/payouts"))
	stored := func() service.PayoutSettings {
		t.Helper()
		p, err := e.svc.PayoutSettings(t.Context(), ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	before := stored()
	const iban = "GB82 WEST 1234 5698 7654 32"
	for _, tt := range []struct {
		name string
		form url.Values
		says string
	}{
		{"threshold not a number", url.Values{"method": {"paypal"}, "threshold": {"lots"}}, "threshold must be an amount in USD like 25.00"},
		{"threshold negative", url.Values{"method": {"paypal"}, "threshold": {"-25"}}, "threshold must be an amount"},
		{"threshold too precise", url.Values{"method": {"paypal"}, "threshold": {"25.0000001"}}, "threshold must be an amount"},
		{"threshold below the minimum", url.Values{"method": {"paypal"}, "threshold": {"0.50"}}, "the platform&#39;s minimum"},
		{"threshold above the cap", url.Values{"method": {"paypal"}, "threshold": {"20000"}}, "threshold_micros must be from"},
		{"unknown method", url.Values{"method": {"cash"}, "destination": {"a jar"}}, "unknown payout method"},
		{"bad IBAN", url.Values{"method": {"bank_transfer"}, "destination": {"GB00 WEST 1234 5698 7654 32"}}, "check digits do not match"},
		{"email for a bank", url.Values{"method": {"bank_transfer"}, "destination": {"someone@example.org"}}, "IBAN"},
		{"destination without method", url.Values{"method": {""}, "destination": {"someone@example.org"}}, "a destination needs a method"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("csrf", token)
			r := e.post("/payouts/settings", tt.form)
			want(t, r, http.StatusBadRequest, tt.says, `role="alert"`, `<form id="payout-settings"`)
			if d := tt.form.Get("destination"); d != "" && strings.Contains(r.body, d) {
				t.Errorf("the refused form repeats the destination")
			}
			if tt.form.Get("threshold") != "" && !strings.Contains(r.body, `value="`+html.EscapeString(tt.form.Get("threshold"))+`"`) {
				t.Errorf("the refused form does not show the threshold sent again")
			}
			if got := stored(); got != before {
				t.Errorf("a refused form changed the settings: %+v, was %+v", got, before)
			}
		})
	}
	// Without the CSRF token: refused, nothing stored.
	want(t, e.post("/payouts/settings", url.Values{"method": {"bank_transfer"}, "destination": {iban}}), http.StatusForbidden, "This form was refused")
	if got := stored(); got != before {
		t.Errorf("a form without its token changed the settings: %+v", got)
	}

	wantRedirect(t, e.post("/payouts/settings", url.Values{"csrf": {token}, "method": {"bank_transfer"}, "destination": {iban}, "threshold": {"25.5"}}),
		"/payouts?saved=1")
	got := stored()
	if got.Method != payouts.MethodBankTransfer || got.Destination != "GB82WEST12345698765432" || got.ThresholdMicros != 25_500_000 {
		t.Errorf("stored %+v, want a bank transfer to the IBAN, 25.5 USD threshold", got)
	}
	r := e.get("/payouts?saved=1")
	want(t, r, http.StatusOK, "Your payout settings are saved.", `<option value="bank_transfer" selected>`, `value="25.50"`,
		payouts.MaskDestination("GB82WEST12345698765432"))
	if strings.Contains(r.body, "GB82WEST") {
		t.Errorf("the page shows the IBAN unmasked")
	}
	// The same method without a destination keeps the stored one; an
	// empty threshold goes back to the run's.
	wantRedirect(t, e.post("/payouts/settings", url.Values{"csrf": {token}, "method": {"bank_transfer"}, "threshold": {""}}), "/payouts?saved=1")
	if got := stored(); got.Destination != "GB82WEST12345698765432" || got.ThresholdMicros != 0 {
		t.Errorf("stored %+v, want the IBAN kept and no threshold", got)
	}
}

func TestParseMoney(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "25": 25_000_000, "25.5": 25_500_000, "25.00": 25_000_000, "0.000001": 1, "10000": 10_000_000_000} {
		if got, err := parseMoney(in); err != nil || got != want {
			t.Errorf("parseMoney(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"-1", "1,5", ".5", "5.", "1e3", "abc", "1.2345678", "9999999999999", " 5", "+5"} {
		if _, err := parseMoney(in); err == nil {
			t.Errorf("parseMoney(%q) succeeded, want an error", in)
		}
	}
}

func TestMoneyRoutesAreWalkable(t *testing.T) {
	h := New(nil, nil, Options{}).(chi.Routes)
	var got []string
	_ = chi.Walk(h, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		got = append(got, method+" "+route)
		return nil
	})
	for _, r := range []string{"GET /tasks", "GET /payouts", "GET /payouts/statement.csv", "POST /payouts/settings"} {
		if !slices.Contains(got, r) {
			t.Errorf("route %q is not in the walk: %q", r, got)
		}
	}
}
