// Package metricstest checks Prometheus scrapes in tests, for the
// coordinator's /metrics and the worker's.
package metricstest

import (
	"bytes"
	"os"
	"os/exec"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// PromtoolCheck runs `promtool check metrics` on a scrape. Without promtool
// (scripts/apt-ensure metrics installs it) the test is skipped, except
// under CI=true, where it fails.
func PromtoolCheck(t testing.TB, scrape []byte) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed (scripts/apt-ensure metrics); CI=true requires it")
		}
		t.Skip("promtool is not installed: scripts/apt-ensure metrics")
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(scrape)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// Parse reads a scrape in the text format into its metric families.
func Parse(t testing.TB, scrape []byte) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(scrape))
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}
	return families
}

// Sum adds the counter and gauge values of a family's series whose labels
// include every one given; nil labels match every series.
func Sum(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	var sum float64
	for _, m := range families[name].GetMetric() {
		match := true
		for _, l := range m.GetLabel() {
			if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
				match = false
			}
		}
		if match {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}
