package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

func TestTeamsAndBenchmarks(t *testing.T) {
	k := setupKeys(t)
	signup := func(name string) string {
		t.Helper()
		status, raw := k.call(t, "POST", "/api/v1/contributors", "", `{"name":"`+name+`"}`)
		var c api.Contributor
		if status != http.StatusCreated || json.Unmarshal(raw, &c) != nil {
			t.Fatalf("sign-up: %d %s", status, raw)
		}
		return c.AccountKey
	}
	ada, bob := signup("ada"), signup("bob")

	for _, body := range []string{`{"name":"pc","platform":"linux/amd64","cores":2,"ops_per_second":0}`,
		`{"name":"pc","platform":"linux/amd64","cores":2,"ops_per_second":-3}`,
		`{"name":"pc","platform":"linux/amd64","cores":2,"ops_per_second":2e13}`} {
		status, raw := k.call(t, "POST", "/api/v1/hosts", ada, body)
		wantError(t, status, raw, http.StatusBadRequest, "ops_per_second")
	}
	status, raw := k.call(t, "POST", "/api/v1/hosts", ada, `{"name":"pc","platform":"linux/amd64","cores":2,"ops_per_second":3e9}`)
	var h api.Host
	if status != http.StatusCreated || json.Unmarshal(raw, &h) != nil {
		t.Fatalf("registering a host with a benchmark: %d %s", status, raw)
	}
	status, raw = k.call(t, "POST", "/api/v1/work", h.HostToken, `{"max_tasks":0,"ops_per_second":-1}`)
	wantError(t, status, raw, http.StatusBadRequest, "ops_per_second")
	if status, raw = k.call(t, "POST", "/api/v1/work", h.HostToken, `{"max_tasks":0,"ops_per_second":4e9}`); status != http.StatusOK {
		t.Errorf("work request with a benchmark: %d %s", status, raw)
	}

	status, raw = k.call(t, "POST", "/api/v1/teams", ada, `{"name":"Night Owls","description":"hoo"}`)
	var team api.Team
	if status != http.StatusCreated || json.Unmarshal(raw, &team) != nil || team.Members != 1 || team.CreatedAt.IsZero() {
		t.Fatalf("creating a team: %d %s", status, raw)
	}
	status, raw = k.call(t, "POST", "/api/v1/teams", bob, `{"name":"night owls"}`)
	wantError(t, status, raw, http.StatusConflict, "already exists")
	status, raw = k.call(t, "POST", "/api/v1/teams", bob, `{"name":""}`)
	wantError(t, status, raw, http.StatusBadRequest, "name")
	status, raw = k.call(t, "POST", "/api/v1/teams/999/join", bob, ``)
	wantError(t, status, raw, http.StatusNotFound, "team")
	if status, raw = k.call(t, "POST", fmt.Sprintf("/api/v1/teams/%d/join", team.ID), bob, ``); status != http.StatusNoContent {
		t.Fatalf("joining: %d %s", status, raw)
	}
	status, raw = k.call(t, "GET", fmt.Sprintf("/api/v1/teams/%d", team.ID), bob, ``)
	var detail api.TeamDetail
	if status != http.StatusOK || json.Unmarshal(raw, &detail) != nil || detail.Team.Members != 2 || len(detail.Members) != 2 {
		t.Errorf("team detail: %d %s", status, raw)
	}
	if status, raw = k.call(t, "POST", "/api/v1/team/leave", bob, ``); status != http.StatusNoContent {
		t.Errorf("leaving: %d %s", status, raw)
	}
	if status, raw = k.call(t, "POST", "/api/v1/teams", bob, `{"name":"Larks"}`); status != http.StatusCreated {
		t.Fatalf("creating a second team: %d %s", status, raw)
	}
	status, raw = k.call(t, "GET", "/api/v1/teams?limit=1", bob, ``)
	var page api.TeamPage
	if status != http.StatusOK || json.Unmarshal(raw, &page) != nil || len(page.Teams) != 1 || page.NextCursor == "" {
		t.Fatalf("first page of teams: %d %s", status, raw)
	}
	status, raw = k.call(t, "GET", "/api/v1/teams?limit=1&cursor="+page.NextCursor, bob, ``)
	var next api.TeamPage
	if status != http.StatusOK || json.Unmarshal(raw, &next) != nil || len(next.Teams) != 1 || next.NextCursor != "" || next.Teams[0].ID == page.Teams[0].ID {
		t.Errorf("second page of teams: %d %s", status, raw)
	}
	status, raw = k.call(t, "GET", "/api/v1/leaderboard?cursor="+page.NextCursor, bob, ``)
	wantError(t, status, raw, http.StatusBadRequest, "cursor")
	if status, raw = k.call(t, "GET", "/api/v1/leaderboard", bob, ``); status != http.StatusOK {
		t.Errorf("leaderboard: %d %s", status, raw)
	}
	status, raw = k.call(t, "GET", "/api/v1/contributor/earnings", ada, ``)
	var e map[string]any
	if status != http.StatusOK || json.Unmarshal(raw, &e) != nil || e["total_credit"] == nil || e["rac"] == nil {
		t.Errorf("earnings without credit fields: %d %s", status, raw)
	}
}
