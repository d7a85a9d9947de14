package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/daemon"
	"github.com/nightshift-platform/nightshift/coordinator/daemon/daemontest"
	"github.com/nightshift-platform/nightshift/coordinator/service"
)

// keysBundle is a coordinator on a fresh SQLite store with two projects:
// A, created with a named admin, and B, created without.
type keysBundle struct {
	url      string
	operator *client.Client
	a, b     api.Project
	adminA   *client.Client // project A's first key
	adminB   *client.Client // project B's first key
}

func setupKeys(t *testing.T) *keysBundle {
	t.Helper()
	ctx := t.Context()
	opKey := service.NewKey(service.OperatorKeyPrefix)
	coord := daemontest.Start(t, daemon.Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "test.db"), OperatorKey: opKey})
	k := &keysBundle{url: coord.URL, operator: client.New(coord.URL, opKey, nil)}
	var err error
	if k.a, err = k.operator.CreateProjectWith(ctx, api.CreateProjectRequest{Name: "lab A",
		Admin: &api.ProjectAdmin{Name: "Ada", Email: "ada@example.org"}}); err != nil {
		t.Fatal(err)
	}
	if k.b, err = k.operator.CreateProject(ctx, "lab B"); err != nil {
		t.Fatal(err)
	}
	k.adminA, k.adminB = k.operator.WithKey(k.a.APIKey), k.operator.WithKey(k.b.APIKey)
	return k
}

// call sends a raw request and returns the status and body.
func (k *keysBundle) call(t *testing.T, method, path, key, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, k.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// wantError checks a JSON error answer.
func wantError(t *testing.T, status int, raw []byte, wantStatus int, wantInMsg string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("status = %d, want %d; body %s", status, wantStatus, raw)
	}
	var body api.ErrorResponse
	if err := json.Unmarshal(raw, &body); err != nil || body.Error.Code == "" {
		t.Errorf("body is not a JSON error: %s", raw)
		return
	}
	if !strings.Contains(body.Error.Message, wantInMsg) {
		t.Errorf("message = %q, want it to mention %q", body.Error.Message, wantInMsg)
	}
}

// state is a project's keys and members, to check that refused requests
// changed nothing.
func state(t *testing.T, admin *client.Client) string {
	t.Helper()
	keys, err := admin.APIKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	members, err := admin.Members(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{"keys": keys, "members": members})
	return string(out)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestProjectCreatedWithAdmin(t *testing.T) {
	k := setupKeys(t)
	ctx := t.Context()
	for _, tt := range []struct {
		admin       *client.Client
		project     api.Project
		name, email string
	}{{k.adminA, k.a, "Ada", "ada@example.org"}, {k.adminB, k.b, "admin", ""}} {
		members, err := tt.admin.Members(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(members) != 1 || members[0].Name != tt.name || members[0].Email != tt.email || members[0].Role != "admin" || members[0].RemovedAt != nil {
			t.Errorf("members of %s = %+v, want one admin %q <%s>", tt.project.Name, members, tt.name, tt.email)
		}
		keys, err := tt.admin.APIKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 || keys[0].Role != "admin" || keys[0].MemberID != members[0].ID || keys[0].Prefix != tt.project.APIKey[:8] ||
			keys[0].Key != "" || keys[0].RevokedAt != nil {
			t.Errorf("keys of %s = %+v, want its first key, prefix %q, no secret", tt.project.Name, keys, tt.project.APIKey[:8])
		}
	}
}

func TestOperatorProjects(t *testing.T) {
	k := setupKeys(t)
	ctx := t.Context()
	if _, err := k.operator.FundProject(ctx, k.a.ID, api.FundRequest{AmountMicros: 5_000_000, IdempotencyKey: "f"}); err != nil {
		t.Fatal(err)
	}
	list, err := k.operator.Projects(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != k.a.ID || list[0].BudgetMicros != 5_000_000 || list[1].ID != k.b.ID || list[1].Name != "lab B" ||
		list[0].APIKey != "" || list[1].APIKey != "" {
		t.Errorf("Projects = %+v, want A (budget 5000000) then B, without keys", list)
	}
	got, err := k.operator.ProjectByID(ctx, k.b.ID)
	if err != nil || got.ID != k.b.ID || got.Name != "lab B" || got.Currency == "" {
		t.Errorf("ProjectByID(B) = %+v, %v", got, err)
	}
	name := "  lab B, renamed "
	renamed, err := k.operator.UpdateProject(ctx, k.b.ID, api.UpdateProjectRequest{Name: &name})
	if err != nil || renamed.Name != "lab B, renamed" {
		t.Errorf("UpdateProject(B) = %+v, %v; want the name trimmed", renamed, err)
	}
	if got, err := k.adminB.Project(ctx); err != nil || got.Name != "lab B, renamed" {
		t.Errorf("project B as its key sees it = %+v, %v; want renamed", got, err)
	}

	before, _ := k.operator.Projects(ctx)
	pid := "/api/v1/projects/" + itoa(k.a.ID)
	for _, tt := range []struct {
		name, method, path, key, body string
		status                        int
		inMsg                         string
	}{
		{"list with a project key", "GET", "/api/v1/projects", k.a.APIKey, "", 401, "invalid operator key"},
		{"get with a project key", "GET", pid, k.a.APIKey, "", 401, "invalid operator key"},
		{"patch with a project key", "PATCH", pid, k.a.APIKey, `{"name":"x"}`, 401, "invalid operator key"},
		{"patch without a key", "PATCH", pid, "", `{"name":"x"}`, 401, "missing credentials"},
		{"get unknown project", "GET", "/api/v1/projects/9999", k.operator.Key(), "", 404, "project 9999 not found"},
		{"get bad id", "GET", "/api/v1/projects/abc", k.operator.Key(), "", 400, "projectID"},
		{"patch unknown project", "PATCH", "/api/v1/projects/9999", k.operator.Key(), `{"name":"x"}`, 404, "project 9999 not found"},
		{"patch bad id", "PATCH", "/api/v1/projects/0", k.operator.Key(), `{"name":"x"}`, 400, "projectID"},
		{"patch nothing", "PATCH", pid, k.operator.Key(), `{}`, 400, "nothing to change"},
		{"patch empty name", "PATCH", pid, k.operator.Key(), `{"name":"  "}`, 400, "name is required"},
		{"patch long name", "PATCH", pid, k.operator.Key(), `{"name":"` + strings.Repeat("x", 201) + `"}`, 400, "at most 200"},
		{"patch unknown field", "PATCH", pid, k.operator.Key(), `{"name":"x","owner":"y"}`, 400, `unknown field "owner"`},
		{"patch name not text", "PATCH", pid, k.operator.Key(), `{"name":7}`, 400, "name"},
		{"create with admin without email", "POST", "/api/v1/projects", k.operator.Key(), `{"name":"c","admin":{"name":"Cy"}}`, 400, "admin.email is required"},
		{"create with admin's bad email", "POST", "/api/v1/projects", k.operator.Key(), `{"name":"c","admin":{"name":"Cy","email":"Cy <cy@example.org>"}}`, 400, "admin.email must be a plain address"},
		{"create with admin without name", "POST", "/api/v1/projects", k.operator.Key(), `{"name":"c","admin":{"name":"","email":"cy@example.org"}}`, 400, "admin.name is required"},
		{"create with admin's unknown field", "POST", "/api/v1/projects", k.operator.Key(), `{"name":"c","admin":{"name":"Cy","email":"cy@example.org","role":"viewer"}}`, 400, `unknown field "role"`},
		{"create without name", "POST", "/api/v1/projects", k.operator.Key(), `{"admin":{"name":"Cy","email":"cy@example.org"}}`, 400, "name is required"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, raw := k.call(t, tt.method, tt.path, tt.key, tt.body)
			wantError(t, status, raw, tt.status, tt.inMsg)
		})
	}
	after, _ := k.operator.Projects(ctx)
	if b, a := mustJSON(before), mustJSON(after); a != b {
		t.Errorf("refused requests changed the projects:\nbefore %s\nafter  %s", b, a)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestAPIKeys(t *testing.T) {
	k := setupKeys(t)
	ctx := t.Context()
	members, _ := k.adminA.Members(ctx)
	ada := members[0]
	bo, err := k.adminA.AddMember(ctx, api.CreateMemberRequest{Name: "Bo", Email: "bo@example.org", Role: "researcher"})
	if err != nil {
		t.Fatal(err)
	}
	boKey, err := k.adminA.CreateAPIKey(ctx, api.CreateAPIKeyRequest{Name: "Bo's laptop", MemberID: bo.ID})
	if err != nil {
		t.Fatal(err)
	}
	if boKey.Role != "researcher" || boKey.MemberID != bo.ID || boKey.Name != "Bo's laptop" || !strings.HasPrefix(boKey.Key, service.ProjectKeyPrefix) ||
		boKey.Prefix != boKey.Key[:8] || boKey.RevokedAt != nil {
		t.Errorf("CreateAPIKey for Bo = %+v, want a researcher key of member %d with its secret once", boKey, bo.ID)
	}
	dash, err := k.adminA.CreateAPIKey(ctx, api.CreateAPIKeyRequest{Name: "dashboard", Role: "viewer"})
	if err != nil || dash.Role != "viewer" || dash.MemberID != ada.ID {
		t.Errorf("CreateAPIKey(dashboard) = %+v, %v; want a viewer key of the caller's member %d", dash, err, ada.ID)
	}
	researcher, viewer := k.operator.WithKey(boKey.Key), k.operator.WithKey(dash.Key)
	if p, err := viewer.Project(ctx); err != nil || p.ID != k.a.ID {
		t.Errorf("a new key's GET /project = %+v, %v; want project A", p, err)
	}
	keys, err := k.adminA.APIKeys(ctx)
	if err != nil || len(keys) != 3 || keys[1].ID != boKey.ID || keys[2].ID != dash.ID || keys[1].Key != "" || keys[2].Key != "" {
		t.Errorf("APIKeys = %+v, %v; want the first key, Bo's and the dashboard's, without secrets", keys, err)
	}

	// Roles, on the new routes and on the old ones.
	var bKeyID int64
	if bk, err := k.adminB.APIKeys(ctx); err == nil {
		bKeyID = bk[0].ID
	}
	bMembers, _ := k.adminB.Members(ctx)
	for _, tt := range []struct {
		name, method, path, key, body string
		status                        int
		inMsg                         string
	}{
		{"viewer submits a job", "POST", "/api/v1/jobs", dash.Key, `{"app":"x","units":[1]}`, 403, "needs a key with role researcher"},
		{"viewer uploads a module", "POST", "/api/v1/apps/x/versions", dash.Key, "", 403, "role researcher"},
		{"viewer lists keys", "GET", "/api/v1/project/keys", dash.Key, "", 403, "role admin"},
		{"researcher lists keys", "GET", "/api/v1/project/keys", boKey.Key, "", 403, "role admin"},
		{"researcher creates a key", "POST", "/api/v1/project/keys", boKey.Key, `{"name":"mine"}`, 403, "role admin"},
		{"researcher revokes a key", "DELETE", "/api/v1/project/keys/" + itoa(boKey.ID), boKey.Key, "", 403, "role admin"},
		{"researcher lists members", "GET", "/api/v1/project/members", boKey.Key, "", 403, "role admin"},
		{"researcher adds a member", "POST", "/api/v1/project/members", boKey.Key, `{"name":"Cy","email":"cy@example.org","role":"viewer"}`, 403, "role admin"},
		{"researcher removes a member", "DELETE", "/api/v1/project/members/" + itoa(ada.ID), boKey.Key, "", 403, "role admin"},
		{"researcher's job passes the role check", "POST", "/api/v1/jobs", boKey.Key, `{"app":"nosuchapp","units":[1]}`, 404, `app "nosuchapp" not found`},
		{"viewer's read passes the role check", "GET", "/api/v1/jobs/999", dash.Key, "", 404, "job 999 not found"},
		// Tenancy: project B's objects do not exist for project A.
		{"revoke another project's key", "DELETE", "/api/v1/project/keys/" + itoa(bKeyID), k.a.APIKey, "", 404, "key " + itoa(bKeyID) + " not found"},
		{"key for another project's member", "POST", "/api/v1/project/keys", k.a.APIKey, `{"name":"x","member_id":` + itoa(bMembers[0].ID) + `}`, 404, "member " + itoa(bMembers[0].ID) + " not found"},
		{"revoke unknown key", "DELETE", "/api/v1/project/keys/99999", k.a.APIKey, "", 404, "key 99999 not found"},
		// Bad input.
		{"key without name", "POST", "/api/v1/project/keys", k.a.APIKey, `{"role":"viewer"}`, 400, "name is required"},
		{"key with blank name", "POST", "/api/v1/project/keys", k.a.APIKey, `{"name":"   "}`, 400, "name is required"},
		{"key with unknown role", "POST", "/api/v1/project/keys", k.a.APIKey, `{"name":"x","role":"owner"}`, 400, "role must be one of"},
		{"key above its member's role", "POST", "/api/v1/project/keys", k.a.APIKey, `{"name":"x","role":"admin","member_id":` + itoa(bo.ID) + `}`, 400, "above member"},
		{"key with unknown field", "POST", "/api/v1/project/keys", k.a.APIKey, `{"name":"x","expires":"never"}`, 400, `unknown field "expires"`},
		{"key with negative member", "POST", "/api/v1/project/keys", k.a.APIKey, `{"name":"x","member_id":-1}`, 400, "member_id"},
		{"key with member id as text", "POST", "/api/v1/project/keys", k.a.APIKey, `{"name":"x","member_id":"2"}`, 400, "member_id"},
		{"key with malformed JSON", "POST", "/api/v1/project/keys", k.a.APIKey, `{"name":`, 400, "malformed JSON"},
		{"revoke bad id", "DELETE", "/api/v1/project/keys/abc", k.a.APIKey, "", 400, "keyID"},
		{"revoke id zero", "DELETE", "/api/v1/project/keys/0", k.a.APIKey, "", 400, "keyID"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := state(t, k.adminA)
			beforeB := state(t, k.adminB)
			status, raw := k.call(t, tt.method, tt.path, tt.key, tt.body)
			wantError(t, status, raw, tt.status, tt.inMsg)
			if after := state(t, k.adminA); after != before {
				t.Errorf("project A changed:\nbefore %s\nafter  %s", before, after)
			}
			if after := state(t, k.adminB); after != beforeB {
				t.Errorf("project B changed:\nbefore %s\nafter  %s", beforeB, after)
			}
		})
	}
	if _, err := researcher.Project(ctx); err != nil {
		t.Errorf("researcher GET /project: %v", err)
	}

	// Revoking: the key is refused everywhere from then on, twice is fine.
	if err := k.adminA.RevokeAPIKey(ctx, dash.ID); err != nil {
		t.Fatal(err)
	}
	status, raw := k.call(t, "GET", "/api/v1/project", dash.Key, "")
	wantError(t, status, raw, 401, "revoked")
	status, raw = k.call(t, "GET", "/api/v1/jobs/1", dash.Key, "")
	wantError(t, status, raw, 401, "revoked")
	if err := k.adminA.RevokeAPIKey(ctx, dash.ID); err != nil {
		t.Errorf("revoking a revoked key again: %v", err)
	}
	keys, _ = k.adminA.APIKeys(ctx)
	if keys[2].ID != dash.ID || keys[2].RevokedAt == nil {
		t.Errorf("the revoked key listed as %+v, want revoked_at set", keys[2])
	}

	// The last live admin key stays; with a second one, the caller may
	// revoke its own.
	status, raw = k.call(t, "DELETE", "/api/v1/project/keys/"+itoa(keys[0].ID), k.a.APIKey, "")
	wantError(t, status, raw, 409, "last live admin key")
	spare, err := k.adminA.CreateAPIKey(ctx, api.CreateAPIKeyRequest{Name: "spare"})
	if err != nil || spare.Role != "admin" {
		t.Fatalf("CreateAPIKey(spare) = %+v, %v; want an admin key", spare, err)
	}
	if err := k.adminA.RevokeAPIKey(ctx, keys[0].ID); err != nil {
		t.Fatalf("revoking one's own key beside another admin key: %v", err)
	}
	status, raw = k.call(t, "GET", "/api/v1/project/keys", k.a.APIKey, "")
	wantError(t, status, raw, 401, "revoked")
	if _, err := k.operator.WithKey(spare.Key).APIKeys(ctx); err != nil {
		t.Errorf("the spare admin key after revoking the first: %v", err)
	}
	// Project B is untouched by all this.
	if _, err := k.adminB.APIKeys(ctx); err != nil {
		t.Errorf("project B's key: %v", err)
	}
}

func TestMembers(t *testing.T) {
	k := setupKeys(t)
	ctx := t.Context()
	members, _ := k.adminA.Members(ctx)
	ada := members[0]
	cy, err := k.adminA.AddMember(ctx, api.CreateMemberRequest{Name: " Cy ", Email: "cy@example.org", Role: "viewer"})
	if err != nil || cy.Name != "Cy" || cy.Role != "viewer" || cy.Email != "cy@example.org" || cy.RemovedAt != nil {
		t.Fatalf("AddMember(Cy) = %+v, %v", cy, err)
	}
	cyKey, err := k.adminA.CreateAPIKey(ctx, api.CreateAPIKeyRequest{Name: "cy", MemberID: cy.ID})
	if err != nil || cyKey.Role != "viewer" {
		t.Fatalf("CreateAPIKey(Cy) = %+v, %v", cyKey, err)
	}
	bMembers, _ := k.adminB.Members(ctx)
	member := "/api/v1/project/members"
	for _, tt := range []struct {
		name, method, path, body string
		status                   int
		inMsg                    string
	}{
		{"same email again", "POST", member, `{"name":"Cy 2","email":"CY@example.org","role":"viewer"}`, 409, "already has email"},
		{"bad email", "POST", member, `{"name":"Di","email":"di.example.org","role":"viewer"}`, 400, "email must be a plain address"},
		{"no email", "POST", member, `{"name":"Di","role":"viewer"}`, 400, "email is required"},
		{"bad role", "POST", member, `{"name":"Di","email":"di@example.org","role":"owner"}`, 400, "role must be one of"},
		{"no role", "POST", member, `{"name":"Di","email":"di@example.org"}`, 400, "role must be one of"},
		{"empty name", "POST", member, `{"name":"","email":"di@example.org","role":"viewer"}`, 400, "name is required"},
		{"unknown field", "POST", member, `{"name":"Di","email":"di@example.org","role":"viewer","team":"x"}`, 400, `unknown field "team"`},
		{"role not text", "POST", member, `{"name":"Di","email":"di@example.org","role":1}`, 400, "role"},
		{"two bodies", "POST", member, `{"name":"Di","email":"di@example.org","role":"viewer"}{}`, 400, "exactly one JSON value"},
		{"remove bad id", "DELETE", member + "/x", "", 400, "memberID"},
		{"remove unknown", "DELETE", member + "/99999", "", 404, "member 99999 not found"},
		{"remove another project's member", "DELETE", member + "/" + itoa(bMembers[0].ID), "", 404, "member " + itoa(bMembers[0].ID) + " not found"},
		{"remove the last admin", "DELETE", member + "/" + itoa(ada.ID), "", 409, "last admin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before, beforeB := state(t, k.adminA), state(t, k.adminB)
			status, raw := k.call(t, tt.method, tt.path, k.a.APIKey, tt.body)
			wantError(t, status, raw, tt.status, tt.inMsg)
			if after := state(t, k.adminA); after != before {
				t.Errorf("project A changed:\nbefore %s\nafter  %s", before, after)
			}
			if after := state(t, k.adminB); after != beforeB {
				t.Errorf("project B changed:\nbefore %s\nafter  %s", beforeB, after)
			}
		})
	}

	// Removing a member revokes their keys.
	if err := k.adminA.RemoveMember(ctx, cy.ID); err != nil {
		t.Fatal(err)
	}
	status, raw := k.call(t, "GET", "/api/v1/project", cyKey.Key, "")
	wantError(t, status, raw, 401, "revoked")
	members, _ = k.adminA.Members(ctx)
	if len(members) != 2 || members[1].ID != cy.ID || members[1].RemovedAt == nil {
		t.Errorf("members after removing Cy = %+v, want Cy listed as removed", members)
	}
	status, raw = k.call(t, "POST", "/api/v1/project/keys", k.a.APIKey, `{"name":"x","member_id":`+itoa(cy.ID)+`}`)
	wantError(t, status, raw, 409, "removed")

	// A second admin without a key cannot take over from the holder of the
	// last admin key; with a key of their own, they can.
	eve, err := k.adminA.AddMember(ctx, api.CreateMemberRequest{Name: "Eve", Email: "eve@example.org", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	status, raw = k.call(t, "DELETE", member+"/"+itoa(ada.ID), k.a.APIKey, "")
	wantError(t, status, raw, 409, "last live admin key")
	eveKey, err := k.adminA.CreateAPIKey(ctx, api.CreateAPIKeyRequest{Name: "eve", MemberID: eve.ID})
	if err != nil || eveKey.Role != "admin" {
		t.Fatalf("CreateAPIKey(Eve) = %+v, %v", eveKey, err)
	}
	eveClient := k.operator.WithKey(eveKey.Key)
	if err := eveClient.RemoveMember(ctx, ada.ID); err != nil {
		t.Fatalf("Eve removing Ada: %v", err)
	}
	status, raw = k.call(t, "GET", "/api/v1/project/members", k.a.APIKey, "")
	wantError(t, status, raw, 401, "revoked")
	if got, err := eveClient.Members(ctx); err != nil || len(got) != 3 {
		t.Errorf("members as Eve sees them = %+v, %v", got, err)
	}
	// Removing Eve, the last admin, is refused.
	status, raw = k.call(t, "DELETE", member+"/"+itoa(eve.ID), eveKey.Key, "")
	wantError(t, status, raw, 409, "last admin")
	// Project B's admin is still there.
	if _, err := k.adminB.Members(ctx); err != nil {
		t.Errorf("project B's key after A's changes: %v", err)
	}
}
