package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/httpapi"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// The fuzz targets here send each request body the API decodes through the
// real handler, a real service and the embedded store. Whatever the body:
// no panic, no 5xx, a 4xx carries a JSON error, and after a 2xx the ledger
// still balances (plus what each target checks of its own state).

// fuzzAPI is one coordinator with a project, a contributor with a host
// holding leased tasks, and an open payout run.
type fuzzAPI struct {
	h                         http.Handler
	st                        store.Store
	projectKey, account, host string
	projectID, hostID, runID  int64
	jobID                     int64
	taskIDs                   []int64
}

func setupFuzzAPI(f *testing.F) *fuzzAPI {
	f.Helper()
	ctx := context.Background()
	svc, st := newService(f, service.Options{})
	a := &fuzzAPI{h: httpapi.NewServer(svc, quietLog), st: st}
	srv := httptest.NewServer(a.h)
	f.Cleanup(srv.Close)

	operator := client.New(srv.URL, operatorKey, nil)
	project, err := operator.CreateProject(ctx, "lab")
	if err != nil {
		f.Fatal(err)
	}
	a.projectID, a.projectKey = project.ID, project.APIKey
	research := operator.WithKey(project.APIKey)
	signer, err := operator.EnrollSigner(ctx, project.ID)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := signer.Upload(ctx, research, "app", []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}); err != nil {
		f.Fatal(err)
	}
	if _, err := operator.FundProject(ctx, project.ID, api.FundRequest{AmountMicros: 50_000_000, IdempotencyKey: "grant"}); err != nil {
		f.Fatal(err)
	}
	job, err := research.SubmitJob(ctx, api.SubmitJobRequest{App: "app", Units: []json.RawMessage{[]byte(`{"n":1}`), []byte(`{"n":2}`)}, RewardMicros: 1000})
	if err != nil {
		f.Fatal(err)
	}
	a.jobID = job.ID
	c, err := operator.WithKey("").CreateContributor(ctx, "ada")
	if err != nil {
		f.Fatal(err)
	}
	a.account = c.AccountKey
	h, err := operator.WithKey(c.AccountKey).RegisterHost(ctx, api.RegisterHostRequest{Name: "pc", Platform: "test", Cores: 2})
	if err != nil {
		f.Fatal(err)
	}
	a.hostID, a.host = h.ID, h.HostToken
	work, err := operator.WithKey(h.HostToken).RequestWork(ctx, 2)
	if err != nil {
		f.Fatal(err)
	}
	for _, t := range work.Tasks {
		a.taskIDs = append(a.taskIDs, t.ID)
	}
	// A payout run with lines: money straight into the contributor's balance.
	txs := []payouts.Transaction{payouts.Fund(project.ID, 5_000_000, "payout grant"), payouts.Escrow(9999, project.ID, 4_000_000),
		payouts.Reserve(9999, 9999, c.ID, 3_000_000), payouts.Post(9999, c.ID, 3_000_000, 0)}
	if err := st.InTx(ctx, func(tx store.Tx) error {
		_, err := tx.LedgerRecordMany(ctx, txs, time.Now())
		return err
	}); err != nil {
		f.Fatal(err)
	}
	if _, err := operator.WithKey(c.AccountKey).SetPayoutSettings(ctx, api.PutPayoutSettingsRequest{Method: "paypal", Destination: "ada@example.com"}); err != nil {
		f.Fatal(err)
	}
	status, raw := a.send(f, "POST", "/api/v1/payout-runs", operatorKey, "application/json", []byte(`{}`), "Idempotency-Key", "run-1")
	if status != http.StatusCreated {
		f.Fatalf("payout run: %d %s", status, raw)
	}
	var run api.PayoutRun
	if err := json.Unmarshal(raw, &run); err != nil {
		f.Fatal(err)
	}
	a.runID = run.ID
	return a
}

// send serves one request in-process, checking what holds for every answer.
func (a *fuzzAPI) send(t testing.TB, method, path, key, contentType string, body []byte, header ...string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, "http://coordinator.test"+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	raw := rec.Body.Bytes()
	switch {
	case rec.Code >= 500:
		t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, raw)
	case rec.Code >= 400:
		var e api.ErrorResponse
		if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s %s %q: %d with a body that is not a JSON error: %s", method, path, body, rec.Code, raw)
		}
	}
	return rec.Code, raw
}

// balanced fails t unless the ledger audit is clean.
func (a *fuzzAPI) balanced(t testing.TB) {
	t.Helper()
	status, raw := a.send(t, "GET", "/api/v1/ledger/audit", operatorKey, "", nil)
	var audit api.LedgerAudit
	if status != http.StatusOK || json.Unmarshal(raw, &audit) != nil || !audit.Balanced || len(audit.NegativeAccounts) > 0 || audit.StaleBalances > 0 {
		t.Fatalf("ledger audit after a 2xx: %d %s", status, raw)
	}
}

// bodyTarget fuzzes one route's request body; check, if set, tests the
// state after a 2xx.
type bodyTarget struct {
	method, path, key string
	seeds             []string
	check             func(t *testing.T, a *fuzzAPI, body, resp []byte)
}

func fuzzBody(f *testing.F, target func(a *fuzzAPI) bodyTarget) {
	a := setupFuzzAPI(f)
	bt := target(a)
	for _, s := range append(bt.seeds, ``, `{`, `null`, `[]`, `{"unknown":1}`, `{} {}`, `"x"`) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		status, resp := a.send(t, bt.method, bt.path, bt.key, "application/json", body)
		if status >= 300 {
			return
		}
		if !json.Valid(resp) {
			t.Fatalf("%d with a body that is not JSON: %s", status, resp)
		}
		a.balanced(t)
		if bt.check != nil {
			bt.check(t, a, body, resp)
		}
	})
}

// getJSON fetches path and decodes the 200 answer into v.
func (a *fuzzAPI) getJSON(t *testing.T, path, key string, v any) {
	t.Helper()
	status, raw := a.send(t, "GET", path, key, "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, raw)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func FuzzProjectCreateBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"POST", "/api/v1/projects", operatorKey, []string{`{"name":"climate"}`,
			`{"name":"x","share":50,"description":"folds proteins","admin":{"name":"grace","email":"grace@example.com"}}`,
			`{"name":"x","signing_public_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`, `{"name":""}`, `{"name":"x","share":0}`},
			func(t *testing.T, a *fuzzAPI, _, resp []byte) {
				var p api.Project
				if err := json.Unmarshal(resp, &p); err != nil || p.ID == 0 || p.APIKey == "" {
					t.Fatalf("created %s", resp)
				}
				var got api.Project
				a.getJSON(t, fmt.Sprintf("/api/v1/projects/%d", p.ID), operatorKey, &got)
				if got.Name != p.Name || got.Share != p.Share || got.Description != p.Description {
					t.Fatalf("created %+v, stored %+v", p, got)
				}
			}}
	})
}

func FuzzProjectUpdateBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"PATCH", fmt.Sprintf("/api/v1/projects/%d", a.projectID), operatorKey,
			[]string{`{"name":"lab2"}`, `{"share":300}`, `{"description":"new"}`, `{"share":-1}`, `{"name":null}`},
			func(t *testing.T, a *fuzzAPI, _, resp []byte) {
				var p, got api.Project
				json.Unmarshal(resp, &p)
				a.getJSON(t, fmt.Sprintf("/api/v1/projects/%d", a.projectID), operatorKey, &got)
				if got.Name != p.Name || got.Share != p.Share || got.Description != p.Description {
					t.Fatalf("answered %+v, stored %+v", p, got)
				}
			}}
	})
}

func FuzzProjectFundBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"POST", fmt.Sprintf("/api/v1/projects/%d/funds", a.projectID), operatorKey,
			[]string{`{"amount_micros":1000000,"idempotency_key":"grant-2"}`, `{"amount_micros":-5,"idempotency_key":"k"}`,
				`{"amount_micros":9223372036854775807,"idempotency_key":"big"}`, `{"amount_micros":1}`}, nil}
	})
}

func FuzzSigningKeyBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"PUT", fmt.Sprintf("/api/v1/projects/%d/signing-key", a.projectID), operatorKey,
			[]string{`{"public_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`, `{"public_key":"short"}`, `{"public_key":""}`}, nil}
	})
}

func FuzzClawbackBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"POST", fmt.Sprintf("/api/v1/hosts/%d/clawback", a.hostID), operatorKey,
			[]string{`{"since":"2026-01-01T00:00:00Z","reason":"cheating"}`, `{"since":"not a time","reason":"x"}`,
				`{"since":"0001-01-01T00:00:00Z","reason":""}`, `{"since":"9999-12-31T23:59:59Z","reason":"future"}`}, nil}
	})
}

func FuzzPayoutRunCreateBody(f *testing.F) {
	a := setupFuzzAPI(f)
	for _, s := range []string{`{}`, `{"threshold_micros":1000000}`, `{"threshold_micros":-1}`, ``, `{"threshold_micros":1e99}`} {
		f.Add([]byte(s), "run-2")
	}
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		status, resp := a.send(t, "POST", "/api/v1/payout-runs", operatorKey, "application/json", body, "Idempotency-Key", key)
		if status >= 300 {
			return
		}
		a.balanced(t)
		var run, got api.PayoutRun
		if err := json.Unmarshal(resp, &run); err != nil {
			t.Fatal(err)
		}
		a.getJSON(t, fmt.Sprintf("/api/v1/payout-runs/%d", run.ID), operatorKey, &got)
		if got.TotalMicros != run.TotalMicros || got.LineCount != run.LineCount || len(got.Lines) != got.LineCount {
			t.Fatalf("made %+v, stored %+v", run, got)
		}
		var sum int64
		for _, l := range got.Lines {
			sum += l.AmountMicros
		}
		if sum != got.TotalMicros {
			t.Fatalf("run %d: lines sum to %d, total %d", got.ID, sum, got.TotalMicros)
		}
	})
}

// FuzzPayoutResultsBody imports processors' result files, CSV or JSON.
func FuzzPayoutResultsBody(f *testing.F) {
	a := setupFuzzAPI(f)
	for _, s := range []string{"line_id,status,reference\n1,paid,TX-1\n", "line_id,status\n1,failed\n",
		`[{"line_id":1,"status":"paid","reference":"TX-1"}]`, `[{"line_id":999,"status":"paid"}]`, "", "[", "line_id,status\n1,paid\n1,paid\n"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		ct := "text/csv"
		if asJSON {
			ct = "application/json"
		}
		status, resp := a.send(t, "POST", fmt.Sprintf("/api/v1/payout-runs/%d/results", a.runID), operatorKey, ct, body)
		if status >= 300 {
			return
		}
		a.balanced(t)
		var imp api.PayoutImportResult
		if err := json.Unmarshal(resp, &imp); err != nil {
			t.Fatal(err)
		}
		var got api.PayoutRun
		a.getJSON(t, fmt.Sprintf("/api/v1/payout-runs/%d", a.runID), operatorKey, &got)
		if imp.Settled+imp.Returned+imp.Unchanged > got.LineCount || imp.Settled < 0 || imp.Returned < 0 {
			t.Fatalf("import %+v of a run with %d lines", imp, got.LineCount)
		}
	})
}

func FuzzKeyCreateBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"POST", "/api/v1/project/keys", a.projectKey,
			[]string{`{"name":"ci","role":"viewer"}`, `{"name":"ci","role":"admin"}`, `{"name":"x","role":"owner"}`, `{"name":"x","member_id":999}`},
			func(t *testing.T, a *fuzzAPI, _, resp []byte) {
				var k api.APIKey
				if err := json.Unmarshal(resp, &k); err != nil || k.ID == 0 {
					t.Fatalf("created %s", resp)
				}
				if _, err := workunits.ParseRole(k.Role); err != nil {
					t.Fatalf("created a key with role %q", k.Role)
				}
			}}
	})
}

func FuzzMemberCreateBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"POST", "/api/v1/project/members", a.projectKey,
			[]string{`{"name":"grace","email":"grace@example.com","role":"researcher"}`, `{"name":"x","email":"nope","role":"viewer"}`, `{"name":"","role":"admin"}`},
			func(t *testing.T, a *fuzzAPI, _, resp []byte) {
				var m api.Member
				if err := json.Unmarshal(resp, &m); err != nil || m.ID == 0 {
					t.Fatalf("created %s", resp)
				}
				if _, err := workunits.ParseRole(m.Role); err != nil {
					t.Fatalf("created a member with role %q", m.Role)
				}
			}}
	})
}

func FuzzJobSubmitBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"POST", "/api/v1/jobs", a.projectKey,
			[]string{`{"app":"app","units":[{"k":3,"seed":1,"n":10}],"reward_micros":100}`,
				`{"app":"app","sweep":{"k":{"values":[2,3]},"seed":{"from":1,"to":3}},"reward_micros":10,"policy":{"quorum":2,"replicas":2}}`,
				`{"app":"app","units":[1],"priority":5,"budget_cap_micros":1000}`, `{"app":"app","units":[1],"reward_micros":-1}`,
				`{"app":"nope","units":[1]}`, `{"app":"app","splitter":"sweep","units":[1]}`,
				`{"app":"app","units":[1],"webhook":{"url":"https://lab.example/hook","secret":"0123456789abcdef"}}`,
				`{"app":"app","chunks":{"blob":"` + fmt.Sprintf("%064x", 0) + `","by":"lines","size":1}}`},
			func(t *testing.T, a *fuzzAPI, _, resp []byte) {
				var j, got api.Job
				if err := json.Unmarshal(resp, &j); err != nil || j.ID == 0 {
					t.Fatalf("submitted %s", resp)
				}
				a.getJSON(t, fmt.Sprintf("/api/v1/jobs/%d", j.ID), a.projectKey, &got)
				if got.UnitCount != j.UnitCount || got.RewardMicros != j.RewardMicros || j.UnitCount < 1 {
					t.Fatalf("submitted %+v, stored %+v", j, got)
				}
			}}
	})
}

func FuzzContributorCreateBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"POST", "/api/v1/contributors", "",
			[]string{`{"name":"bob"}`, `{"name":"carol","email":"carol@example.com","password":"correct horse battery"}`,
				`{"name":"x","password":"short"}`, `{"name":"ada"}`, `{"name":"x","email":"not-an-email"}`},
			func(t *testing.T, a *fuzzAPI, _, resp []byte) {
				var c api.Contributor
				if err := json.Unmarshal(resp, &c); err != nil || c.AccountKey == "" {
					t.Fatalf("created %s", resp)
				}
				var e api.Earnings
				a.getJSON(t, "/api/v1/contributor/earnings", c.AccountKey, &e)
			}}
	})
}

func FuzzHostRegisterBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"POST", "/api/v1/hosts", a.account,
			[]string{`{"name":"laptop","platform":"linux/amd64","cores":8}`, `{"name":"x","platform":"y","cores":0}`,
				`{"name":"x","platform":"y","cores":4,"ops_per_second":1e9}`, `{"name":"x","platform":"y","cores":4,"ops_per_second":-1}`},
			func(t *testing.T, a *fuzzAPI, _, resp []byte) {
				var h api.Host
				if err := json.Unmarshal(resp, &h); err != nil || h.HostToken == "" {
					t.Fatalf("registered %s", resp)
				}
				var e api.Earnings
				a.getJSON(t, "/api/v1/host/earnings", h.HostToken, &e)
			}}
	})
}

func FuzzTeamCreateBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"POST", "/api/v1/teams", a.account,
			[]string{`{"name":"crunchers","description":"we crunch"}`, `{"name":""}`, `{"name":"crunchers"}`}, nil}
	})
}

func FuzzWebPreferencesBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"PUT", "/api/v1/contributor/preferences", a.account,
			[]string{`{"idle_minutes":20,"active_hours":"sat,sun 00:00-24:00"}`, `{"max_other_cpu_percent":50,"run_on_battery":true}`,
				`{"idle_minutes":5000}`, `{"active_hours":"weekends"}`, `{"active_hours":""}`, `{}`},
			func(t *testing.T, a *fuzzAPI, body, resp []byte) {
				var put, got api.ContributorPreferences
				if err := json.Unmarshal(resp, &put); err != nil {
					t.Fatal(err)
				}
				if err := put.Preferences.Validate(); err != nil {
					t.Fatalf("stored invalid preferences %s: %v", resp, err)
				}
				a.getJSON(t, "/api/v1/contributor/preferences", a.account, &got)
				if got.Version != put.Version || !reflect.DeepEqual(got.Preferences, put.Preferences) {
					t.Fatalf("PUT answered %s, GET %+v", resp, got)
				}
			}}
	})
}

func FuzzPayoutSettingsBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"PUT", "/api/v1/contributor/payout-settings", a.account,
			[]string{`{"method":"paypal","destination":"ada@example.com"}`, `{"method":"sepa","destination":"DE89 3704 0044 0532 0130 00","threshold_micros":20000000}`,
				`{"method":"cash","destination":"x"}`, `{"threshold_micros":-1}`},
			func(t *testing.T, a *fuzzAPI, _, resp []byte) {
				var put, got api.PayoutSettings
				if err := json.Unmarshal(resp, &put); err != nil {
					t.Fatal(err)
				}
				a.getJSON(t, "/api/v1/contributor/payout-settings", a.account, &got)
				if !reflect.DeepEqual(put, got) {
					t.Fatalf("PUT answered %+v, GET %+v", put, got)
				}
			}}
	})
}

func FuzzWorkRequestBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"POST", "/api/v1/work", a.host,
			[]string{`{"max_tasks":1}`, `{"max_tasks":4,"skip_jobs":[1,2]}`, `{"max_tasks":0}`, `{"max_tasks":-1}`,
				`{"max_tasks":1000000}`, `{"max_tasks":1,"ops_per_second":1e308}`}, nil}
	})
}

func FuzzReportsBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		var seeds []string
		for _, id := range a.taskIDs {
			seeds = append(seeds, fmt.Sprintf(`{"reports":[{"task_id":%d,"outcome":"success","output":"eyJvayI6dHJ1ZX0=","cpu_seconds":1.5}]}`, id),
				fmt.Sprintf(`{"reports":[{"task_id":%d,"outcome":"error","stderr":"trap","cpu_seconds":0.1}]}`, id))
		}
		seeds = append(seeds, `{"reports":[]}`, `{"reports":[{"task_id":999999,"outcome":"success"}]}`,
			`{"reports":[{"task_id":1,"outcome":"maybe"}]}`, `{"reports":[{"task_id":1,"outcome":"success","cpu_seconds":-1}]}`,
			`{"reports":[{"task_id":1,"outcome":"success","output":"not base64"}]}`)
		return bodyTarget{"POST", "/api/v1/reports", a.host, seeds, nil}
	})
}

func FuzzHostContactBody(f *testing.F) {
	fuzzBody(f, func(a *fuzzAPI) bodyTarget {
		return bodyTarget{"POST", "/api/v1/host/contact", a.host,
			[]string{`{"state":"suspended","reason":"user_active","detail":"input 2s ago","tasks_running":1}`, `{"state":"idle","tasks_running":0}`,
				`{"state":"running","tasks_running":2,"ops_per_second":1.5e9}`, `{"state":"asleep","tasks_running":0}`, `{"state":"idle","tasks_running":-1}`}, nil}
	})
}

// FuzzQueryParams sends fuzzed query strings and path segments to the GET
// routes: a bad one is a 4xx, never a 5xx.
func FuzzQueryParams(f *testing.F) {
	a := setupFuzzAPI(f)
	type route struct{ path, key string }
	routes := []route{
		{"/api/v1/jobs", a.projectKey}, {"/api/v1/jobs/%s", a.projectKey}, {"/api/v1/jobs/%s/units", a.projectKey},
		{"/api/v1/jobs/1/units/%s", a.projectKey}, {"/api/v1/jobs/1/units/%s/output", a.projectKey}, {"/api/v1/jobs/%s/results", a.projectKey},
		{"/api/v1/blobs", a.projectKey}, {"/api/v1/blobs/%s", a.projectKey}, {"/api/v1/apps/%s/versions", a.projectKey},
		{"/api/v1/apps/app/versions/%s", a.projectKey}, {"/api/v1/project/spend", a.projectKey}, {"/api/v1/project/spend.csv", a.projectKey},
		{"/api/v1/payout-runs", operatorKey}, {"/api/v1/payout-runs/%s", operatorKey}, {"/api/v1/payout-runs/%s/file.csv", operatorKey},
		{"/api/v1/credits/refused", operatorKey}, {"/api/v1/hosts/%s/trust", operatorKey}, {"/api/v1/hosts/%s/clawbacks", operatorKey},
		{"/api/v1/projects/%s", operatorKey}, {"/api/v1/teams", a.account}, {"/api/v1/teams/%s", a.account},
		{"/api/v1/leaderboard", a.account}, {"/api/v1/contributor/payouts", a.account}, {"/api/v1/contributor/statement.csv", a.account},
		{"/api/v1/modules/%s", a.host}, {"/api/v1/blobs/%s/range", a.host},
	}
	for _, q := range []string{"limit=10", "limit=-1", "limit=abc", "cursor=eyJ9", "state=done", "state=bogus", "before=5", "format=json",
		"by=rac&limit=1000000", "offset=1&length=10", "limit=99999999999999999999", "cursor=" + fmt.Sprintf("%0300d", 0)} {
		for i := range routes {
			f.Add(uint8(i), "1", q)
		}
	}
	f.Add(uint8(1), "-1", "")
	f.Add(uint8(1), "99999999999999999999", "")
	f.Add(uint8(7), "abc", "")
	f.Fuzz(func(t *testing.T, which uint8, segment, query string) {
		r := routes[int(which)%len(routes)]
		path := r.path
		if bytes.Contains([]byte(path), []byte("%s")) {
			path = fmt.Sprintf(path, urlSegment(segment))
		}
		if query != "" {
			path += "?" + urlQuery(query)
		}
		a.send(t, "GET", path, r.key, "", nil)
	})
}

// urlSegment escapes s into one path segment; urlQuery keeps a query's
// structure but escapes what a URL cannot hold.
func urlSegment(s string) string {
	var b bytes.Buffer
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if b.Len() == 0 {
		return "%20"
	}
	return b.String()
}

func urlQuery(s string) string {
	var b bytes.Buffer
	for _, c := range []byte(s) {
		if c > ' ' && c < 0x7f && c != '#' && c != '%' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
