package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/worker/agent"
)

// The worker measures its speed when it has no fresh figure, and otherwise
// reuses the one kept in its state directory.
func TestOpsPerSecondMeasuresOnlyWhenItMust(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		name    string
		kept    *benchmarkResult // benchmark.json; none if nil
		reuse   bool             // the kept figure is returned as it is
		corrupt bool             // benchmark.json is not JSON
	}{
		{name: "none kept: measured"},
		{name: "fresh: reused", kept: &benchmarkResult{MeasuredAt: now.Add(-24 * time.Hour), OpsPerSecond: 1234}, reuse: true},
		{name: "older than a month: measured again", kept: &benchmarkResult{MeasuredAt: now.Add(-31 * 24 * time.Hour), OpsPerSecond: 1234}},
		{name: "sample-app figures only (an older worker): measured",
			kept: &benchmarkResult{MeasuredAt: now, SignaturesPerSecond: 5e4, SecondsPerDemoUnit: 0.02}},
		{name: "beyond what the coordinator accepts: measured", kept: &benchmarkResult{MeasuredAt: now, OpsPerSecond: 1e20}},
		{name: "not JSON: measured", corrupt: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			switch {
			case tt.kept != nil:
				if err := saveBenchmark(dir, *tt.kept); err != nil {
					t.Fatal(err)
				}
			case tt.corrupt:
				if err := os.WriteFile(filepath.Join(dir, benchmarkFile), []byte("{"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ops := opsPerSecond(context.Background(), dir, now, log)
			if tt.reuse {
				if ops != tt.kept.OpsPerSecond {
					t.Errorf("got %g, want the kept %g", ops, tt.kept.OpsPerSecond)
				}
				return
			}
			if ops < 1e6 || (tt.kept != nil && ops == tt.kept.OpsPerSecond) {
				t.Fatalf("got %g, want a new measurement", ops)
			}
			saved, ok := readBenchmark(dir)
			if !ok || saved.OpsPerSecond != ops || !saved.MeasuredAt.Equal(now) {
				t.Errorf("kept %+v (%v), want the new measurement at %v", saved, ok, now)
			}
			if tt.kept != nil && saved.SignaturesPerSecond != tt.kept.SignaturesPerSecond {
				t.Errorf("the sample-app figure %g was lost (kept %g)", tt.kept.SignaturesPerSecond, saved.SignaturesPerSecond)
			}
		})
	}
}

func TestWorkerBenchmarkCommandKeepsBothFigures(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	if err := runBenchmark(context.Background(), []string{"--state", dir, "--seconds", "0.05"}, func(string) string { return "" }, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	r, ok := readBenchmark(dir)
	if !ok || r.OpsPerSecond < 1e6 || r.SignaturesPerSecond <= 0 {
		t.Fatalf("kept %+v (%v), want a Whetstone figure and a sample-app figure", r, ok)
	}
	if !strings.Contains(out.String(), "Whetstone") {
		t.Errorf("output %q does not give the Whetstone figure", out.String())
	}
	if err := runBenchmark(context.Background(), []string{"--state", dir, "--seconds", "0"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Error("--seconds 0 was accepted")
	}
}

// worker status says when the coordinator has blocked the host, why, and
// when the worker asks again.
func TestStatusShowsABlockedHost(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, hostFile), []byte(`{"coordinator":"http://c","host_id":7,"name":"pc","host_token":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-time.Hour)
	writeTestStatus(t, dir, statusReport{PID: os.Getpid(), UpdatedAt: time.Now(), Since: since, Status: agent.Status{
		Blocked: &agent.Blocked{Since: since, Reason: "host 7 is blocked since …: 3 invalid results in a row", RetryAt: time.Now().Add(time.Minute)}}})
	var b strings.Builder
	renderStatus(&b, dir, &api.Earnings{Currency: "USD"}, time.Now())
	for _, want := range []string{"BLOCKED", "3 invalid results in a row", "unblock host 7"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("status does not say %q:\n%s", want, b.String())
		}
	}

	writeTestStatus(t, dir, statusReport{PID: os.Getpid(), UpdatedAt: time.Now(), Since: since})
	b.Reset()
	renderStatus(&b, dir, &api.Earnings{Currency: "USD"}, time.Now())
	if strings.Contains(b.String(), "BLOCKED") {
		t.Errorf("status of a host not blocked says it is:\n%s", b.String())
	}
}

func writeTestStatus(t *testing.T, dir string, r statusReport) {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, statusFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The account key is a secret: help output, which prints flag defaults,
// must not show it, yet the environment still supplies it.
func TestHelpNeverPrintsTheAccountKey(t *testing.T) {
	const key = "nsa_secret-never-printed"
	getenv := func(name string) string {
		if name == "NIGHTSHIFT_ACCOUNT_KEY" {
			return key
		}
		return ""
	}
	for _, cmd := range []string{"attach", "run"} {
		var stdout, stderr strings.Builder
		_ = run(context.Background(), []string{cmd, "-h"}, getenv, strings.NewReader(""), &stdout, &stderr)
		if strings.Contains(stdout.String()+stderr.String(), key) {
			t.Errorf("worker %s -h printed the account key:\n%s%s", cmd, stdout.String(), stderr.String())
		}
	}
	// attach without --account-key still reads it from the environment:
	// it gets as far as calling the (unreachable) coordinator with it.
	var stderr strings.Builder
	err := run(context.Background(), []string{"attach", "--coordinator", "http://127.0.0.1:1", "--state", t.TempDir()}, getenv, strings.NewReader(""), io.Discard, &stderr)
	if err == nil || strings.Contains(err.Error(), "--account-key") {
		t.Errorf("attach with the key in the environment: %v, want a failure to reach the coordinator, not a missing key", err)
	}
}
