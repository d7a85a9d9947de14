package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/worker/atomicfile"
	"github.com/nightshift-platform/nightshift/worker/speed"
	"github.com/nightshift-platform/nightshift/workunits/markers"
)

// benchmarkResult is this PC's measured speed, kept in the state directory.
type benchmarkResult struct {
	MeasuredAt time.Time `json:"measured_at"`
	Cores      int       `json:"cores"`
	// OpsPerSecond is Whetstone instructions per second on one core: sent
	// to the coordinator, which turns CPU time into credit with it.
	OpsPerSecond        float64 `json:"ops_per_second"`
	SignaturesPerSecond float64 `json:"signatures_per_second,omitempty"` // one core, the markers app (k=5), native
	SecondsPerDemoUnit  float64 `json:"seconds_per_demo_unit,omitempty"` // k=5, n=1000, one core
}

const benchmarkFile = "benchmark.json"

// benchmarkMaxAge is how long a measurement stands before the worker
// measures again: hardware and power settings change.
const benchmarkMaxAge = 30 * 24 * time.Hour

// quickBenchmark is how long the worker measures on its own when it has no
// fresh figure: on one core, once a month.
const quickBenchmark = time.Second

// readBenchmark returns the measurement kept in dir, if there is one.
func readBenchmark(dir string) (benchmarkResult, bool) {
	var r benchmarkResult
	b, err := os.ReadFile(filepath.Join(dir, benchmarkFile))
	if err != nil || json.Unmarshal(b, &r) != nil {
		return r, false
	}
	return r, true
}

// opsPerSecond returns this PC's Whetstone speed, measuring it (for
// quickBenchmark) and keeping it in dir when there is no figure, or none
// newer than benchmarkMaxAge. Credit falls back to the app's estimate
// without one, so a failure is logged, not fatal: it returns 0.
func opsPerSecond(ctx context.Context, dir string, now time.Time, log *slog.Logger) float64 {
	r, ok := readBenchmark(dir)
	if ok && r.OpsPerSecond > 0 && r.OpsPerSecond <= payouts.MaxOpsPerSecond && now.Sub(r.MeasuredAt) < benchmarkMaxAge {
		return r.OpsPerSecond
	}
	log.Info("measuring this PC's speed, for credit", "seconds", quickBenchmark.Seconds())
	ops, err := speed.Whetstone(ctx, quickBenchmark)
	if err != nil {
		log.Warn("could not measure this PC's speed; credit will use the apps' estimates", "err", err)
		return 0
	}
	// A newer Whetstone figure replaces the old one; the sample-app figures
	// of a full worker benchmark are kept.
	r.MeasuredAt, r.Cores, r.OpsPerSecond = now.UTC(), runtime.NumCPU(), ops
	if err := saveBenchmark(dir, r); err != nil {
		log.Warn("could not keep the benchmark", "err", err)
	}
	return ops
}

func saveBenchmark(dir string, r benchmarkResult) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, benchmarkFile), b, 0o600); err != nil {
		return fmt.Errorf("saving the benchmark: %w", err)
	}
	return nil
}

func runBenchmark(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker benchmark", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", "", "state directory")
	seconds := fs.Float64("seconds", 2, "how long to measure each of the two benchmarks")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *seconds <= 0 || *seconds > 600 {
		return fmt.Errorf("--seconds must be above 0 and at most 600, got %v", *seconds)
	}
	dir, err := stateDir(*state, getenv)
	if err != nil {
		return err
	}
	d, err := markers.LoadDataset()
	if err != nil {
		return err
	}
	measure := time.Duration(*seconds * float64(time.Second))
	// Whetstone, for credit: the measure the coordinator's Cobblestones are
	// defined against.
	ops, err := speed.Whetstone(ctx, measure)
	if err != nil {
		return fmt.Errorf("running the Whetstone benchmark: %w", err)
	}
	// Whole units of the sample app, on one core, until the time is up: the
	// same arithmetic the PC will do for research.
	const n = 1000
	var units int
	start := time.Now()
	for seed := uint64(1); time.Since(start) < measure; seed++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		markers.Run(d, markers.Input{K: 5, Seed: seed, N: n})
		units++
	}
	elapsed := time.Since(start).Seconds()
	r := benchmarkResult{MeasuredAt: time.Now().UTC(), Cores: runtime.NumCPU(), OpsPerSecond: ops,
		SignaturesPerSecond: float64(units*n) / elapsed, SecondsPerDemoUnit: elapsed / float64(units)}
	if err := saveBenchmark(dir, r); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%.0f million Whetstone instructions/s on one core (sent to the coordinator, for credit)\n", ops/1e6)
	fmt.Fprintf(stdout, "%.0f signatures/s on one core (markers, k=5; %.2f ms per demo unit); %d cores\n",
		r.SignaturesPerSecond, 1000*r.SecondsPerDemoUnit, r.Cores)
	return nil
}
