package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/appbuild"
	"github.com/nightshift-platform/nightshift/coordinator/store/postgres/pgtest"
)

// A tiny chaos, end to end, so that scripts/test runs the suite's code:
// a few hundred units, a few hosts, coordinators killed every second or
// two, the proxy dropping 5% of requests; every invariant must hold.
func TestChaosSQLite(t *testing.T) {
	runTiny(t, "sqlite", "")
}

// The same on PostgreSQL with two coordinators. It fails, never skips,
// when the test server does not answer.
func TestChaosPostgres(t *testing.T) {
	runTiny(t, "postgres", pgtest.ServerURL(t))
}

var built struct {
	once sync.Once
	dir  string
	err  error
}

// coordinatorBinary builds the coordinator once for the package's tests.
func coordinatorBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "nightshift-chaos-test-"); built.err != nil {
			return
		}
		built.err = appbuild.Native(context.Background(), "./coordinator", filepath.Join(built.dir, "coordinator"))
	})
	if built.err != nil {
		t.Fatalf("building the coordinator: %v", built.err)
	}
	return filepath.Join(built.dir, "coordinator")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func runTiny(t *testing.T, store, serverURL string) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	bin := coordinatorBinary(t)
	cfg := withBehaviour(config{bin: bin, store: store, serverURL: serverURL, coordinators: 1, units: 300, hosts: 8,
		dropRate: 0.05, killMin: time.Second, killMax: 2 * time.Second, deadline: 2 * time.Second, timeout: 90 * time.Second})
	if store == "postgres" {
		cfg.coordinators = 2
	}
	var log bytes.Buffer
	res, err := runStore(ctx, cfg, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var out bytes.Buffer
	res.print(&out)
	t.Log("\n" + out.String())
	if !res.violations.none() {
		t.Fatalf("invariants violated:\n%s", res.violations)
	}
	if res.kills == 0 {
		t.Error("no coordinator was killed")
	}
	var dropped int64
	for _, p := range res.proxies {
		dropped += p.droppedBefore.Load() + p.droppedAfter.Load()
	}
	if dropped == 0 {
		t.Error("the proxies dropped no request")
	}
	units := map[string]int{}
	for _, u := range res.snap.units {
		units[u.State]++
	}
	if res.obs.forgedSent.Load() == 0 {
		t.Error("no host forged a report")
	}
	if units["done"] == 0 || units["failed"] == 0 || units["done"]+units["failed"] != cfg.units {
		t.Errorf("units %v: want %d, some validated and some failed", units, cfg.units)
	}
}
