package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/nightshift-platform/nightshift/worker/atomicfile"
	"github.com/nightshift-platform/nightshift/workunits/markers"
)

// benchmarkResult is this PC's measured speed, kept in the state directory.
type benchmarkResult struct {
	MeasuredAt          time.Time `json:"measured_at"`
	Cores               int       `json:"cores"`
	SignaturesPerSecond float64   `json:"signatures_per_second"` // one core, the markers app (k=5), native
	SecondsPerDemoUnit  float64   `json:"seconds_per_demo_unit"` // k=5, n=1000, one core
}

func runBenchmark(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker benchmark", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", "", "state directory")
	seconds := fs.Float64("seconds", 2, "how long to measure")
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
	// Whole units of the sample app, on one core, until the time is up: the
	// same arithmetic the PC will do for research.
	const n = 1000
	var units int
	start := time.Now()
	for seed := uint64(1); time.Since(start) < time.Duration(*seconds*float64(time.Second)); seed++ {
		markers.Run(d, markers.Input{K: 5, Seed: seed, N: n})
		units++
	}
	elapsed := time.Since(start).Seconds()
	r := benchmarkResult{MeasuredAt: time.Now().UTC(), Cores: runtime.NumCPU(),
		SignaturesPerSecond: float64(units*n) / elapsed, SecondsPerDemoUnit: elapsed / float64(units)}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "benchmark.json"), b, 0o600); err != nil {
		return fmt.Errorf("saving the benchmark: %w", err)
	}
	fmt.Fprintf(stdout, "%.0f signatures/s on one core (markers, k=5; %.2f ms per demo unit); %d cores\n",
		r.SignaturesPerSecond, 1000*r.SecondsPerDemoUnit, r.Cores)
	return nil
}
