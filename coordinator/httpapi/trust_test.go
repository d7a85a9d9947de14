package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/nightshift-platform/nightshift/coordinator/api"
)

func TestHostTrustHTTP(t *testing.T) {
	b := setupFair(t)
	ctx := context.Background()
	job, err := b.research.SubmitJob(ctx, api.SubmitJobRequest{App: "app", Units: []json.RawMessage{[]byte("1"), []byte("2")},
		AdaptiveReplication: true})
	if err != nil {
		t.Fatal(err)
	}
	if !job.AdaptiveReplication {
		t.Errorf("submitted job = %+v, want adaptive_replication", job)
	}
	// One replica per unit up front.
	if w, err := b.host.RequestWork(ctx, 8); err != nil || len(w.Tasks) != 2 {
		t.Errorf("work for an adaptive job of 2 units = %d tasks, %v; want 2", len(w.Tasks), err)
	}

	get := func(method, path, key string) (int, api.HostStanding) {
		t.Helper()
		req, _ := http.NewRequest(method, b.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var st api.HostStanding
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(raw, &st); err != nil {
				t.Fatalf("%s %s: %v in %s", method, path, err, raw)
			}
		}
		return resp.StatusCode, st
	}
	status, st := get("GET", "/api/v1/hosts/1/trust", operatorKey)
	if status != 200 || st.HostID != 1 || st.LeasedToday != 2 || st.Blocked || st.DailyQuota == 0 || st.AppVersions == nil {
		t.Errorf("GET trust = %d %+v, want host 1 with 2 leased today, not blocked", status, st)
	}
	if status, _ := get("GET", "/api/v1/hosts/1/trust", b.project.APIKey); status != 401 {
		t.Errorf("GET trust with a project key = %d, want 401", status)
	}
	if status, _ := get("GET", "/api/v1/hosts/99/trust", operatorKey); status != 404 {
		t.Errorf("GET trust of an unknown host = %d, want 404", status)
	}
	if status, st := get("POST", "/api/v1/hosts/1/unblock", operatorKey); status != 200 || st.Blocked {
		t.Errorf("POST unblock = %d %+v, want 200 not blocked", status, st)
	}
}

func TestHostClawbackHTTP(t *testing.T) {
	b := setupFair(t)
	do := func(method, path, key, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, b.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, raw
	}
	for _, tt := range []struct {
		name, path, key, body string
		want                  int
	}{
		{"no reason", "/api/v1/hosts/1/clawback", operatorKey, `{"since":"2026-01-01T00:00:00Z"}`, 400},
		{"no since", "/api/v1/hosts/1/clawback", operatorKey, `{"reason":"x"}`, 400},
		{"since in the future", "/api/v1/hosts/1/clawback", operatorKey, `{"since":"2999-01-01T00:00:00Z","reason":"x"}`, 400},
		{"since not a time", "/api/v1/hosts/1/clawback", operatorKey, `{"since":"yesterday","reason":"x"}`, 400},
		{"unknown field", "/api/v1/hosts/1/clawback", operatorKey, `{"since":"2026-01-01T00:00:00Z","reason":"x","all":true}`, 400},
		{"unknown host", "/api/v1/hosts/99/clawback", operatorKey, `{"since":"2026-01-01T00:00:00Z","reason":"x"}`, 404},
		{"not the operator", "/api/v1/hosts/1/clawback", b.project.APIKey, `{"since":"2026-01-01T00:00:00Z","reason":"x"}`, 401},
	} {
		if status, raw := do("POST", tt.path, tt.key, tt.body); status != tt.want || !json.Valid(raw) {
			t.Errorf("%s: %d %s, want %d with a JSON error", tt.name, status, raw, tt.want)
		}
	}
	if status, raw := do("GET", "/api/v1/hosts/1/clawbacks", operatorKey, ""); status != 200 || !strings.Contains(string(raw), `"clawbacks":[]`) {
		t.Errorf("clawbacks before any: %d %s; nothing stored by the refused requests", status, raw)
	}
	status, raw := do("POST", "/api/v1/hosts/1/clawback", operatorKey, `{"since":"2026-01-01T00:00:00Z","reason":"made-up outputs"}`)
	var c api.Clawback
	if err := json.Unmarshal(raw, &c); status != 200 || err != nil || c.HostID != 1 || c.DoneAt == nil || c.Reason != "made-up outputs" {
		t.Fatalf("clawback: %d %s", status, raw)
	}
	var list api.ClawbackList
	if status, raw := do("GET", "/api/v1/hosts/1/clawbacks", operatorKey, ""); status != 200 || json.Unmarshal(raw, &list) != nil || len(list.Clawbacks) != 1 || list.Clawbacks[0].ID != c.ID {
		t.Errorf("clawbacks: %d %s", status, raw)
	}
	if status, raw := do("GET", "/api/v1/hosts/1/trust", operatorKey, ""); status != 200 || !strings.Contains(string(raw), `"blocked":true`) {
		t.Errorf("a clawed-back host is not blocked: %d %s", status, raw)
	}
}
