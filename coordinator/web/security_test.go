package web_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/daemon"
	"github.com/nightshift-platform/nightshift/coordinator/daemon/daemontest"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/signing"
	"github.com/nightshift-platform/nightshift/coordinator/web"
	"github.com/nightshift-platform/nightshift/workunits"
)

// The dashboard's security promises, checked over plain HTTP against a real
// coordinator: a contributor sees only their own data whatever the URL or
// the API call says, a signed-out visitor is sent to sign in from every
// page, and a form without its CSRF token changes nothing. The routes are
// read from the dashboard's router, so a new page is covered without
// editing this file.

// publicRoutes are the dashboard's routes a signed-out visitor may use,
// besides the static files (any method under /static/).
var publicRoutes = map[string]bool{
	"GET /signup": true, "POST /signup": true, "GET /signin": true, "POST /signin": true,
	"POST /signout": true, // ends a session: harmless signed out, needs the token signed in
}

// route is one method and pattern of the dashboard's router.
type route struct{ method, pattern string }

func (r route) String() string { return r.method + " " + r.pattern }

func (r route) public() bool {
	return publicRoutes[r.String()] || strings.HasPrefix(r.pattern, "/static/")
}

// dashboardRoutes walks the dashboard's router.
func dashboardRoutes(t *testing.T, svc *service.Service) []route {
	t.Helper()
	routes, ok := web.New(svc, nil, web.Options{}).(chi.Routes)
	if !ok {
		t.Fatal("web.New no longer returns a chi router: the security walk cannot see the routes")
	}
	var out []route
	err := chi.Walk(routes, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, route{method, pattern})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 8 {
		t.Fatalf("walking the dashboard found only %v", out)
	}
	t.Logf("dashboard routes: %v", out)
	return out
}

// concrete fills a pattern's parameters ({id}, *) with value.
func concrete(pattern, value string) string {
	pattern = regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(pattern, value)
	return strings.ReplaceAll(pattern, "*", value)
}

// secContributor is a contributor with a session, a host that did work and
// the ids that are theirs alone.
type secContributor struct {
	account   service.NewAccount
	host      workunits.Host
	hostToken string
	tasks     []int64
	project   workunits.Project
	jar       http.CookieJar
}

// secBundle is a coordinator with two contributors, Ada and Zed, each with a
// host that computed tasks of their own project, and earnings.
type secBundle struct {
	url      string
	svc      *service.Service
	ada, zed *secContributor
}

// zedMarkers are things only Zed's data contains: none may appear on a page
// Ada sees.
var zedMarkers = []string{"zed-private-pc", "zed@example.org", "Zebedee Secretname"}

func setupSecurity(t *testing.T) *secBundle {
	t.Helper()
	coord := daemontest.Start(t, daemon.Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "coordinator.db")})
	b := &secBundle{url: coord.URL, svc: coord.Service}
	b.ada = b.contributor(t, "Ada Lovelace", "ada@example.org", "ada-desktop", "Ada's lab")
	b.zed = b.contributor(t, "Zebedee Secretname", "zed@example.org", "zed-private-pc", "Zed's lab")
	if _, err := b.svc.PayCredits(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Zed has web preferences; Ada must never see them.
	idle := 42.0
	if _, err := b.svc.SetWebPreferences(t.Context(), b.zed.account.Contributor.ID, workunits.WebPreferences{IdleMinutes: &idle}); err != nil {
		t.Fatal(err)
	}
	return b
}

// wasmHeader is the smallest valid module: the tasks here are leased and
// reported by the test, never run.
var wasmHeader = []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}

// contributor signs up, attaches a host, and has that host compute two
// tasks of a project of its own (quorum 1).
func (b *secBundle) contributor(t *testing.T, name, email, hostName, projectName string) *secContributor {
	t.Helper()
	ctx := t.Context()
	acct, err := b.svc.SignUp(ctx, email, "correct horse battery", name)
	if err != nil {
		t.Fatal(err)
	}
	c := &secContributor{account: acct}
	c.host, c.hostToken, err = b.svc.RegisterHost(ctx, acct.Contributor.ID, service.HostInfo{Name: hostName, Platform: "linux/amd64", Cores: 4})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if c.project, _, err = b.svc.CreateProjectWith(ctx, service.NewProject{Name: projectName, SigningKey: signing.PublicKey(priv)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.FundProject(ctx, c.project.ID, 1_000_000, "grant"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.UploadAppVersion(ctx, c.project.ID, service.AppUpload{App: "app", Module: wasmHeader,
		Signature: signing.Sign(priv, wasmHeader)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.SubmitJob(ctx, c.project.ID, service.JobRequest{App: "app", Inputs: [][]byte{[]byte(`{}`), []byte(`{}`)},
		RewardMicros: 1000, Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}}); err != nil {
		t.Fatal(err)
	}
	leases, err := b.svc.LeaseTasks(ctx, c.host.ID, 2, nil)
	if err != nil || len(leases) != 2 {
		t.Fatalf("%s's host leased %+v, %v; want two tasks", name, leases, err)
	}
	var reports []workunits.Report
	for _, l := range leases {
		c.tasks = append(c.tasks, l.TaskID)
		reports = append(reports, workunits.Report{TaskID: l.TaskID, Outcome: workunits.OutcomeSuccess, Output: []byte(`"42"`)})
	}
	if err := b.svc.ReportResults(ctx, c.host.ID, reports); err != nil {
		t.Fatal(err)
	}
	c.jar = sessionJar(t, b.url, acct.Session.Token)
	return c
}

func newJar(t *testing.T) http.CookieJar {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return jar
}

// sessionJar is a cookie jar holding a session cookie for the coordinator.
func sessionJar(t *testing.T, base, token string) http.CookieJar {
	t.Helper()
	jar := newJar(t)
	u, _ := url.Parse(base)
	jar.SetCookies(u, []*http.Cookie{{Name: "nightshift_session", Value: token, Path: "/"}})
	return jar
}

// do sends a request with a cookie jar (nil: none) and a bearer key (""
// none), following no redirect.
func (b *secBundle) do(t *testing.T, jar http.CookieJar, bearer, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, b.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(raw)
}

// noneOfZeds fails the test if a page Ada sees holds anything of Zed's.
func (b *secBundle) noneOfZeds(t *testing.T, what, body string) {
	t.Helper()
	for _, m := range zedMarkers {
		if strings.Contains(body, m) {
			t.Errorf("%s shows Ada %q, which is Zed's", what, m)
		}
	}
	for _, id := range b.zed.tasks {
		if strings.Contains(body, fmt.Sprintf(`data-task-id="%d"`, id)) {
			t.Errorf("%s shows Ada Zed's task %d", what, id)
		}
	}
	if strings.Contains(body, fmt.Sprintf(`data-host-id="%d"`, b.zed.host.ID)) {
		t.Errorf("%s shows Ada Zed's host %d", what, b.zed.host.ID)
	}
}

// Signed out, every dashboard page and form sends the visitor to sign in,
// and a page comes back to where it was afterwards.
func TestSecuritySignedOutGoesToSignIn(t *testing.T) {
	b := setupSecurity(t)
	for _, r := range dashboardRoutes(t, b.svc) {
		if r.public() {
			continue
		}
		path := concrete(r.pattern, strconv.FormatInt(b.ada.host.ID, 10))
		var form url.Values
		if r.method == http.MethodPost {
			form = url.Values{"csrf": {b.ada.account.Session.CSRFToken}}
		}
		resp, body := b.do(t, nil, "", r.method, path, form)
		loc := resp.Header.Get("Location")
		want := "/signin"
		if r.method == http.MethodGet && path != "/" {
			want += "?next=" + url.QueryEscape(path)
		}
		if resp.StatusCode != http.StatusSeeOther || loc != want {
			t.Errorf("signed out, %s %s: %d to %q, want 303 to %q", r.method, path, resp.StatusCode, loc, want)
		}
		b.noneOfZeds(t, "signed out, "+path, body)
		// A session that is not one (an account key, a made-up token)
		// is no better than none.
		for _, token := range []string{b.ada.account.AccountKey, "nsw_forged", ""} {
			resp, _ := b.do(t, sessionJar(t, b.url, token), "", r.method, path, form)
			if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
				t.Errorf("with session cookie %q, %s %s: %d to %q, want sent to sign in", token, r.method, path, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	}
}

// Every signed-in POST without the session's CSRF token (none, a wrong one,
// another contributor's) is refused with 403, and so are the signed-out
// forms without their double-submit cookie.
func TestSecurityPostWithoutCSRFTokenIsRefused(t *testing.T) {
	b := setupSecurity(t)
	posts := 0
	for _, r := range dashboardRoutes(t, b.svc) {
		if r.method != http.MethodPost || strings.HasPrefix(r.pattern, "/static/") {
			continue
		}
		posts++
		path := concrete(r.pattern, "1")
		if r.pattern == "/signup" || r.pattern == "/signin" {
			// No form cookie; then a cookie the form does not repeat.
			form := url.Values{"csrf": {"nsf_forged"}, "email": {"eve@example.org"}, "password": {"correct horse battery"}, "name": {"Eve"}}
			if resp, _ := b.do(t, nil, "", r.method, path, form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s without the form cookie: %d, want 403", path, resp.StatusCode)
			}
			jar := newJar(t)
			u, _ := url.Parse(b.url)
			jar.SetCookies(u, []*http.Cookie{{Name: "nightshift_csrf", Value: "nsf_theirs", Path: "/"}})
			if resp, _ := b.do(t, jar, "", r.method, path, form); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with a form cookie the form does not match: %d, want 403", path, resp.StatusCode)
			}
			continue
		}
		for _, tc := range []struct {
			name string
			form url.Values
		}{
			{"no token", url.Values{"display_name": {"Forged"}}},
			{"an empty token", url.Values{"csrf": {""}, "display_name": {"Forged"}}},
			{"a wrong token", url.Values{"csrf": {"forged"}, "display_name": {"Forged"}}},
			{"Zed's token", url.Values{"csrf": {b.zed.account.Session.CSRFToken}, "display_name": {"Forged"}}},
		} {
			resp, body := b.do(t, b.ada.jar, "", r.method, path, tc.form)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "This form was refused") {
				t.Errorf("signed in, POST %s with %s: %d, want 403 and the refusal page", path, tc.name, resp.StatusCode)
			}
		}
	}
	if posts < 3 {
		t.Errorf("the walk found %d POST routes; want at least sign-in, sign-up and sign-out", posts)
	}
	// Nothing changed: Ada is still Ada, still signed in.
	c, err := b.svc.Contributor(t.Context(), b.ada.account.Contributor.ID)
	if err != nil || c.DisplayName != "Ada Lovelace" {
		t.Errorf("after the refused forms Ada is %+v, %v", c, err)
	}
	if _, err := b.svc.SessionContributor(t.Context(), b.ada.account.Session.Token); err != nil {
		t.Errorf("a refused sign-out ended Ada's session: %v", err)
	}
}

// Ada, signed in, sees only her data on every page, whatever ids of Zed's
// the URL carries; the statement lists only her tasks.
func TestSecurityContributorSeesOnlyOwnPages(t *testing.T) {
	b := setupSecurity(t)
	zedID := strconv.FormatInt(b.zed.account.Contributor.ID, 10)
	zedHost := strconv.FormatInt(b.zed.host.ID, 10)
	zedProject := strconv.FormatInt(b.zed.project.ID, 10)
	// Every parameter name a page might be tempted to read whose data to show.
	hostile := url.Values{"contributor": {zedID}, "contributor_id": {zedID}, "id": {zedID}, "user": {zedID},
		"host": {zedHost}, "host_id": {zedHost}, "project": {zedProject}}.Encode()
	pages := 0
	for _, r := range dashboardRoutes(t, b.svc) {
		if r.method != http.MethodGet || r.public() {
			continue
		}
		pages++
		for _, path := range []string{concrete(r.pattern, zedID), concrete(r.pattern, zedHost) + "?" + hostile} {
			resp, body := b.do(t, b.ada.jar, "", http.MethodGet, path, nil)
			if resp.StatusCode >= 500 {
				t.Errorf("GET %s as Ada: status %d", path, resp.StatusCode)
			}
			b.noneOfZeds(t, "GET "+path, body)
		}
	}
	if pages < 2 {
		t.Errorf("the walk found %d signed-in pages", pages)
	}

	// Her own hosts and tasks she does see.
	if _, body := b.do(t, b.ada.jar, "", http.MethodGet, "/tasks?host="+zedHost, nil); strings.Contains(body, `data-task-id="`) {
		t.Errorf("/tasks?host=<Zed's host> lists tasks to Ada")
	}
	if resp, body := b.do(t, b.ada.jar, "", http.MethodGet, "/tasks", nil); resp.StatusCode == http.StatusOK {
		for _, id := range b.ada.tasks {
			if !strings.Contains(body, fmt.Sprintf(`data-task-id="%d"`, id)) {
				t.Errorf("/tasks does not list Ada's own task %d", id)
			}
		}
	}
	if resp, body := b.do(t, b.ada.jar, "", http.MethodGet, "/hosts", nil); resp.StatusCode == http.StatusOK &&
		!strings.Contains(body, fmt.Sprintf(`data-host-id="%d"`, b.ada.host.ID)) {
		t.Errorf("/hosts does not list Ada's own host")
	}

	// The statement: only Ada's tasks, the same file as the API's.
	resp, body := b.do(t, b.ada.jar, "", http.MethodGet, "/payouts/statement.csv?contributor="+zedID, nil)
	if resp.StatusCode == http.StatusOK {
		if got := statementTasks(t, body); !sameSet(got, b.ada.tasks) {
			t.Errorf("Ada's statement lists tasks %v; want hers, %v", got, b.ada.tasks)
		}
		if _, apiCSV := b.do(t, nil, b.ada.account.AccountKey, http.MethodGet, "/api/v1/contributor/statement.csv", nil); apiCSV != body {
			t.Errorf("Ada's statement from the dashboard differs from the API's")
		}
	}
}

// The API answers Ada's credentials with Ada's data only, and takes no
// dashboard session for a credential (so no cross-site form can call it).
func TestSecurityAPIIsScopedToTheCredential(t *testing.T) {
	b := setupSecurity(t)
	adaKey := b.ada.account.AccountKey

	resp, body := b.do(t, nil, adaKey, http.MethodGet, "/api/v1/contributor/earnings", nil)
	var e api.Earnings
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &e) != nil {
		t.Fatalf("Ada's earnings: %d %s", resp.StatusCode, body)
	}
	if len(e.Hosts) != 1 || e.Hosts[0].HostID != b.ada.host.ID {
		t.Errorf("Ada's earnings list hosts %+v; want only hers, %d", e.Hosts, b.ada.host.ID)
	}
	b.noneOfZeds(t, "Ada's earnings", body)
	// Her host's token reaches her earnings, not Zed's.
	_, hostBody := b.do(t, nil, b.ada.hostToken, http.MethodGet, "/api/v1/host/earnings", nil)
	var he api.Earnings
	if err := json.Unmarshal([]byte(hostBody), &he); err != nil || he.AvailableMicros != e.AvailableMicros ||
		len(he.Hosts) != 1 || he.Hosts[0].HostID != b.ada.host.ID {
		t.Errorf("Ada's host's earnings differ from Ada's:\n%s\n%s", hostBody, body)
	}

	_, statement := b.do(t, nil, adaKey, http.MethodGet, "/api/v1/contributor/statement.csv?contributor="+strconv.FormatInt(b.zed.account.Contributor.ID, 10), nil)
	if got := statementTasks(t, statement); !sameSet(got, b.ada.tasks) {
		t.Errorf("Ada's API statement lists tasks %v; want hers, %v", got, b.ada.tasks)
	}
	for _, path := range []string{"/api/v1/contributor/preferences", "/api/v1/contributor/payout-settings", "/api/v1/contributor/payouts"} {
		resp, body := b.do(t, nil, adaKey, http.MethodGet, path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s as Ada: %d %s", path, resp.StatusCode, body)
		}
		if strings.Contains(strings.ReplaceAll(body, " ", ""), `"idle_minutes":42`) {
			t.Errorf("GET %s as Ada shows Zed's idle minutes: %s", path, body)
		}
		b.noneOfZeds(t, "GET "+path, body)
	}

	// A session cookie is no API credential, and neither is a CSRF token.
	for _, path := range []string{"/api/v1/contributor/earnings", "/api/v1/contributor/statement.csv", "/api/v1/contributor/preferences"} {
		if resp, _ := b.do(t, b.ada.jar, "", http.MethodGet, path, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with only a dashboard session: %d, want 401", path, resp.StatusCode)
		}
		if resp, _ := b.do(t, nil, b.ada.account.Session.Token, http.MethodGet, path, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with a session token as bearer: %d, want 401", path, resp.StatusCode)
		}
	}
	// A host token is not an account key.
	if resp, _ := b.do(t, nil, b.ada.hostToken, http.MethodGet, "/api/v1/contributor/earnings", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a host token reads the contributor's earnings: %d, want 401", resp.StatusCode)
	}
}

// statementTasks are the task ids a statement CSV names.
func statementTasks(t *testing.T, body string) []int64 {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("statement is not CSV: %v\n%s", err, body)
	}
	col := -1
	for i, h := range rows[0] {
		if h == "task_id" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("statement has no task_id column: %q", rows[0])
	}
	seen := map[int64]bool{}
	var ids []int64
	for _, row := range rows[1:] {
		if id, err := strconv.ParseInt(row[col], 10, 64); err == nil && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

func sameSet(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	in := map[int64]bool{}
	for _, v := range a {
		in[v] = true
	}
	for _, v := range b {
		if !in[v] {
			return false
		}
	}
	return true
}
