package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
)

// snapshot is everything a bad request must leave unchanged.
func (b *bundle) snapshot(t *testing.T, jobID int64, accounts ...*client.Client) string {
	t.Helper()
	job := b.job(t, jobID)
	if p := job.Progress; p != nil {
		// Pace is a rate over time, so it moves while nothing changes.
		p.UnitsPerHour, p.UnitsPerHourLifetime, p.ETASeconds = 0, 0, nil
	}
	proj, err := b.research.Project(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]any{"job": job, "budget": proj.BudgetMicros, "ledger": b.audit(t)}
	for i, a := range accounts {
		e := earnings(t, a)
		for j := range e.Hosts {
			e.Hosts[j].LastContactAt = nil // contact times move with every request, by design
		}
		state["earnings"+string(rune('0'+i))] = e
	}
	out, err := json.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestBadInputGetsJSONErrorAndChangesNothing(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	job := b.submit(t, api.Policy{MinQuorum: 2, TargetReplicas: 2, DeadlineSeconds: 600}, 100, `{"k":1,"seed":1,"n":10}`)
	ada, grace := b.contributor(t, "Ada"), b.contributor(t, "Grace")
	hostA, hostB := b.host(t, ada, "pc-a"), b.host(t, grace, "pc-b")
	leaseA, err := hostA.RequestWork(ctx, 1)
	if err != nil || len(leaseA.Tasks) != 1 {
		t.Fatalf("lease: %+v, %v", leaseA, err)
	}
	leaseB, err := hostB.RequestWork(ctx, 1)
	if err != nil || len(leaseB.Tasks) != 1 {
		t.Fatalf("lease: %+v, %v", leaseB, err)
	}
	taskA := leaseA.Tasks[0].ID
	// One accepted report, so that a second report of the same task can be tried.
	if _, err := hostA.Report(ctx, []api.Report{{TaskID: taskA, Outcome: "success", Output: []byte("x"), CPUSeconds: 1}}); err != nil {
		t.Fatal(err)
	}
	hostToken := hostB.Key()
	accountKey := ada.Key()

	tests := []struct {
		name        string
		method      string
		path        string
		key         string
		contentType string
		body        string
		wantStatus  int
		wantInMsg   string
	}{
		{"malformed JSON", "POST", "/api/v1/jobs", b.project.APIKey, "application/json", `{"app":"markers",`, 400, "malformed JSON"},
		{"trailing garbage", "POST", "/api/v1/jobs", b.project.APIKey, "application/json", `{"app":"markers","units":[1]} x`, 400, "exactly one JSON value"},
		{"unknown field", "POST", "/api/v1/jobs", b.project.APIKey, "application/json", `{"app":"markers","units":[1],"colour":"red"}`, 400, `unknown field "colour"`},
		{"wrong type", "POST", "/api/v1/jobs", b.project.APIKey, "application/json", `{"app":"markers","units":[1],"reward_micros":"lots"}`, 400, "reward_micros"},
		{"unknown app", "POST", "/api/v1/jobs", b.project.APIKey, "application/json", `{"app":"nosuchapp","units":[{"k":1}]}`, 404, `app "nosuchapp" not found`},
		{"no units", "POST", "/api/v1/jobs", b.project.APIKey, "application/json", `{"app":"markers","units":[]}`, 400, "at least one unit"},
		{"bad policy", "POST", "/api/v1/jobs", b.project.APIKey, "application/json", `{"app":"markers","units":[1],"policy":{"min_quorum":3,"target_replicas":2}}`, 400, "target_replicas"},
		{"priority out of range", "POST", "/api/v1/jobs", b.project.APIKey, "application/json", `{"app":"markers","units":[1],"priority":5000}`, 400, "priority"},
		{"upload not wasm", "POST", "/api/v1/apps/markers/versions", b.project.APIKey, "application/wasm", "#!/bin/sh\necho hi\n", 400, "not a WebAssembly module"},
		{"upload truncated wasm", "POST", "/api/v1/apps/markers/versions", b.project.APIKey, "application/wasm", "\x00asm\x01\x00\x00\x00\x01\x05", 400, "does not compile"},
		{"upload bad app name", "POST", "/api/v1/apps/Bad%20Name/versions", b.project.APIKey, "application/wasm", "\x00asm\x01\x00\x00\x00", 400, "app name"},
		{"missing key", "GET", "/api/v1/jobs/1", "", "", "", 401, "missing credentials"},
		{"wrong project key", "GET", "/api/v1/jobs/1", "nsp_wrong", "", "", 401, "invalid project key"},
		{"host token as project key", "GET", "/api/v1/jobs/1", hostToken, "", "", 401, "invalid project key"},
		{"missing operator key", "POST", "/api/v1/projects", "", "application/json", `{"name":"x"}`, 401, "missing credentials"},
		{"wrong operator key", "POST", "/api/v1/projects/1/funds", "nso_wrong", "application/json", `{"amount_micros":5,"idempotency_key":"k"}`, 401, "invalid operator key"},
		{"wrong host token", "POST", "/api/v1/work", "nsh_wrong", "application/json", `{"max_tasks":1}`, 401, "invalid host token"},
		{"wrong account key", "POST", "/api/v1/hosts", "nsa_wrong", "application/json", `{"name":"x","platform":"y","cores":1}`, 401, "invalid account key"},
		{"another project's job", "GET", "/api/v1/jobs/999", b.project.APIKey, "", "", 404, "job 999 not found"},
		{"bad job id", "GET", "/api/v1/jobs/abc", b.project.APIKey, "", "", 400, "jobID"},
		{"report for another host's task", "POST", "/api/v1/reports", hostToken, "application/json",
			`{"reports":[{"task_id":` + itoa(taskA) + `,"outcome":"success","output":"eA=="}]}`, 404, "not assigned to this host"},
		{"report for unknown task", "POST", "/api/v1/reports", hostToken, "application/json",
			`{"reports":[{"task_id":99999,"outcome":"success","output":"eA=="}]}`, 404, "not assigned to this host"},
		{"second report of a task", "POST", "/api/v1/reports", hostA.Key(), "application/json",
			`{"reports":[{"task_id":` + itoa(taskA) + `,"outcome":"success","output":"eA=="}]}`, 409, "already reported"},
		{"batch with one bad report stores none", "POST", "/api/v1/reports", hostToken, "application/json",
			`{"reports":[{"task_id":` + itoa(leaseB.Tasks[0].ID) + `,"outcome":"success","output":"eA=="},{"task_id":` + itoa(taskA) + `,"outcome":"success"}]}`, 404, "not assigned"},
		{"bad outcome", "POST", "/api/v1/reports", hostToken, "application/json",
			`{"reports":[{"task_id":` + itoa(leaseB.Tasks[0].ID) + `,"outcome":"meh"}]}`, 400, "outcome must be"},
		{"deadline that would overflow", "POST", "/api/v1/jobs", b.project.APIKey, "application/json", `{"app":"markers","units":[1],"policy":{"deadline_seconds":18446744075}}`, 400, "deadline_seconds"},
		{"sweep over the whole int64 range", "POST", "/api/v1/jobs", b.project.APIKey, "application/json", `{"app":"markers","sweep":{"a":{"from":-9223372036854775808,"to":9223372036854775807}}}`, 400, "more than"},
		{"too many tasks asked", "POST", "/api/v1/work", hostToken, "application/json", `{"max_tasks":100000}`, 400, "max_tasks"},
		{"a job id to skip that is not one", "POST", "/api/v1/work", hostToken, "application/json", `{"max_tasks":1,"skip_jobs":[0]}`, 400, "skip_jobs"},
		{"too many jobs to skip", "POST", "/api/v1/work", hostToken, "application/json", `{"max_tasks":1,"skip_jobs":[` + strings.Repeat("1,", 1000) + `1]}`, 400, "skip_jobs"},
		{"jobs to skip not a list", "POST", "/api/v1/work", hostToken, "application/json", `{"max_tasks":1,"skip_jobs":7}`, 400, "skip_jobs"},
		{"host without cores", "POST", "/api/v1/hosts", accountKey, "application/json", `{"name":"x","platform":"y","cores":0}`, 400, "cores"},
		{"unknown module", "GET", "/api/v1/modules/" + strings.Repeat("0", 64), hostToken, "", "", 404, "not found"},
		{"unknown route", "GET", "/api/v1/nothing", "", "", "", 404, "no route"},
		{"wrong method", "DELETE", "/api/v1/jobs", b.project.APIKey, "", "", 405, "not allowed"},
	}
	// The payer reserves the report's reward in the background: wait for
	// it, so that nothing moves while the bad requests are tried.
	waitFor(t, 10*time.Second, "the report's reward to be reserved", func() bool { return earnings(t, ada).PendingMicros == 100 })
	before := b.snapshot(t, job.ID, ada, grace)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, b.coord.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, raw)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			var body api.ErrorResponse
			if err := json.Unmarshal(raw, &body); err != nil || body.Error.Code == "" {
				t.Fatalf("body is not a JSON error: %s", raw)
			}
			if !strings.Contains(body.Error.Message, tt.wantInMsg) {
				t.Errorf("message = %q, want it to mention %q", body.Error.Message, tt.wantInMsg)
			}
		})
	}
	if after := b.snapshot(t, job.ID, ada, grace); after != before {
		t.Errorf("bad requests changed stored state:\nbefore %s\nafter  %s", before, after)
	}
	// The refused batch left host B's task in progress and reportable.
	if _, err := hostB.Report(ctx, []api.Report{{TaskID: leaseB.Tasks[0].ID, Outcome: "success", Output: []byte("x")}}); err != nil {
		t.Errorf("the task of the refused batch can no longer be reported: %v", err)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
