package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
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
