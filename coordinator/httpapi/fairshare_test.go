package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/httpapi"
	"github.com/nightshift-platform/nightshift/coordinator/service"
)

const operatorKey = "nso_fairshare_test"

// fairBundle is the real router over a real SQLite store, with one
// project holding an app and one host.
type fairBundle struct {
	url      string
	operator *client.Client
	project  api.Project
	research *client.Client
	host     *client.Client
}

func setupFair(t *testing.T) *fairBundle {
	t.Helper()
	ctx := context.Background()
	svc, _ := newService(t, service.Options{})
	srv := httptest.NewServer(httpapi.NewServer(svc, quietLog))
	t.Cleanup(srv.Close)

	b := &fairBundle{url: srv.URL, operator: client.New(srv.URL, operatorKey, nil)}
	var err error
	if b.project, err = b.operator.CreateProject(ctx, "lab"); err != nil {
		t.Fatal(err)
	}
	b.research = b.operator.WithKey(b.project.APIKey)
	// The smallest module: nothing here runs it.
	signer, err := b.operator.EnrollSigner(ctx, b.project.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signer.Upload(ctx, b.research, "app", []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}); err != nil {
		t.Fatal(err)
	}
	c, err := b.operator.WithKey("").CreateContributor(ctx, "ada")
	if err != nil {
		t.Fatal(err)
	}
	h, err := b.operator.WithKey(c.AccountKey).RegisterHost(ctx, api.RegisterHostRequest{Name: "pc", Platform: "test", Cores: 1})
	if err != nil {
		t.Fatal(err)
	}
	b.host = b.operator.WithKey(h.HostToken)
	return b
}

// call sends a raw request and returns the status and the error body's
// message (empty for a success).
func (b *fairBundle) call(t *testing.T, method, path, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, b.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode < 400 {
		return resp.StatusCode, ""
	}
	var e api.ErrorResponse
	if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code == "" {
		t.Fatalf("%s %s: %d with a body that is not a JSON error: %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, e.Error.Message
}

func TestProjectShareHTTP(t *testing.T) {
	b := setupFair(t)
	ctx := context.Background()
	if b.project.Share != 100 {
		t.Errorf("project created without a share has %d, want 100", b.project.Share)
	}
	p, err := b.operator.CreateProjectWithShare(ctx, "big lab", 300)
	if err != nil || p.Share != 300 {
		t.Fatalf("CreateProjectWithShare(300) = %+v, %v", p, err)
	}
	other := b.operator.WithKey(p.APIKey)

	got, err := b.operator.SetProjectShare(ctx, b.project.ID, 50)
	if err != nil || got.Share != 50 || got.ID != b.project.ID {
		t.Fatalf("SetProjectShare(50) = %+v, %v", got, err)
	}
	if mine, err := b.research.Project(ctx); err != nil || mine.Share != 50 {
		t.Errorf("GET /project after PATCH = %+v, %v; want share 50", mine, err)
	}

	patch := "/api/v1/projects/" + itoa(b.project.ID)
	for _, tt := range []struct {
		name, method, path, key, body string
		status                        int
		inMsg                         string
	}{
		{"create with share 0", "POST", "/api/v1/projects", operatorKey, `{"name":"x","share":0}`, 400, "share"},
		{"create with negative share", "POST", "/api/v1/projects", operatorKey, `{"name":"x","share":-5}`, 400, "share"},
		{"create with share too big", "POST", "/api/v1/projects", operatorKey, `{"name":"x","share":1000001}`, 400, "share"},
		{"create with share not a number", "POST", "/api/v1/projects", operatorKey, `{"name":"x","share":"lots"}`, 400, "share"},
		{"patch share 0", "PATCH", patch, operatorKey, `{"share":0}`, 400, "share must be between 1 and"},
		{"patch share fractional", "PATCH", patch, operatorKey, `{"share":2.5}`, 400, "share"},
		{"patch nothing", "PATCH", patch, operatorKey, `{}`, 400, "nothing to change"},
		{"patch unknown field", "PATCH", patch, operatorKey, `{"colour":"red"}`, 400, `unknown field "colour"`},
		{"patch unknown project", "PATCH", "/api/v1/projects/999", operatorKey, `{"share":5}`, 404, "project 999 not found"},
		{"patch bad project id", "PATCH", "/api/v1/projects/abc", operatorKey, `{"share":5}`, 400, "projectID"},
		{"patch with a project key", "PATCH", patch, b.project.APIKey, `{"share":1000}`, 401, "operator key"},
		{"patch another project with a project key", "PATCH", "/api/v1/projects/" + itoa(p.ID), b.project.APIKey, `{"share":1}`, 401, "operator key"},
		{"patch without a key", "PATCH", patch, "", `{"share":5}`, 401, "missing credentials"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, msg := b.call(t, tt.method, tt.path, tt.key, tt.body)
			if status != tt.status || !strings.Contains(msg, tt.inMsg) {
				t.Errorf("%s %s %s = %d %q, want %d mentioning %q", tt.method, tt.path, tt.body, status, msg, tt.status, tt.inMsg)
			}
		})
	}
	// Nothing the bad requests asked for happened.
	if mine, err := b.research.Project(ctx); err != nil || mine.Share != 50 {
		t.Errorf("share after bad requests = %+v, %v; want still 50", mine, err)
	}
	if theirs, err := other.Project(ctx); err != nil || theirs.Share != 300 {
		t.Errorf("other project's share after bad requests = %+v, %v; want still 300", theirs, err)
	}
	if status, _ := b.call(t, "POST", "/api/v1/projects/3/funds", operatorKey, `{"amount_micros":1,"idempotency_key":"k"}`); status != 404 {
		t.Errorf("a project was created by a refused request: funding project 3 got %d, want 404", status)
	}
}

func TestWaitingJobHTTP(t *testing.T) {
	b := setupFair(t)
	ctx := context.Background()
	submit := `{"app":"app","units":[1,2],"reward_micros":100,"priority":7,"policy":{"min_quorum":1,"target_replicas":1,"max_total_replicas":3}}`

	for _, tt := range []struct {
		name, body, inMsg string
	}{
		{"priority too high", `{"app":"app","units":[1],"priority":1001}`, "priority must be between -1000 and 1000"},
		{"priority too low", `{"app":"app","units":[1],"priority":-1001}`, "priority must be between -1000 and 1000"},
		{"priority not a number", `{"app":"app","units":[1],"priority":"high"}`, "priority"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if status, msg := b.call(t, "POST", "/api/v1/jobs", b.project.APIKey, tt.body); status != 400 || !strings.Contains(msg, tt.inMsg) {
				t.Errorf("submit %s = %d %q, want 400 mentioning %q", tt.body, status, msg, tt.inMsg)
			}
		})
	}
	if status, _ := b.call(t, "GET", "/api/v1/jobs/1", b.project.APIKey, ""); status != 404 {
		t.Fatalf("a refused submission stored job 1: GET got %d, want 404", status)
	}

	// No budget: created, waiting, nothing set aside, nothing leased.
	req := api.SubmitJobRequest{}
	if err := json.Unmarshal([]byte(submit), &req); err != nil {
		t.Fatal(err)
	}
	job, err := b.research.SubmitJob(ctx, req)
	if err != nil {
		t.Fatalf("unfunded submit: %v, want 201 waiting", err)
	}
	if job.State != "waiting" || job.EscrowMicros != 0 || job.Priority != 7 {
		t.Errorf("unfunded job = %+v, want waiting, escrow 0, priority 7", job)
	}
	if w, err := b.host.RequestWork(ctx, 4); err != nil || len(w.Tasks) != 0 {
		t.Errorf("work for a waiting job = %+v, %v; want none", w, err)
	}
	// Another project's key: not found, not forbidden.
	stranger, err := b.operator.CreateProject(ctx, "stranger")
	if err != nil {
		t.Fatal(err)
	}
	if status, msg := b.call(t, "GET", "/api/v1/jobs/"+itoa(job.ID), stranger.APIKey, ""); status != 404 || !strings.Contains(msg, "not found") {
		t.Errorf("another project's key on the waiting job = %d %q, want 404", status, msg)
	}

	// Funded: the job is active, its escrow set aside, its tasks leased.
	fund, err := b.operator.FundProject(ctx, b.project.ID, api.FundRequest{AmountMicros: 1000, IdempotencyKey: "grant"})
	if err != nil || fund.BudgetMicros != 400 {
		t.Fatalf("FundProject = %+v, %v; want 1000 - 600 escrow = 400 left", fund, err)
	}
	if got, err := b.research.Job(ctx, job.ID); err != nil || got.State != "active" || got.EscrowMicros != 600 {
		t.Errorf("job after funding = %+v, %v; want active with 600 escrow", got, err)
	}
	if w, err := b.host.RequestWork(ctx, 4); err != nil || len(w.Tasks) != 2 {
		t.Errorf("work after funding = %d tasks, %v; want the job's 2", len(w.Tasks), err)
	}
	// Funded at once when the budget covers it.
	req.Units = req.Units[:1]
	if j, err := b.research.SubmitJob(ctx, req); err != nil || j.State != "active" || j.EscrowMicros != 300 {
		t.Errorf("funded submit = %+v, %v; want active with 300 escrow", j, err)
	}
}
