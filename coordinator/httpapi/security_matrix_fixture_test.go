package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/httpapi"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/store"
)

// secProject is one research project of the security matrix's world, with
// a key of every role and one of each kind of resource a path can name.
type secProject struct {
	id                          int64
	admin, researcher, viewer   string // live keys of each role
	revoked                     string // an admin key, revoked
	app                         string // an app with version 1
	blob                        string // a blob's SHA-256
	job, spareJob               int64  // spareJob is for the positive controls that change a job
	memberID, keyID             int64  // a removable member (the viewer) and a revocable key (the researcher's)
	revokedKeyID                int64
	moduleSHA                   string
	hostTaskID                  int64 // a task of this project's job leased by this project's host
	rangeOffset, rangeLength    int64 // the input range of hostTaskID when it reads a blob
	client                      *client.Client
	researcherMember, adminUser int64
	spareMember                 int64 // a member without keys, for the positive control that removes one
	doneSeq                     int64 // the seq of a unit of job with an output
}

// secContributor is a contributor with an account key and one host.
type secContributor struct {
	id      int64
	key     string
	hostID  int64
	hostTok string
	oldKey  string // the account key before it was regenerated
}

// secWorld is a coordinator on a fresh SQLite store with two projects (A
// and B), two contributors each with a host (X for A's work, Y for B's),
// and a dashboard user with a live, an expired and a signed-out session.
type secWorld struct {
	h     http.Handler
	svc   *service.Service
	st    store.Store
	a, b  *secProject
	cx    *secContributor // contributor A, host X
	cy    *secContributor // contributor B, host Y
	web   service.NewAccount
	webID int64
	// Dashboard sessions that must not work.
	expiredSession, signedOutSession string
	team                             int64 // a team created by contributor B
	runID                            int64 // a payout run
}

const secOperatorKey = "nso_security_matrix_operator"

func setupSecWorld(t *testing.T) *secWorld {
	t.Helper()
	ctx := t.Context()
	svc, st := newService(t, service.Options{OperatorKey: secOperatorKey, PasswordCost: bcrypt.MinCost})
	w := &secWorld{h: httpapi.NewServer(svc, quietLog), svc: svc, st: st}
	srv := httptest.NewServer(w.h)
	t.Cleanup(srv.Close)
	operator := client.New(srv.URL, secOperatorKey, nil)

	must := func(err error, what string) {
		t.Helper()
		if err != nil {
			t.Fatalf("security matrix fixture: %s: %v", what, err)
		}
	}

	// Contributors and their hosts.
	newContributor := func(name string) *secContributor {
		c, err := operator.WithKey("").CreateContributor(ctx, name)
		must(err, "creating contributor "+name)
		h, err := operator.WithKey(c.AccountKey).RegisterHost(ctx, api.RegisterHostRequest{Name: name + "-pc", Platform: "test", Cores: 2})
		must(err, "registering a host of "+name)
		return &secContributor{id: c.ID, key: c.AccountKey, hostID: h.ID, hostTok: h.HostToken}
	}
	w.cx, w.cy = newContributor("xena"), newContributor("yann")
	// Contributor Y's account key was once another one.
	w.cy.oldKey = w.cy.key
	var err error
	w.cy.key, err = svc.RegenerateAccountKey(ctx, w.cy.id)
	must(err, "regenerating an account key")
	team, err := svc.CreateTeam(ctx, w.cy.id, "night owls", "")
	must(err, "creating a team")
	w.team = team.ID

	// Projects. Each gets its own module bytes (a custom section names it),
	// blob and job, so that no id or hash is shared between A and B.
	newProject := func(name string, blobText string, host *secContributor, chunked bool) *secProject {
		p, err := operator.CreateProjectWith(ctx, api.CreateProjectRequest{Name: "lab " + name,
			Admin: &api.ProjectAdmin{Name: "admin " + name, Email: "admin-" + name + "@example.org"}})
		must(err, "creating project "+name)
		sp := &secProject{id: p.ID, admin: p.APIKey, client: operator.WithKey(p.APIKey)}
		members, err := sp.client.Members(ctx)
		must(err, "listing members")
		sp.adminUser = members[0].ID
		for _, role := range []string{"viewer", "researcher"} {
			m, err := sp.client.AddMember(ctx, api.CreateMemberRequest{Name: role + " " + name, Email: role + "-" + name + "@example.org", Role: role})
			must(err, "adding a "+role)
			k, err := sp.client.CreateAPIKey(ctx, api.CreateAPIKeyRequest{Name: role, MemberID: m.ID})
			must(err, "creating a "+role+" key")
			if role == "viewer" {
				sp.viewer, sp.memberID = k.Key, m.ID
			} else {
				sp.researcher, sp.keyID, sp.researcherMember = k.Key, k.ID, m.ID
			}
		}
		spare, err := sp.client.AddMember(ctx, api.CreateMemberRequest{Name: "spare " + name, Email: "spare-" + name + "@example.org", Role: "viewer"})
		must(err, "adding a spare member")
		sp.spareMember = spare.ID
		rk, err := sp.client.CreateAPIKey(ctx, api.CreateAPIKeyRequest{Name: "old admin key"})
		must(err, "creating a key to revoke")
		must(sp.client.RevokeAPIKey(ctx, rk.ID), "revoking a key")
		sp.revoked, sp.revokedKeyID = rk.Key, rk.ID

		signer, err := operator.EnrollSigner(ctx, p.ID)
		must(err, "enrolling a signer")
		sp.app = "app-" + strings.ToLower(name)
		module := append([]byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00, 0x00, byte(1 + len(name)), byte(len(name))}, name...)
		v, err := signer.Upload(ctx, sp.client, sp.app, module)
		must(err, "uploading an app version")
		sp.moduleSHA = v.SHA256
		_, err = operator.FundProject(ctx, p.ID, api.FundRequest{AmountMicros: 50_000_000, IdempotencyKey: "grant-" + name})
		must(err, "funding")
		b, _, err := sp.client.UploadBlob(ctx, strings.NewReader(blobText))
		must(err, "uploading a blob")
		sp.blob = b.SHA256
		req := api.SubmitJobRequest{App: sp.app, RewardMicros: 1000, Policy: api.Policy{MinQuorum: 1, TargetReplicas: 1}}
		if chunked {
			req.Chunks = &api.Chunks{Blob: sp.blob, By: "bytes", Size: 4}
		} else {
			req.Units = []json.RawMessage{[]byte(`{"n":1}`), []byte(`{"n":2}`)}
		}
		job, err := sp.client.SubmitJob(ctx, req)
		must(err, "submitting a job")
		sp.job = job.ID
		// The project's host leases the job's tasks before the next project
		// has any, and reports the first: its unit 1 then has an output.
		work, err := operator.WithKey(host.hostTok).RequestWork(ctx, 10)
		must(err, "leasing work")
		var own []api.Task // another project's spare job may be leased too
		for _, task := range work.Tasks {
			if task.JobID == sp.job {
				own = append(own, task)
			}
		}
		if len(own) < 2 {
			t.Fatalf("security matrix fixture: host of %s leased %d tasks of its job, want 2", name, len(own))
		}
		first := own[0]
		sp.hostTaskID = first.ID
		if first.InputRef != nil {
			sp.rangeOffset, sp.rangeLength = first.InputRef.Offset, first.InputRef.Length
		}
		_, err = operator.WithKey(host.hostTok).Report(ctx, []api.Report{{TaskID: own[len(own)-1].ID, Outcome: "success", Output: []byte(`{"ok":true}`), CPUSeconds: 1}})
		must(err, "reporting a result")
		units, err := sp.client.Units(ctx, sp.job, client.ListOptions{})
		must(err, "listing units")
		sp.doneSeq = -1
		for _, u := range units.Units {
			if u.State == "done" {
				sp.doneSeq = int64(u.Seq)
			}
		}
		if sp.doneSeq < 0 {
			t.Fatalf("security matrix fixture: no unit of %s's job has an output: %+v", name, units.Units)
		}
		spareJob, err := sp.client.SubmitJob(ctx, api.SubmitJobRequest{App: sp.app, RewardMicros: 1000, Units: []json.RawMessage{[]byte(`{"spare":1}`)}})
		must(err, "submitting a spare job")
		sp.spareJob = spareJob.ID
		return sp
	}
	// B first, so that host Y (contributor B's) leases B's job; then A,
	// leased by host X. A's job reads plain units; B's job reads its blob.
	w.b = newProject("B", "bbbbbbbbbbbbbbbb", w.cy, true)
	w.a = newProject("A", "aaaaaaaaaaaaaaaa", w.cx, false)

	run, err := svc.CreatePayoutRun(ctx, "sec-run", 0)
	must(err, "creating a payout run")
	w.runID = run.ID

	// A dashboard user with a live session, one that has expired and one
	// that was signed out.
	w.web, err = svc.SignUp(ctx, "wendy@example.org", "correct horse battery", "wendy")
	must(err, "signing up")
	w.webID = w.web.Contributor.ID
	sess, err := svc.SignIn(ctx, "wendy@example.org", "correct horse battery", "192.0.2.1")
	must(err, "signing in")
	w.signedOutSession = sess.Token
	must(svc.SignOut(ctx, sess.Token), "signing out")
	// The expired session is started by a service whose clock is two
	// lifetimes behind, so the store keeps it (sign-ins sweep only what
	// has expired by their clock) and it ended a lifetime ago.
	past := service.New(service.Options{Store: st, OperatorKey: secOperatorKey, Logger: quietLog, PasswordCost: bcrypt.MinCost,
		Now: func() time.Time { return time.Now().Add(-2 * service.SessionLifetime) }})
	sess, err = past.SignIn(ctx, "wendy@example.org", "correct horse battery", "192.0.2.1")
	must(err, "signing in in the past")
	w.expiredSession = sess.Token
	if !sess.ExpiresAt.Before(time.Now()) {
		t.Fatalf("security matrix fixture: the expired session ends at %v, not in the past", sess.ExpiresAt)
	}
	return w
}

// racRE matches what changes with the clock alone: recent average credit,
// which decays, and a job's rates and estimate.
var racRE = regexp.MustCompile(`"(rac|units_per_hour|units_per_hour_lifetime|eta_seconds)":[-0-9.e+]+`)

// secRequest is one request to send through the handler.
type secRequest struct {
	method, path, body string
	bearer             string
	session            string     // the dashboard's session cookie
	form               url.Values // a dashboard form (POST)
}

type secResponse struct {
	status   int
	location string
	ctype    string
	body     []byte
}

func (w *secWorld) do(t *testing.T, r secRequest) secResponse {
	t.Helper()
	var body io.Reader = strings.NewReader(r.body)
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	req := httptest.NewRequestWithContext(context.WithoutCancel(t.Context()), r.method, "http://coordinator.test"+r.path, body)
	switch {
	case r.form != nil:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case r.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	if r.session != "" {
		req.AddCookie(&http.Cookie{Name: "nightshift_session", Value: r.session})
	}
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	return secResponse{status: rec.Code, location: rec.Header().Get("Location"), ctype: rec.Header().Get("Content-Type"), body: rec.Body.Bytes()}
}

// snapshot is what a refused request must leave as it was: every
// project's, contributor's and host's state readable through the API with
// the right credentials, and whether each credential still works.
func (w *secWorld) snapshot(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	get := func(key, path string) {
		resp := w.do(t, secRequest{method: "GET", path: path, bearer: key})
		// What changes with the clock alone is left out (racRE).
		fmt.Fprintf(&buf, "%s %d %s\n", path, resp.status, racRE.ReplaceAll(resp.body, []byte(`"$1":…`)))
	}
	for _, p := range []string{"/api/v1/projects", "/api/v1/ledger/audit", "/api/v1/payout-runs", "/api/v1/credits/refused",
		"/api/v1/hosts/" + itoa(w.cx.hostID) + "/clawbacks", "/api/v1/hosts/" + itoa(w.cy.hostID) + "/clawbacks"} {
		get(secOperatorKey, p)
	}
	for _, p := range []*secProject{w.a, w.b} {
		for _, path := range []string{"/api/v1/project", "/api/v1/project/keys", "/api/v1/project/members", "/api/v1/jobs",
			"/api/v1/apps", "/api/v1/apps/" + p.app + "/versions", "/api/v1/blobs", "/api/v1/project/spend",
			"/api/v1/jobs/" + itoa(p.job) + "/units", "/api/v1/jobs/" + itoa(p.spareJob)} {
			get(p.admin, path)
		}
		for _, k := range []string{p.researcher, p.viewer} {
			resp := w.do(t, secRequest{method: "GET", path: "/api/v1/project", bearer: k})
			fmt.Fprintf(&buf, "key works: %d\n", resp.status)
		}
	}
	for _, key := range []string{w.cx.key, w.cy.key, w.web.AccountKey} {
		for _, path := range []string{"/api/v1/contributor/earnings", "/api/v1/contributor/payout-settings",
			"/api/v1/contributor/preferences", "/api/v1/contributor/payouts", "/api/v1/teams", "/api/v1/teams/" + itoa(w.team)} {
			get(key, path)
		}
	}
	for _, tok := range []string{w.cx.hostTok, w.cy.hostTok} {
		get(tok, "/api/v1/host/earnings")
	}
	resp := w.do(t, secRequest{method: "GET", path: "/account", session: w.web.Session.Token})
	fmt.Fprintf(&buf, "session works: %d\n", resp.status)
	return buf.String()
}

// tenantSnapshot is what only project B, contributor B and host Y may
// change: what A's keys, contributor A and host X do leaves it as it was.
// (Teams are shared by design, and the ledger is the operator's, so they
// are not in it.)
func (w *secWorld) tenantSnapshot(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	get := func(key, path string) {
		resp := w.do(t, secRequest{method: "GET", path: path, bearer: key})
		fmt.Fprintf(&buf, "%s %d %s\n", path, resp.status, racRE.ReplaceAll(resp.body, []byte(`"$1":…`)))
	}
	get(secOperatorKey, "/api/v1/projects/"+itoa(w.b.id))
	for _, path := range []string{"/api/v1/project", "/api/v1/project/keys", "/api/v1/project/members", "/api/v1/apps",
		"/api/v1/apps/" + w.b.app + "/versions", "/api/v1/blobs", "/api/v1/project/spend",
		"/api/v1/jobs/" + itoa(w.b.job), "/api/v1/jobs/" + itoa(w.b.job) + "/units", "/api/v1/jobs/" + itoa(w.b.spareJob)} {
		get(w.b.admin, path)
	}
	for _, path := range []string{"/api/v1/contributor/earnings", "/api/v1/contributor/payout-settings",
		"/api/v1/contributor/preferences", "/api/v1/contributor/payouts"} {
		get(w.cy.key, path)
	}
	get(w.cy.hostTok, "/api/v1/host/earnings")
	return buf.String()
}
