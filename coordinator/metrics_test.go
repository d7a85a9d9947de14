package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/metrics/metricstest"
	"github.com/nightshift-platform/nightshift/workunits"
)

// coordinatorMetrics are the names /metrics must serve once a job has been
// worked and paid: the dashboard (deploy/grafana) relies on them.
var coordinatorMetrics = []string{
	"nightshift_http_requests_total",
	"nightshift_http_request_duration_seconds",
	"nightshift_tasks_leased_total",
	"nightshift_tasks_reported_total",
	"nightshift_tasks_validated_total",
	"nightshift_payout_runs_created_total",
	"nightshift_units",
	"nightshift_ledger_balance_usd",
	"nightshift_background_lag_seconds",
	"nightshift_background_duration_seconds",
}

// A coordinator that has leased, judged and paid serves a scrape that
// promtool accepts, with every metric the dashboard uses and no label that
// names a host or contributor.
func TestMetricsScrape(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	inputs := []string{`{"k":2,"seed":1,"n":200}`, `{"k":3,"seed":2,"n":200}`}
	job := b.submit(t, api.Policy{MinQuorum: 2, TargetReplicas: 2, DeadlineSeconds: 60}, 1000, inputs...)

	var ids []int64 // host and contributor ids: none may be a label
	for _, name := range []string{"Ada", "Grace"} {
		c, err := b.operator.WithKey("").CreateContributor(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		account := b.operator.WithKey(c.AccountKey)
		h, err := account.RegisterHost(ctx, api.RegisterHostRequest{Name: name + "-pc", Platform: "test/amd64", Cores: 2})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID, h.ID)
		startAgent(t, account.WithKey(h.HostToken), nil)
	}
	waitFor(t, 60*time.Second, "the job to be validated", func() bool {
		return b.job(t, job.ID).Progress.Units[string(workunits.UnitDone)] == len(inputs)
	})
	// A payout run, and requests whose raw paths hold a host's id.
	send(t, http.MethodPost, b.coord.URL+"/api/v1/payout-runs", b.operator.Key(), "metrics-test", `{"threshold_micros":1}`)
	for _, id := range ids {
		send(t, http.MethodGet, b.coord.URL+"/api/v1/hosts/"+strconv.FormatInt(id, 10)+"/trust", b.operator.Key(), "", "")
	}
	send(t, http.MethodGet, b.coord.URL+"/no/such/page/"+strconv.FormatInt(ids[0], 10), "", "", "")

	scrape := send(t, http.MethodGet, b.coord.URL+"/metrics", "", "", "")
	families := metricstest.Parse(t, scrape)
	for _, name := range coordinatorMetrics {
		if _, ok := families[name]; !ok {
			t.Errorf("the scrape lacks %s", name)
		}
	}
	value := func(name string, labels map[string]string) float64 { return metricstest.Sum(families, name, labels) }
	if v := value("nightshift_tasks_leased_total", nil); v < 4 {
		t.Errorf("nightshift_tasks_leased_total = %v, want ≥ 4", v)
	}
	if v := value("nightshift_tasks_validated_total", map[string]string{"result": "valid"}); v < 4 {
		t.Errorf("valid results = %v, want ≥ 4", v)
	}
	if v := value("nightshift_units", map[string]string{"state": "done"}); v != float64(len(inputs)) {
		t.Errorf("units done = %v, want %d", v, len(inputs))
	}
	if v := value("nightshift_payout_runs_created_total", nil); v != 1 {
		t.Errorf("payout runs = %v, want 1", v)
	}
	if v := value("nightshift_http_requests_total", map[string]string{"route": "/api/v1/hosts/{hostID}/trust"}); v != float64(len(ids)) {
		t.Errorf("requests counted on the trust route template = %v, want %d", v, len(ids))
	}

	// An id would show as a number standing alone: "/hosts/7/trust", "7".
	// Status codes and histogram bounds are numbers by design.
	number := regexp.MustCompile(`(^|[^A-Za-z0-9.])[0-9]+($|[^A-Za-z0-9.])`)
	for name, f := range families {
		if !strings.HasPrefix(name, "nightshift_") {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "code" {
					continue
				}
				if number.MatchString(l.GetValue()) {
					t.Errorf("%s{%s=%q}: a label value holding a number may be an id", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
	metricstest.PromtoolCheck(t, scrape)
}

// send makes a request and returns the body of a 2xx answer.
func send(t *testing.T, method, url, bearer, idempotencyKey, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 300 && !strings.Contains(url, "/no/such/") {
		t.Fatalf("%s %s: status %d: %s", method, url, resp.StatusCode, out)
	}
	return out
}
