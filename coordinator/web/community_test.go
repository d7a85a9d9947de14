package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/signing"
	"github.com/nightshift-platform/nightshift/workunits"
)

// SeedWork makes a project (described, with a member by memberEmail if
// not empty) and has each host compute one unit of its job to a valid
// result, so that their contributors earn credit. Exported for the
// browser tests.
func SeedWork(t testing.TB, svc *service.Service, memberEmail string, hosts ...workunits.Host) workunits.Project {
	t.Helper()
	ctx := t.Context()
	signer, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	np := service.NewProject{Name: "Protein lab", Description: "Folding proteins to find cancer drug targets.",
		SigningKey: signing.PublicKey(signer)}
	if memberEmail != "" {
		np.Admin = &service.NewMember{Name: "Grace", Email: memberEmail}
	}
	p, _, err := svc.CreateProjectWith(ctx, np)
	if err != nil {
		t.Fatal(err)
	}
	module := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	if _, err := svc.UploadAppVersion(ctx, p.ID, service.AppUpload{App: "app", Module: module, Signature: signing.Sign(signer, module)}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.FundProject(ctx, p.ID, 1_000_000, "seed"); err != nil {
		t.Fatal(err)
	}
	inputs := make([][]byte, len(hosts)+1) // one unit stays open
	for i := range inputs {
		inputs[i] = []byte(`{}`)
	}
	if _, err := svc.SubmitJob(ctx, p.ID, service.JobRequest{App: "app", Inputs: inputs, RewardMicros: 1000,
		Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1, MaxTotalReplicas: 1}}); err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		l, err := svc.LeaseTasks(ctx, h.ID, 1, nil)
		if err != nil || len(l) != 1 {
			t.Fatalf("host %d leased %v, %v; want a task", h.ID, l, err)
		}
		if err := svc.ReportResults(ctx, h.ID, []workunits.Report{{TaskID: l[0].TaskID, Outcome: workunits.OutcomeSuccess, Output: []byte("42")}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.PayCredits(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

// signedIn returns the contributor the test client signed up as.
func (e *testEnv) me(email string) workunits.Contributor {
	e.t.Helper()
	c, err := e.svc.AuthContributor(e.t.Context(), e.signUp(email))
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// other signs up another contributor in a browser of their own.
func (e *testEnv) other(email string) (*http.Client, workunits.Contributor) {
	e.t.Helper()
	c := newClient(e.t)
	form := e.do(c, "GET", "/signup", nil)
	r := e.do(c, "POST", "/signup", url.Values{"csrf": {csrfOf(e.t, form)}, "name": {"Bob"}, "email": {email}, "password": {testPassword}})
	want(e.t, r, http.StatusCreated)
	key := regexp.MustCompile(`nsa_[A-Za-z0-9_-]+`).FindString(r.body)
	who, err := e.svc.AuthContributor(e.t.Context(), key)
	if err != nil {
		e.t.Fatal(err)
	}
	return c, who
}

func (e *testEnv) host(c workunits.Contributor, name string) workunits.Host {
	e.t.Helper()
	h, _, err := e.svc.RegisterHost(e.t.Context(), c.ID, service.HostInfo{Name: name, Platform: "linux/amd64", Cores: 8})
	if err != nil {
		e.t.Fatal(err)
	}
	return h
}

// rowOf returns the table row with this attribute, or fails.
func rowOf(t *testing.T, r response, attr string) string {
	t.Helper()
	i := strings.Index(r.body, attr)
	if i < 0 {
		t.Fatalf("no row %s on %s:\n%s", attr, r.Request.URL.Path, r.body)
	}
	end := strings.Index(r.body[i:], "</tr>")
	return r.body[i : i+end]
}

func TestHostsPage(t *testing.T) {
	e := newTestEnv(t)
	ada := e.me("ada@example.org")
	want(t, e.get("/hosts"), http.StatusOK, `id="hosts"`, "No PC is attached yet", `aria-current="page">Hosts`)

	busy, quiet, fresh := e.host(ada, "desk"), e.host(ada, "laptop"), e.host(ada, "new pc")
	bobClient, bob := e.other("bob@example.org")
	bobs := e.host(bob, "bob's secret pc")
	SeedWork(t, e.svc, "", busy, bobs)
	ctx := t.Context()
	if _, err := e.svc.HostContact(ctx, busy, workunits.HostState{State: workunits.HostRunning, TasksRunning: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.HostContact(ctx, quiet, workunits.HostState{State: workunits.HostSuspended, Reason: "on_battery", Detail: "battery at 40%"}); err != nil {
		t.Fatal(err)
	}

	r := e.get("/hosts")
	want(t, r, http.StatusOK, "<caption>", `scope="col"`, "linux/amd64, 8 cores")
	row := rowOf(t, r, fmt.Sprintf(`data-host-id="%d"`, busy.ID))
	for _, s := range []string{">running<", "2 tasks running", `class="num done">1<`, `class="num valid">1<`, `class="num invalid">0<`, `class="num earned">0.001<`, "<time"} {
		if !strings.Contains(row, s) {
			t.Errorf("the busy host's row does not say %q:\n%s", s, row)
		}
	}
	row = rowOf(t, r, fmt.Sprintf(`data-host-id="%d"`, quiet.ID))
	if !strings.Contains(row, ">suspended — on battery<") || !strings.Contains(row, "battery at 40%") {
		t.Errorf("the suspended host's row:\n%s", row)
	}
	row = rowOf(t, r, fmt.Sprintf(`data-host-id="%d"`, fresh.ID))
	if !strings.Contains(row, ">unknown<") {
		t.Errorf("a host that never said its state:\n%s", row)
	}
	// Ada never sees Bob's host, whatever the URL says; Bob sees only his.
	for _, path := range []string{"/hosts", fmt.Sprintf("/hosts?host=%d", bobs.ID), fmt.Sprintf("/hosts?contributor=%d", bob.ID)} {
		if r := e.get(path); strings.Contains(r.body, "bob&#39;s secret pc") || strings.Contains(r.body, fmt.Sprintf(`data-host-id="%d"`, bobs.ID)) {
			t.Errorf("Ada's %s shows Bob's host", path)
		}
	}
	r = e.do(bobClient, "GET", "/hosts", nil)
	want(t, r, http.StatusOK, "bob&#39;s secret pc")
	if strings.Contains(r.body, "desk") || strings.Contains(r.body, "laptop") {
		t.Errorf("Bob's hosts page shows Ada's hosts")
	}
}

func TestPreferencesPage(t *testing.T) {
	e := newTestEnv(t)
	ada := e.me("ada@example.org")
	page := e.get("/preferences")
	want(t, page, http.StatusOK, `id="preferences-version">0<`, "next contact", `<label for="idle_minutes">`,
		`<label for="max_other_cpu_percent">`, `<label for="run_on_battery">`, `<label for="active_hours">`, `id="save-preferences"`)
	token := csrfOf(t, page)

	good := url.Values{"csrf": {token}, "idle_minutes": {"7.5"}, "max_other_cpu_percent": {"40"}, "run_on_battery": {"no"},
		"active_hours": {" mon-fri 18:00-08:00 "}}
	wantRedirect(t, e.post("/preferences", good), "/preferences?saved=1")
	p, err := e.svc.WebPreferences(t.Context(), ada.ID)
	w := p.Preferences
	if err != nil || p.Version != 1 || w.IdleMinutes == nil || *w.IdleMinutes != 7.5 || w.MaxOtherCPUPercent == nil || *w.MaxOtherCPUPercent != 40 ||
		w.RunOnBattery == nil || *w.RunOnBattery || w.ActiveHours == nil || *w.ActiveHours != "mon-fri 18:00-08:00" {
		t.Fatalf("stored preferences = %+v (%v), want what the form sent, version 1", p, err)
	}
	want(t, e.get("/preferences?saved=1"), http.StatusOK, "saved (version 1)", "picks them up at its next contact",
		`id="preferences-version">1<`, `value="7.5"`, `value="40"`, `value="no" selected`, `value="mon-fri 18:00-08:00"`)

	for _, tt := range []struct {
		name  string
		field string
		value string
		says  string
	}{
		{"idle minutes too high", "idle_minutes", "5000", "idle_minutes must be between 0 and 1440"},
		{"idle minutes negative", "idle_minutes", "-1", "idle_minutes must be between 0 and 1440"},
		{"idle minutes not a number", "idle_minutes", "ten", `idle minutes must be a number, got &#34;ten&#34;`},
		{"idle minutes NaN", "idle_minutes", "NaN", "idle_minutes must be between"},
		{"cpu zero", "max_other_cpu_percent", "0", "max_other_cpu_percent must be above 0 and at most 100"},
		{"cpu above 100", "max_other_cpu_percent", "250", "max_other_cpu_percent must be above 0 and at most 100"},
		{"battery not a choice", "run_on_battery", "maybe", "run on battery must be yes, no"},
		{"malformed active hours", "active_hours", "weekdays after dinner", "Nothing was saved"},
		{"active hours bad time", "active_hours", "mon 25:00-26:00", "Nothing was saved"},
		{"active hours too long", "active_hours", strings.Repeat("mon 18:00-20:00; ", 40), "active_hours must be text of at most 500 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"csrf": {token}}
			form.Set(tt.field, tt.value)
			r := e.post("/preferences", form)
			want(t, r, http.StatusBadRequest, tt.says, `role="alert"`, "Nothing was saved", `id="preferences"`, `id="preferences-version">1<`)
			if !strings.Contains(r.body, `value="`+template.HTMLEscapeString(strings.TrimSpace(tt.value))+`"`) && tt.field != "run_on_battery" {
				t.Errorf("the refused form does not show what was typed (%q)", tt.value)
			}
			if got, _ := e.svc.WebPreferences(t.Context(), ada.ID); got.Version != 1 {
				t.Errorf("a refused form stored version %d", got.Version)
			}
		})
	}

	// Clearing every field unsets them all on the web.
	wantRedirect(t, e.post("/preferences", url.Values{"csrf": {token}, "idle_minutes": {""}}), "/preferences?saved=1")
	if p, _ := e.svc.WebPreferences(t.Context(), ada.ID); p.Version != 2 || len(p.Preferences.Set()) != 0 {
		t.Errorf("after clearing: %+v, want version 2 with nothing set", p)
	}

	// Without the CSRF token: refused, nothing stored.
	want(t, e.post("/preferences", url.Values{"idle_minutes": {"3"}}), http.StatusForbidden, "This form was refused")
	want(t, e.post("/preferences", url.Values{"csrf": {token + "x"}, "idle_minutes": {"3"}}), http.StatusForbidden)
	if p, _ := e.svc.WebPreferences(t.Context(), ada.ID); p.Version != 2 {
		t.Errorf("a form without its token stored version %d", p.Version)
	}
	// Bob's preferences are his own.
	bobClient, bob := e.other("bob@example.org")
	want(t, e.do(bobClient, "GET", "/preferences", nil), http.StatusOK, `id="preferences-version">0<`)
	if p, _ := e.svc.WebPreferences(t.Context(), bob.ID); p.Version != 0 {
		t.Errorf("Bob's preferences changed: %+v", p)
	}
}

func TestLeaderboardPage(t *testing.T) {
	e := newTestEnv(t)
	ada := e.me("ada@example.org")
	want(t, e.get("/leaderboard"), http.StatusOK, `id="leaderboard-contributors"`, `id="leaderboard-teams"`, "No contributor has earned credit yet")

	_, bob := e.other("bob@example.org")
	_, cy := e.other("cy@example.org")
	SeedWork(t, e.svc, "", e.host(ada, "a"), e.host(bob, "b"), e.host(cy, "c"))
	ctx := t.Context()
	if _, err := e.svc.UpdateProfile(ctx, bob.ID, "Night owl", true); err != nil {
		t.Fatal(err)
	}
	// Cy has a display name but did not opt in: still anonymous.
	if _, err := e.svc.UpdateProfile(ctx, cy.ID, "Cy the Secret", false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateTeam(ctx, bob.ID, "Owls", "hoo"); err != nil {
		t.Fatal(err)
	}

	r := e.get("/leaderboard")
	want(t, r, http.StatusOK, "Night owl", "Owls", "<caption>", "You appear as\n<strong>Anonymous</strong>")
	for _, secret := range []string{"Cy the Secret", "Bob", "bob@example.org", "cy@example.org", ">Ada<"} {
		if strings.Contains(r.body, secret) && !(secret == "Bob" && strings.Contains(r.body, "Signed in as Bob")) {
			t.Errorf("the leaderboard shows %q, who did not opt in", secret)
		}
	}
	if n := strings.Count(r.body, `class="name">Anonymous`); n != 2 {
		t.Errorf("the leaderboard shows %d anonymous contributors, want 2 (Ada and Cy)", n)
	}
	if n := strings.Count(r.body, `class="me"`); n != 1 {
		t.Fatalf("%d rows are marked as Ada's, want 1", n)
	}
	mine := r.body[strings.Index(r.body, `class="me"`):]
	mine = mine[:strings.Index(mine, "</tr>")]
	if !strings.Contains(mine, "Anonymous") || !strings.Contains(mine, "(you)") {
		t.Errorf("Ada's own row: %s", mine)
	}
	if _, err := e.svc.UpdateProfile(ctx, ada.ID, "Ada L.", true); err != nil {
		t.Fatal(err)
	}
	want(t, e.get("/leaderboard"), http.StatusOK, "Ada L.", "<strong>Ada L.</strong>")
}

func TestProjectsPage(t *testing.T) {
	e := newTestEnv(t)
	ada := e.me("ada@example.org")
	r := e.get("/projects")
	want(t, r, http.StatusOK, `id="projects"`, `id="my-projects"`, "not a member of any project")

	p := SeedWork(t, e.svc, "ADA@example.org", e.host(ada, "a"))
	other, _, err := e.svc.CreateProjectWith(t.Context(), service.NewProject{Name: "Climate lab",
		Admin: &service.NewMember{Name: "Bob", Email: "bob@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	r = e.get("/projects")
	want(t, r, http.StatusOK, fmt.Sprintf(`data-project-id="%d"`, p.ID), fmt.Sprintf(`data-project-id="%d"`, other.ID),
		"Folding proteins to find cancer drug targets.", "50% done", "1 of 2 work units", "has not described its research yet")
	mine := r.body[strings.Index(r.body, `id="my-projects"`):]
	for _, s := range []string{"Protein lab", "(you are admin)", "1 of 2", "50%", "active"} {
		if !strings.Contains(mine, s) {
			t.Errorf("Ada's projects do not say %q:\n%s", s, mine)
		}
	}
	if strings.Contains(mine, "Climate lab") {
		t.Errorf("Ada sees the jobs of a project she is not a member of")
	}
	// Membership is by the account's email only: not by one in the URL.
	r = e.get("/projects?email=bob@example.org")
	if mine := r.body[strings.Index(r.body, `id="my-projects"`):]; strings.Contains(mine, "Climate lab") {
		t.Errorf("?email= showed another member's projects")
	}
	bobClient, _ := e.other("bob@example.org")
	r = e.do(bobClient, "GET", "/projects", nil)
	if mine := r.body[strings.Index(r.body, `id="my-projects"`):]; !strings.Contains(mine, "Climate lab") || strings.Contains(mine, "Protein lab") {
		t.Errorf("Bob's projects:\n%s", mine)
	}
}

func TestCommunityPagesNeedSignIn(t *testing.T) {
	e := newTestEnv(t)
	for _, path := range []string{"/hosts", "/preferences", "/leaderboard", "/projects"} {
		wantRedirect(t, e.get(path), "/signin?next="+url.QueryEscape(path))
	}
	wantRedirect(t, e.post("/preferences", url.Values{"csrf": {"x"}, "idle_minutes": {"3"}}), "/signin")
}

func TestCommunityRoutesAreWalkable(t *testing.T) {
	h := New(nil, nil, Options{}).(chi.Routes)
	var got []string
	if err := chi.Walk(h, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		got = append(got, method+" "+route)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"GET /hosts", "GET /preferences", "POST /preferences", "GET /leaderboard", "GET /projects"} {
		if !slices.Contains(got, r) {
			t.Errorf("route %q is not in the walk: %q", r, got)
		}
	}
}
