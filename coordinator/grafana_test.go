package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every query of the Grafana dashboard names only metrics the coordinator
// exports (coordinatorMetrics, which TestMetricsScrape finds in a scrape),
// and every exported metric is on the dashboard.
func TestGrafanaDashboardUsesExportedMetrics(t *testing.T) {
	data, err := os.ReadFile("../deploy/grafana/nightshift.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("deploy/grafana/nightshift.json: %v", err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && k == "expr" {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(dash)
	if len(exprs) == 0 {
		t.Fatal("the dashboard has no queries")
	}
	name := regexp.MustCompile(`\bnightshift_[a-z_]+`)
	used := map[string]bool{}
	for _, e := range exprs {
		names := name.FindAllString(e, -1)
		if len(names) == 0 {
			t.Errorf("query %q names no nightshift metric", e)
		}
		for _, n := range names {
			base := n
			if !slices.Contains(coordinatorMetrics, n) {
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					base = strings.TrimSuffix(base, suffix)
				}
			}
			if !slices.Contains(coordinatorMetrics, base) {
				t.Errorf("query %q uses %s, which the coordinator does not export", e, n)
			}
			used[base] = true
		}
	}
	for _, m := range coordinatorMetrics {
		if !used[m] {
			t.Errorf("the dashboard does not show %s", m)
		}
	}
}
