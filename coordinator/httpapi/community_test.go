package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/daemon"
	"github.com/nightshift-platform/nightshift/coordinator/daemon/daemontest"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/signing"
	"github.com/nightshift-platform/nightshift/workunits"
)

func TestProjectDescriptionHTTP(t *testing.T) {
	k := setupKeys(t)
	status, raw := k.call(t, "POST", "/api/v1/projects", k.operator.Key(), `{"name":"clinic","description":"  Finding cancer drug targets.  "}`)
	var p api.Project
	if status != http.StatusCreated || json.Unmarshal(raw, &p) != nil || p.Description != "Finding cancer drug targets." {
		t.Fatalf("creating a described project: %d %s", status, raw)
	}
	path := fmt.Sprintf("/api/v1/projects/%d", p.ID)
	status, raw = k.call(t, "PATCH", path, k.operator.Key(), `{"description":"Folding proteins."}`)
	if status != http.StatusOK || json.Unmarshal(raw, &p) != nil || p.Description != "Folding proteins." || p.Name != "clinic" {
		t.Fatalf("PATCH description: %d %s", status, raw)
	}
	status, raw = k.call(t, "GET", path, k.operator.Key(), ``)
	if status != http.StatusOK || json.Unmarshal(raw, &p) != nil || p.Description != "Folding proteins." {
		t.Errorf("GET after PATCH: %d %s", status, raw)
	}
	// A project without one says "" (the field is always there).
	status, raw = k.call(t, "GET", fmt.Sprintf("/api/v1/projects/%d", k.b.ID), k.operator.Key(), ``)
	if status != http.StatusOK || !strings.Contains(string(raw), `"description":""`) {
		t.Errorf("GET of a project never described: %d %s", status, raw)
	}
	long := strings.Repeat("x", service.MaxProjectDescription+1)
	for _, tt := range []struct {
		name, method, path, key, body string
		status                        int
		says                          string
	}{
		{"create too long", "POST", "/api/v1/projects", k.operator.Key(), `{"name":"y","description":"` + long + `"}`, 400, "description must be text of at most 2000"},
		{"patch too long", "PATCH", path, k.operator.Key(), `{"description":"` + long + `"}`, 400, "description must be text of at most 2000"},
		{"patch not text", "PATCH", path, k.operator.Key(), `{"description":5}`, 400, "description"},
		{"patch unknown project", "PATCH", "/api/v1/projects/999", k.operator.Key(), `{"description":"x"}`, 404, "project 999 not found"},
		{"patch without the operator key", "PATCH", path, k.a.APIKey, `{"description":"mine now"}`, 403, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, raw := k.call(t, tt.method, tt.path, tt.key, tt.body)
			if tt.status == 403 {
				if status != 401 && status != 403 {
					t.Errorf("status %d %s, want 401 or 403", status, raw)
				}
				return
			}
			wantError(t, status, raw, tt.status, tt.says)
		})
	}
	// Clearing it with "".
	status, raw = k.call(t, "PATCH", path, k.operator.Key(), `{"description":""}`)
	if status != http.StatusOK || json.Unmarshal(raw, &p) != nil || p.Description != "" {
		t.Errorf("clearing the description: %d %s", status, raw)
	}
}

func TestLeaderboardHonoursOptInHTTP(t *testing.T) {
	coord := daemontest.Start(t, daemon.Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "test.db")})
	svc, ctx := coord.Service, t.Context()
	signUp := func(email, name string) (workunits.Contributor, string, workunits.Host) {
		a, err := svc.SignUp(ctx, email, "correct horse battery", name)
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := svc.RegisterHost(ctx, a.Contributor.ID, service.HostInfo{Name: "pc", Platform: "linux/amd64", Cores: 2})
		if err != nil {
			t.Fatal(err)
		}
		return a.Contributor, a.AccountKey, h
	}
	ada, adaKey, adaHost := signUp("ada@example.org", "Ada Lovelace")
	bob, _, bobHost := signUp("bob@example.org", "Bob Private")

	signer, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := svc.CreateProjectWith(ctx, service.NewProject{Name: "lab", SigningKey: signing.PublicKey(signer)})
	if err != nil {
		t.Fatal(err)
	}
	module := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	if _, err := svc.UploadAppVersion(ctx, p.ID, service.AppUpload{App: "app", Module: module, Signature: signing.Sign(signer, module)}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SubmitJob(ctx, p.ID, service.JobRequest{App: "app", Inputs: [][]byte{[]byte(`{}`), []byte(`{}`)},
		Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1, MaxTotalReplicas: 1}}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []workunits.Host{adaHost, bobHost} {
		l, err := svc.LeaseTasks(ctx, h.ID, 1, nil)
		if err != nil || len(l) != 1 {
			t.Fatalf("leasing: %v %v", l, err)
		}
		if err := svc.ReportResults(ctx, h.ID, []workunits.Report{{TaskID: l[0].TaskID, Outcome: workunits.OutcomeSuccess, Output: []byte("1")}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.UpdateProfile(ctx, ada.ID, "Night owl", true); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateProfile(ctx, bob.ID, "Bob B.", false); err != nil { // named, not opted in
		t.Fatal(err)
	}

	req, _ := http.NewRequestWithContext(ctx, "GET", coord.URL+"/api/v1/leaderboard", nil)
	req.Header.Set("Authorization", "Bearer "+adaKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /leaderboard: %d %v", resp.StatusCode, err)
	}
	var board api.Leaderboard
	if err := json.Unmarshal(raw, &board); err != nil {
		t.Fatal(err)
	}
	names := map[int64]api.ContributorCredit{}
	for _, c := range board.Contributors {
		names[c.ContributorID] = c
	}
	if c := names[ada.ID]; c.Name != "Night owl" || c.Anonymous {
		t.Errorf("ada, opted in: %+v, want named Night owl", c)
	}
	if c := names[bob.ID]; c.Name != "" || !c.Anonymous {
		t.Errorf("bob, not opted in: %+v, want anonymous with no name", c)
	}
	for _, secret := range []string{"Ada Lovelace", "Bob Private", "Bob B.", "@example.org"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the leaderboard shows %q: %s", secret, raw)
		}
	}
}
