package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/metrics/metricstest"
	"github.com/nightshift-platform/nightshift/worker/agent"
	"github.com/nightshift-platform/nightshift/worker/governor"
	"github.com/nightshift-platform/nightshift/worker/idle"
	"github.com/nightshift-platform/nightshift/worker/policy"
)

// The worker's metrics port serves a scrape that promtool accepts, and
// nightshift_worker_suspended follows the governor: one reason at 1 while
// the owner is at the PC, every reason at 0 once the PC is idle.
func TestWorkerMetricsScrape(t *testing.T) {
	dir := t.TempDir()
	prefs, _ := localPrefs(t, dir, "--max-other-cpu", "100", "--idle-minutes", "3")
	gate := agent.NewGate(false, quiet)
	// The agent is never run: the collector reads its status only.
	ag := agent.New(agent.Config{Client: client.New("http://127.0.0.1:1", "", nil), Executor: noExecutor{},
		StateDir: filepath.Join(dir, "state"), Gate: gate, Logger: quiet})
	var lastInput atomic.Int64 // UnixNano
	lastInput.Store(time.Now().UnixNano())
	observe := func(context.Context) idle.Observation {
		return idle.Observation{LastInput: time.Unix(0, lastInput.Load()), InputKnown: true, Sources: []string{"test"}}
	}
	gov := &governor.Governor{Gate: gate, Input: inputFunc(func() time.Time { return time.Unix(0, lastInput.Load()) }),
		Observe: observe, Preferences: func() policy.Preferences { return prefs },
		FastEvery: 10 * time.Millisecond, SlowEvery: 10 * time.Millisecond, FullEvery: 10 * time.Millisecond}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { gov.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })

	addr, err := serveMetrics(ctx, "127.0.0.1:0", ag, gov, quiet)
	if err != nil {
		t.Fatal(err)
	}
	scrape := func() []byte {
		t.Helper()
		resp, err := http.Get("http://" + addr.String() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics: %d, %v\n%s", resp.StatusCode, err, body)
		}
		return body
	}
	suspended := func(want string) {
		t.Helper()
		body := scrape()
		families := metricstest.Parse(t, body)
		for _, name := range []string{"nightshift_worker_tasks_running", "nightshift_worker_tasks_done_total", "nightshift_worker_reports_waiting"} {
			if _, ok := families[name]; !ok {
				t.Errorf("the scrape lacks %s", name)
			} else if v := metricstest.Sum(families, name, nil); v != 0 {
				t.Errorf("%s = %v with no task ever run, want 0", name, v)
			}
		}
		for _, reason := range suspendReasons {
			wantValue := 0.0
			if reason == want {
				wantValue = 1
			}
			if v := metricstest.Sum(families, "nightshift_worker_suspended", map[string]string{"reason": reason}); v != wantValue {
				t.Errorf("nightshift_worker_suspended{reason=%q} = %v, want %v", reason, v, wantValue)
			}
		}
		metricstest.PromtoolCheck(t, body)
	}

	waitUntil(t, 10*time.Second, "the governor to see the owner at the PC", func() bool {
		st, _ := gov.State()
		return !st.Run && st.Code == policy.UserActive
	})
	suspended(string(policy.UserActive))

	lastInput.Store(time.Now().Add(-10 * time.Minute).UnixNano())
	waitUntil(t, 10*time.Second, "the governor to see the PC idle", func() bool {
		st, _ := gov.State()
		return st.Run
	})
	suspended("")
}

// inputFunc is an idle.InputSource from a function.
type inputFunc func() time.Time

func (f inputFunc) LastInput(context.Context) (time.Time, bool, error) { return f(), true, nil }
