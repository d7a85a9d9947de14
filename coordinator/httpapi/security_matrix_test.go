package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/service"
)

// The security matrix: every route of the coordinator's router — the JSON
// API and the dashboard mounted under it — with every credential that must
// not work on it, and the one that must. The routes are walked from the
// router itself: a route without an entry here, or an entry for a route
// that is gone, fails the test.
//
// Denials, by kind of credential:
//   - none, malformed (a near-miss key), the wrong kind (a host token on a
//     project route, a project key on an operator route, …): 401 with a JSON
//     error; on the dashboard, a redirect to /signin;
//   - a revoked project key, a contributor's account key from before it was
//     regenerated, an expired or signed-out dashboard session: the same;
//   - a project key whose role is too low: 403;
//   - the right kind of credential naming another tenant's real resource (a
//     job, unit, blob, app, key or member of project B with project A's
//     admin key; host X reporting or reading host Y's task): 404, as if it
//     did not exist;
//   - a dashboard form without the session's CSRF token: 403.
//
// A refused request that would change something changes nothing: the
// world's readable state is compared before and after each such route's
// denials. Each route's positive control, run once all denials are done,
// shows the right credential is let through (not 401, 403 or 404), so the
// matrix cannot pass by refusing everything; all of them together, acting
// as project A, contributor A, host X, the dashboard user or the operator
// on A, leave project B's, contributor B's and host Y's state as it was.

// secPublic are the routes anyone may call, and why.
var secPublic = map[string]string{
	"GET /healthz":              "liveness probe for load balancers; says only that the process answers",
	"POST /api/v1/contributors": "sign-up of a volunteer: makes a new account, shows nothing of others",
	"GET /signup":               "the dashboard's sign-up form",
	"POST /signup":              "the dashboard's sign-up (double-submit CSRF cookie, tested by the web package)",
	"GET /signin":               "the dashboard's sign-in form",
	"POST /signin":              "the dashboard's sign-in (double-submit CSRF cookie, rate limited, tested by the web package)",
	"POST /signout":             "ends the session named by the caller's own cookie; nothing else",
	"* /static/*":               "the dashboard's embedded CSS and JavaScript",
}

// secDenial is one credential a route must refuse.
type secDenial struct {
	name string
	req  secRequest
	want int // status
}

// secRoute is one route of the router with its good request and denials.
type secRoute struct {
	method, pattern string
	good            secRequest // the positive control
	denials         []secDenial
	web             bool // a dashboard page: refusals redirect or render HTML
	extra           bool // only more denials for the route of the same key
}

func (r secRoute) key() string { return r.method + " " + r.pattern }

// with is the good request with other credentials.
func with(good secRequest, bearer, session string) secRequest {
	good.bearer, good.session = bearer, session
	return good
}

func (w *secWorld) operatorRoute(method, pattern, path, body string) secRoute {
	good := secRequest{method: method, path: path, body: body, bearer: secOperatorKey}
	return secRoute{method: method, pattern: pattern, good: good, denials: []secDenial{
		{"no credentials", with(good, "", ""), 401},
		{"malformed operator key", with(good, service.OperatorKeyPrefix+"not-the-key", ""), 401},
		{"wrong kind: project admin key", with(good, w.a.admin, ""), 401},
		{"wrong kind: account key", with(good, w.cx.key, ""), 401},
		{"wrong kind: host token", with(good, w.cx.hostTok, ""), 401},
		{"wrong kind: dashboard session", with(good, "", w.web.Session.Token), 401},
	}}
}

// projectRoute is a research route needing role; good is sent with a key
// of exactly that role of project A; tenant, if not empty, is the same
// request naming project B's resource instead.
func (w *secWorld) projectRoute(role, method, pattern, path, body, tenantPath, tenantBody string) secRoute {
	keyOf := map[string]string{"viewer": w.a.viewer, "researcher": w.a.researcher, "admin": w.a.admin}
	good := secRequest{method: method, path: path, body: body, bearer: keyOf[role]}
	d := []secDenial{
		{"no credentials", with(good, "", ""), 401},
		{"malformed project key", with(good, service.ProjectKeyPrefix+"0000000000000000", ""), 401},
		{"wrong kind: operator key", with(good, secOperatorKey, ""), 401},
		{"wrong kind: account key", with(good, w.cx.key, ""), 401},
		{"wrong kind: host token", with(good, w.cx.hostTok, ""), 401},
		{"wrong kind: dashboard session", with(good, "", w.web.Session.Token), 401},
		{"revoked admin key", with(good, w.a.revoked, ""), 401},
	}
	switch role {
	case "researcher":
		d = append(d, secDenial{"wrong role: viewer", with(good, w.a.viewer, ""), 403})
	case "admin":
		d = append(d, secDenial{"wrong role: viewer", with(good, w.a.viewer, ""), 403},
			secDenial{"wrong role: researcher", with(good, w.a.researcher, ""), 403})
	}
	if tenantPath != "" {
		d = append(d, secDenial{"wrong tenant: project B's resource with A's admin key",
			secRequest{method: method, path: tenantPath, body: tenantBody, bearer: w.a.admin}, 404})
	}
	return secRoute{method: method, pattern: pattern, good: good, denials: d}
}

func (w *secWorld) contributorRoute(method, pattern, path, body string) secRoute {
	good := secRequest{method: method, path: path, body: body, bearer: w.cx.key}
	return secRoute{method: method, pattern: pattern, good: good, denials: []secDenial{
		{"no credentials", with(good, "", ""), 401},
		{"malformed account key", with(good, service.ContributorKeyPrefix+"0000000000000000", ""), 401},
		{"wrong kind: operator key", with(good, secOperatorKey, ""), 401},
		{"wrong kind: project admin key", with(good, w.a.admin, ""), 401},
		{"wrong kind: host token", with(good, w.cx.hostTok, ""), 401},
		{"wrong kind: dashboard session", with(good, "", w.web.Session.Token), 401},
		{"account key replaced by a new one", with(good, w.cy.oldKey, ""), 401},
	}}
}

// hostRoute is a worker route; good is sent with host tok; tenant, if
// set, is another host's request for good's task.
func (w *secWorld) hostRoute(method, pattern, path, body, tok string, tenant *secRequest) secRoute {
	good := secRequest{method: method, path: path, body: body, bearer: tok}
	d := []secDenial{
		{"no credentials", with(good, "", ""), 401},
		{"malformed host token", with(good, service.HostTokenPrefix+"0000000000000000", ""), 401},
		{"wrong kind: operator key", with(good, secOperatorKey, ""), 401},
		{"wrong kind: project admin key", with(good, w.a.admin, ""), 401},
		{"wrong kind: account key", with(good, w.cx.key, ""), 401},
		{"wrong kind: dashboard session", with(good, "", w.web.Session.Token), 401},
	}
	if tenant != nil {
		d = append(d, secDenial{"wrong tenant: another host's task or another project's data", *tenant, 404})
	}
	return secRoute{method: method, pattern: pattern, good: good, denials: d}
}

// webRoute is a signed-in dashboard page. Signed-out requests are sent to
// /signin (303); a signed-in form without the session's CSRF token is
// refused (403).
func (w *secWorld) webRoute(method, path string, form url.Values) secRoute {
	good := secRequest{method: method, path: path, session: w.web.Session.Token}
	if method == http.MethodPost {
		good.form = url.Values{"csrf": {w.web.Session.CSRFToken}}
		for k, v := range form {
			good.form[k] = v
		}
	}
	d := []secDenial{
		{"no credentials", with(good, "", ""), 303},
		{"malformed session cookie", with(good, "", "nsw_0000000000000000"), 303},
		{"expired session", with(good, "", w.expiredSession), 303},
		{"signed-out session", with(good, "", w.signedOutSession), 303},
		{"wrong kind: account key as bearer", with(good, w.web.AccountKey, ""), 303},
	}
	if method == http.MethodPost {
		noToken := good
		noToken.form = url.Values{}
		for k, v := range form {
			noToken.form[k] = v
		}
		wrong := good
		wrong.form = url.Values{"csrf": {"not-the-token"}}
		for k, v := range form {
			wrong.form[k] = v
		}
		d = append(d, secDenial{"live session, no CSRF token", noToken, 403},
			secDenial{"live session, wrong CSRF token", wrong, 403})
	}
	return secRoute{method: method, pattern: path, good: good, denials: d, web: true}
}

// tenantOnly is a further wrong-tenant case of a route already in the
// table, merged into it by secMatrix.
func (w *secWorld) tenantOnly(method, pattern, what, body string) secRoute {
	return secRoute{method: method, pattern: pattern, extra: true, denials: []secDenial{{"wrong tenant: " + what + " with A's admin key",
		secRequest{method: method, path: pattern, body: body, bearer: w.a.admin}, 404}}}
}

// secMatrix is the table: every non-public route of the router.
func (w *secWorld) secMatrix() []secRoute {
	a, b := w.a, w.b
	id := itoa
	op := w.operatorRoute
	pr := w.projectRoute
	cr := w.contributorRoute
	hostX, hostY := w.cx.hostTok, w.cy.hostTok
	pA := "/api/v1/projects/" + id(a.id)
	hX := "/api/v1/hosts/" + id(w.cx.hostID)
	run := "/api/v1/payout-runs/" + id(w.runID)
	jobA, jobB := "/api/v1/jobs/"+id(a.job), "/api/v1/jobs/"+id(b.job)
	spareA, spareB := "/api/v1/jobs/"+id(a.spareJob), "/api/v1/jobs/"+id(b.spareJob)
	appA, appB := "/api/v1/apps/"+a.app, "/api/v1/apps/"+b.app
	rangeOf := func(p *secProject) string {
		return fmt.Sprintf("/api/v1/blobs/%s/range?offset=%d&length=%d", p.blob, p.rangeOffset, p.rangeLength)
	}
	report := func(taskID int64) string {
		return fmt.Sprintf(`{"reports":[{"task_id":%d,"outcome":"success","output":"eyJvayI6dHJ1ZX0=","cpu_seconds":1}]}`, taskID)
	}
	return mergeExtra([]secRoute{
		// Operator.
		op("POST", "/api/v1/projects", "/api/v1/projects", `{"name":"lab C"}`),
		op("GET", "/api/v1/projects", "/api/v1/projects", ""),
		op("GET", "/api/v1/projects/{projectID}", pA, ""),
		op("PATCH", "/api/v1/projects/{projectID}", pA, `{"name":"lab A, renamed"}`),
		op("POST", "/api/v1/projects/{projectID}/funds", pA+"/funds", `{"amount_micros":1000,"idempotency_key":"sec"}`),
		op("PUT", "/api/v1/projects/{projectID}/signing-key", pA+"/signing-key", `{}`),
		op("GET", "/api/v1/ledger/audit", "/api/v1/ledger/audit", ""),
		op("GET", "/api/v1/credits/refused", "/api/v1/credits/refused", ""),
		op("GET", "/api/v1/hosts/{hostID}/trust", hX+"/trust", ""),
		op("POST", "/api/v1/hosts/{hostID}/unblock", hX+"/unblock", ""),
		op("POST", "/api/v1/hosts/{hostID}/clawback", hX+"/clawback", `{}`),
		op("GET", "/api/v1/hosts/{hostID}/clawbacks", hX+"/clawbacks", ""),
		op("POST", "/api/v1/payout-runs", "/api/v1/payout-runs", `{}`),
		op("GET", "/api/v1/payout-runs", "/api/v1/payout-runs", ""),
		op("GET", "/api/v1/payout-runs/{runID}", run, ""),
		op("GET", "/api/v1/payout-runs/{runID}/file.csv", run+"/file.csv", ""),
		op("GET", "/api/v1/payout-runs/{runID}/file.json", run+"/file.json", ""),
		op("POST", "/api/v1/payout-runs/{runID}/results", run+"/results", `{}`),

		// Research: project A's keys; tenant cases name project B's things.
		pr("viewer", "GET", "/api/v1/project", "/api/v1/project", "", "", ""),
		pr("viewer", "GET", "/api/v1/project/spend", "/api/v1/project/spend", "", "", ""),
		pr("viewer", "GET", "/api/v1/project/spend.csv", "/api/v1/project/spend.csv", "", "", ""),
		pr("admin", "GET", "/api/v1/project/keys", "/api/v1/project/keys", "", "", ""),
		pr("admin", "POST", "/api/v1/project/keys", "/api/v1/project/keys", `{"name":"ci"}`,
			"/api/v1/project/keys", `{"name":"ci","member_id":`+id(b.researcherMember)+`}`),
		pr("admin", "DELETE", "/api/v1/project/keys/{keyID}", "/api/v1/project/keys/"+id(a.revokedKeyID), "",
			"/api/v1/project/keys/"+id(b.keyID), ""),
		pr("admin", "GET", "/api/v1/project/members", "/api/v1/project/members", "", "", ""),
		pr("admin", "POST", "/api/v1/project/members", "/api/v1/project/members", `{"name":"Cy","email":"cy@example.org","role":"viewer"}`, "", ""),
		pr("admin", "DELETE", "/api/v1/project/members/{memberID}", "/api/v1/project/members/"+id(a.spareMember), "",
			"/api/v1/project/members/"+id(b.memberID), ""),
		pr("viewer", "GET", "/api/v1/apps", "/api/v1/apps", "", "", ""),
		pr("viewer", "GET", "/api/v1/apps/{app}/versions", appA+"/versions", "", appB+"/versions", ""),
		// Apps are named within a project: A uploading "app-b" makes its own app, so no tenant case.
		pr("researcher", "POST", "/api/v1/apps/{app}/versions", appA+"/versions", `{}`, "", ""),
		pr("viewer", "GET", "/api/v1/apps/{app}/versions/{version}", appA+"/versions/1", "", appB+"/versions/1", ""),
		pr("researcher", "POST", "/api/v1/apps/{app}/versions/{version}/deprecate", appA+"/versions/1/deprecate", "",
			appB+"/versions/1/deprecate", ""),
		pr("researcher", "POST", "/api/v1/blobs", "/api/v1/blobs", "", "", ""),
		pr("viewer", "GET", "/api/v1/blobs", "/api/v1/blobs", "", "", ""),
		pr("viewer", "GET", "/api/v1/blobs/{sha256}", "/api/v1/blobs/"+a.blob, "", "/api/v1/blobs/"+b.blob, ""),
		pr("researcher", "POST", "/api/v1/jobs", "/api/v1/jobs", `{}`,
			"/api/v1/jobs", `{"app":"`+b.app+`","units":[{"n":1}],"reward_micros":1000}`),
		// A job of A's app cut from B's blob: submitting it would let A read B's data.
		w.tenantOnly("POST", "/api/v1/jobs", "chunks of B's blob", `{"app":"`+a.app+`","chunks":{"blob":"`+b.blob+`","by":"bytes","size":4},"reward_micros":1000}`),
		pr("viewer", "GET", "/api/v1/jobs", "/api/v1/jobs", "", "", ""),
		pr("viewer", "GET", "/api/v1/jobs/{jobID}", jobA, "", jobB, ""),
		pr("researcher", "POST", "/api/v1/jobs/{jobID}/cancel", spareA+"/cancel", "", spareB+"/cancel", ""),
		pr("researcher", "POST", "/api/v1/jobs/{jobID}/retire", spareA+"/retire", "", spareB+"/retire", ""),
		pr("viewer", "GET", "/api/v1/jobs/{jobID}/units", jobA+"/units", "", jobB+"/units", ""),
		pr("viewer", "GET", "/api/v1/jobs/{jobID}/units/{seq}", jobA+"/units/"+id(a.doneSeq), "", jobB+"/units/"+id(b.doneSeq), ""),
		pr("viewer", "GET", "/api/v1/jobs/{jobID}/units/{seq}/output", jobA+"/units/"+id(a.doneSeq)+"/output", "",
			jobB+"/units/"+id(b.doneSeq)+"/output", ""),
		pr("viewer", "GET", "/api/v1/jobs/{jobID}/results", jobA+"/results", "", jobB+"/results", ""),

		// Contributor: every route is the caller's own; teams are shared by
		// design (any contributor may see and join any team).
		cr("POST", "/api/v1/hosts", "/api/v1/hosts", `{"name":"pc2","platform":"test","cores":1}`),
		cr("GET", "/api/v1/contributor/earnings", "/api/v1/contributor/earnings", ""),
		cr("POST", "/api/v1/teams", "/api/v1/teams", `{"name":"early birds"}`),
		cr("GET", "/api/v1/teams", "/api/v1/teams", ""),
		cr("GET", "/api/v1/teams/{teamID}", "/api/v1/teams/"+id(w.team), ""),
		cr("POST", "/api/v1/teams/{teamID}/join", "/api/v1/teams/"+id(w.team)+"/join", ""),
		cr("POST", "/api/v1/team/leave", "/api/v1/team/leave", ""),
		cr("GET", "/api/v1/leaderboard", "/api/v1/leaderboard", ""),
		cr("GET", "/api/v1/contributor/payouts", "/api/v1/contributor/payouts", ""),
		cr("GET", "/api/v1/contributor/statement.csv", "/api/v1/contributor/statement.csv", ""),
		cr("GET", "/api/v1/contributor/preferences", "/api/v1/contributor/preferences", ""),
		cr("PUT", "/api/v1/contributor/preferences", "/api/v1/contributor/preferences", `{"run_on_battery":true}`),
		cr("GET", "/api/v1/contributor/payout-settings", "/api/v1/contributor/payout-settings", ""),
		cr("PUT", "/api/v1/contributor/payout-settings", "/api/v1/contributor/payout-settings", `{"method":"paypal","destination":"x@example.org"}`),

		// Worker: host X works for A, host Y for B.
		w.hostRoute("POST", "/api/v1/work", "/api/v1/work", `{"max_tasks":1}`, hostX, nil),
		w.hostRoute("POST", "/api/v1/reports", "/api/v1/reports", report(a.hostTaskID), hostX,
			&secRequest{method: "POST", path: "/api/v1/reports", body: report(b.hostTaskID), bearer: hostX}),
		// Modules are signed, content-addressed code every host may run:
		// any host may fetch any module by its hash.
		w.hostRoute("GET", "/api/v1/modules/{sha256}", "/api/v1/modules/"+a.moduleSHA, "", hostX,
			&secRequest{method: "GET", path: "/api/v1/modules/" + b.blob, bearer: hostX}), // an input blob is no module
		w.hostRoute("GET", "/api/v1/blobs/{sha256}/range", rangeOf(b), "", hostY,
			&secRequest{method: "GET", path: rangeOf(b), bearer: hostX}),
		w.hostRoute("GET", "/api/v1/host/earnings", "/api/v1/host/earnings", "", hostX, nil),
		w.hostRoute("POST", "/api/v1/host/contact", "/api/v1/host/contact", `{"state":"idle","tasks_running":0}`, hostX, nil),

		// Dashboard: the signed-in pages read the contributor only from the
		// session, so there is no path naming another's data.
		w.webRoute("GET", "/", nil),
		w.webRoute("GET", "/account", nil),
		w.webRoute("POST", "/account/key", nil),
		w.webRoute("POST", "/account/profile", url.Values{"display_name": {"Wendy"}}),
		w.webRoute("GET", "/tasks", nil),
		w.webRoute("GET", "/payouts", nil),
		w.webRoute("GET", "/payouts/statement.csv", nil),
		w.webRoute("POST", "/payouts/settings", url.Values{"method": {"paypal"}, "destination": {"w@example.org"}}),
		w.webRoute("GET", "/hosts", nil),
		w.webRoute("GET", "/preferences", nil),
		w.webRoute("POST", "/preferences", url.Values{"run_on_battery": {"on"}}),
		w.webRoute("GET", "/leaderboard", nil),
		w.webRoute("GET", "/projects", nil),
	})
}

// mergeExtra folds tenantOnly entries into their routes' entries.
func mergeExtra(routes []secRoute) []secRoute {
	var out []secRoute
	at := map[string]int{}
	for _, r := range routes {
		if i, ok := at[r.key()]; ok && r.extra {
			out[i].denials = append(out[i].denials, r.denials...)
			continue
		}
		at[r.key()] = len(out)
		out = append(out, r)
	}
	return out
}

// walkedRoutes is every method and pattern the server's router serves.
func walkedRoutes(t *testing.T, h http.Handler) []string {
	t.Helper()
	routes, ok := h.(chi.Routes)
	if !ok {
		t.Fatal("httpapi.NewServer no longer returns a chi router: the security matrix cannot walk its routes")
	}
	var out []string
	err := chi.Walk(routes, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		out = append(out, method+" "+pattern)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// publicReason returns why a walked route is public, if it is.
func publicReason(route string) (string, bool) {
	if r, ok := secPublic[route]; ok {
		return r, true
	}
	_, pattern, _ := strings.Cut(route, " ")
	r, ok := secPublic["* "+pattern]
	return r, ok
}

func TestSecurityMatrix(t *testing.T) {
	w := setupSecWorld(t)
	matrix := w.secMatrix()

	t.Run("covers every route", func(t *testing.T) {
		walked := walkedRoutes(t, w.h)
		inTable := map[string]bool{}
		for _, r := range matrix {
			if inTable[r.key()] {
				t.Errorf("%s is in the matrix twice", r.key())
			}
			inTable[r.key()] = true
			if _, public := publicReason(r.key()); public {
				t.Errorf("%s is both public and in the matrix", r.key())
			}
		}
		seen := map[string]bool{}
		for _, route := range walked {
			seen[route] = true
			_, pattern, _ := strings.Cut(route, " ")
			seen["* "+pattern] = true
			if _, public := publicReason(route); !public && !inTable[route] {
				t.Errorf("%s has no entry in the security matrix: add its denials (or, if it is meant for anyone, to secPublic with the reason)", route)
			}
		}
		for key := range inTable {
			if !seen[key] {
				t.Errorf("the matrix names %s, which the router no longer serves", key)
			}
		}
		for key := range secPublic {
			if !seen[key] {
				t.Errorf("secPublic names %s, which the router no longer serves", key)
			}
		}
		if len(walked) < 60 {
			t.Errorf("walked only %d routes: the walk no longer descends into the router", len(walked))
		}
	})

	denials := 0
	for _, r := range matrix {
		t.Run("deny/"+r.key(), func(t *testing.T) {
			mutating := r.method != http.MethodGet
			var before string
			if mutating {
				before = w.snapshot(t)
			}
			for _, d := range r.denials {
				denials++
				resp := w.do(t, d.req)
				w.checkDenied(t, r, d, resp)
			}
			if mutating {
				if after := w.snapshot(t); after != before {
					t.Errorf("refused requests changed the state:\n%s", diffLines(before, after))
				}
			}
		})
	}

	// Positive controls last: some of them change things, but only the
	// caller's own.
	tenantBefore := w.tenantSnapshot(t)
	for _, r := range matrix {
		t.Run("allow/"+r.key(), func(t *testing.T) {
			resp := w.do(t, r.good)
			switch {
			case resp.status == 401 || resp.status == 403 || resp.status == 404 || resp.status >= 500:
				t.Errorf("the right credential was refused: %s %s → %d %s", r.good.method, r.good.path, resp.status, resp.body)
			case r.web && resp.status == http.StatusSeeOther && strings.HasPrefix(resp.location, "/signin"):
				t.Errorf("a live session was sent to sign in: %s %s → %s", r.good.method, r.good.path, resp.location)
			}
		})
	}

	if after := w.tenantSnapshot(t); after != tenantBefore {
		t.Errorf("project A's keys, contributor A, host X and the operator changed what is B's:\n%s", diffLines(tenantBefore, after))
	}

	t.Run("public routes answer without credentials", func(t *testing.T) {
		for _, path := range []string{"/healthz", "/signin", "/signup", "/static/style.css"} {
			if resp := w.do(t, secRequest{method: "GET", path: path}); resp.status != http.StatusOK {
				t.Errorf("GET %s without credentials: %d, want 200", path, resp.status)
			}
		}
	})
	t.Logf("security matrix: %d routes with %d denials and %d positive controls; %d public routes", len(matrix), denials, len(matrix), len(secPublic))
}

// checkDenied checks one refusal: its status, and its form — a JSON error
// on the API; on the dashboard a redirect to sign in, or an HTML page.
func (w *secWorld) checkDenied(t *testing.T, r secRoute, d secDenial, resp secResponse) {
	t.Helper()
	if resp.status != d.want {
		t.Errorf("%s: %s %s → %d, want %d; body %.300s", d.name, d.req.method, d.req.path, resp.status, d.want, resp.body)
		return
	}
	if r.web {
		if resp.status == http.StatusSeeOther && !strings.HasPrefix(resp.location, "/signin") {
			t.Errorf("%s: redirected to %q, want /signin", d.name, resp.location)
		}
		if resp.status == http.StatusForbidden && !strings.HasPrefix(resp.ctype, "text/html") {
			t.Errorf("%s: refused with Content-Type %q, want an HTML page", d.name, resp.ctype)
		}
		return
	}
	var body api.ErrorResponse
	if err := json.Unmarshal(resp.body, &body); err != nil || body.Error.Code == "" || body.Error.Message == "" ||
		!strings.HasPrefix(resp.ctype, "application/json") {
		t.Errorf("%s: the refusal is not a JSON error (Content-Type %q): %.300s", d.name, resp.ctype, resp.body)
	}
	if d.want == 404 && (strings.Contains(body.Error.Message, "project") && strings.Contains(body.Error.Message, itoa(w.b.id))) {
		t.Errorf("%s: the refusal names project B: %s", d.name, body.Error.Message)
	}
}

// diffLines shows the lines of after that differ from before.
func diffLines(before, after string) string {
	b, a := strings.Split(before, "\n"), strings.Split(after, "\n")
	var out []string
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(b) {
			x = b[i]
		}
		if i < len(a) {
			y = a[i]
		}
		if x != y {
			out = append(out, "- "+x, "+ "+y)
		}
	}
	return strings.Join(slices.Clip(out), "\n")
}
