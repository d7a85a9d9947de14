package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/daemon"
	"github.com/nightshift-platform/nightshift/coordinator/daemon/daemontest"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/worker/agent"
	"github.com/nightshift-platform/nightshift/worker/governor"
	"github.com/nightshift-platform/nightshift/worker/idle"
	"github.com/nightshift-platform/nightshift/worker/policy"
	"github.com/nightshift-platform/nightshift/workunits"
)

var quiet = slog.New(slog.DiscardHandler)

// localPrefs reads preferences as worker run does: the file in dir, then
// the flags in args.
func localPrefs(t *testing.T, dir string, args ...string) (policy.Preferences, map[string]bool) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var pf prefFlags
	pf.define(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	prefs, err := pf.preferences(fs, dir)
	if err != nil {
		t.Fatal(err)
	}
	set, err := localWebFields(fs, dir)
	if err != nil {
		t.Fatal(err)
	}
	return prefs, set
}

func TestWebPreferencesGoUnderLocalOnes(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, preferencesFile), []byte(`{"idle_minutes": 3, "cpu_throttle_percent": 50}`), 0o600); err != nil {
		t.Fatal(err)
	}
	local, set := localPrefs(t, dir, "--run-on-battery=false", "--max-cores", "50")
	web := newWebPrefs(local, set, dir, quiet)
	if got := web.Current(); !equalPrefs(got, local) {
		t.Fatalf("with no web preferences: %+v, want the local ones %+v", got, local)
	}

	idle, cpu, battery, hours := 30.0, 60.0, true, "mon-fri 18:00-08:00"
	changed, err := web.apply(4, workunits.WebPreferences{IdleMinutes: &idle, MaxOtherCPUPercent: &cpu, RunOnBattery: &battery,
		ActiveHours: &hours}, time.Now())
	if err != nil || !changed {
		t.Fatalf("apply = %v, %v; want a change", changed, err)
	}
	want := local // idle_minutes from the file and run_on_battery from a flag stay; the rest comes from the web
	want.MaxOtherCPUPercent = 60
	want.ActiveHours, _ = policy.ParseWeek(hours)
	if got := web.Current(); !equalPrefs(got, want) {
		t.Errorf("merged:\n got %+v\nwant %+v", got, want)
	}
	st := web.status()
	if st.Version != 4 || !slices.Equal(st.FromWeb, []string{"max_other_cpu_percent", "active_hours"}) ||
		!slices.Equal(st.SetLocally, []string{"idle_minutes", "run_on_battery"}) {
		t.Errorf("status = %+v", st)
	}
	var b strings.Builder
	renderWebPrefs(&b, st)
	for _, s := range []string{"version 4", `other programs' CPU limit 60%`, `active hours "mon-fri 18:00-08:00"`, "set on this PC instead", "idle minutes 30"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("worker status says %q, without %q", b.String(), s)
		}
	}
	if again, _ := web.apply(4, workunits.WebPreferences{IdleMinutes: &idle, MaxOtherCPUPercent: &cpu, RunOnBattery: &battery,
		ActiveHours: &hours}, time.Now()); again {
		t.Error("the same preferences again counted as a change")
	}

	// A restart, offline: the saved web preferences apply at once.
	if got := newWebPrefs(local, set, dir, quiet).Current(); !equalPrefs(got, want) {
		t.Errorf("after a restart: %+v, want %+v", got, want)
	}
	// Unset on the web: back to the local ones (defaults where not set).
	if _, err := web.apply(5, workunits.WebPreferences{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := web.Current(); !equalPrefs(got, local) {
		t.Errorf("after the web unset all: %+v, want %+v", got, local)
	}

	// Preferences the worker cannot apply change nothing.
	bad := -1.0
	if _, err := web.apply(6, workunits.WebPreferences{IdleMinutes: &bad}, time.Now()); err == nil {
		t.Error("applying idle_minutes -1 succeeded")
	}
	if st := web.status(); st.Version != 5 {
		t.Errorf("after refused preferences, version %d, want 5", st.Version)
	}
}

func TestSavedWebPreferencesThatCannotBeReadAreIgnored(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, webPrefsFile), []byte(`{"version": 2, "preferences": {"idle_minutes": "x"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	local, set := localPrefs(t, dir)
	if got := newWebPrefs(local, set, dir, quiet).Current(); !equalPrefs(got, policy.Defaults()) {
		t.Errorf("with a corrupt saved file: %+v, want the defaults", got)
	}
}

func equalPrefs(a, b policy.Preferences) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// noExecutor fails any task: the coordinator in these tests has none.
type noExecutor struct{}

func (noExecutor) Start(context.Context, agent.Job) (agent.Execution, error) {
	return nil, errors.New("no tasks in this test")
}

// fixedInput says the last input was at a fixed time.
type fixedInput struct{ at time.Time }

func (f fixedInput) LastInput(context.Context) (time.Time, bool, error) { return f.at, true, nil }

// TestWorkerPicksUpWebPreferencesAtItsNextContact runs a real coordinator
// and a worker's agent, governor and contact loop: a preference changed on
// the web reaches the governor at the next contact, and the coordinator
// hears the state that follows.
func TestWorkerPicksUpWebPreferencesAtItsNextContact(t *testing.T) {
	ctx := context.Background()
	coord := daemontest.Start(t, daemon.Config{DB: "sqlite:" + filepath.Join(t.TempDir(), "test.db"),
		OperatorKey: service.NewKey(service.OperatorKeyPrefix), BackgroundInterval: 100 * time.Millisecond})
	c, err := client.New(coord.URL, "", nil).CreateContributor(ctx, "ada")
	if err != nil {
		t.Fatal(err)
	}
	account := client.New(coord.URL, c.AccountKey, nil)
	h, err := account.RegisterHost(ctx, api.RegisterHostRequest{Name: "pc", Platform: "test/amd64", Cores: 2})
	if err != nil {
		t.Fatal(err)
	}
	hostClient := account.WithKey(h.HostToken)

	dir := t.TempDir()
	local, set := localPrefs(t, dir, "--max-other-cpu", "100") // the rest: defaults, so 3 idle minutes
	web := newWebPrefs(local, set, dir, quiet)
	gate := agent.NewGate(false, quiet)
	ag := agent.New(agent.Config{Client: hostClient, Executor: noExecutor{}, StateDir: dir, Gate: gate,
		MaxIdleWait: 200 * time.Millisecond, Logger: quiet})
	input := fixedInput{at: time.Now().Add(-10 * time.Minute)} // the owner left 10 minutes ago
	gov := &governor.Governor{Gate: gate, Input: input,
		Observe: func(ctx context.Context) idle.Observation {
			return idle.Observation{LastInput: input.at, InputKnown: true, Sources: []string{"test"}}
		},
		Preferences: web.Current, FastEvery: 20 * time.Millisecond, SlowEvery: 20 * time.Millisecond, FullEvery: 20 * time.Millisecond}
	contact := &contactLoop{Client: hostClient, Prefs: web, Every: 500 * time.Millisecond, Gap: 100 * time.Millisecond,
		Poll: 20 * time.Millisecond, Log: quiet,
		State: func() api.HostContactRequest { return hostReport(gov, func() int { return len(ag.Status().Tasks) }) }}
	loops, stop := context.WithCancel(ctx)
	done := make(chan struct{}, 3)
	for _, run := range []func(context.Context){gov.Run, contact.Run, func(ctx context.Context) { _ = ag.Run(ctx) }} {
		go func() { run(loops); done <- struct{}{} }()
	}
	t.Cleanup(func() { stop(); <-done; <-done; <-done })

	hostState := func() workunits.HostState {
		states, err := coord.Service.HostStates(ctx, []int64{h.ID})
		if err != nil {
			t.Fatal(err)
		}
		return states[h.ID]
	}
	waitUntil(t, 10*time.Second, "the coordinator to hear the worker is idle", func() bool {
		return hostState().State == workunits.HostIdle
	})
	if st, _ := gov.State(); !st.Run {
		t.Fatalf("with 3 idle minutes and 10 without input, the governor says %+v", st)
	}

	idleMinutes := 60.0
	if _, err := account.SetWebPreferences(ctx, workunits.WebPreferences{IdleMinutes: &idleMinutes}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the governor to apply 60 idle minutes from the web", func() bool {
		st, _ := gov.State()
		return !st.Run && st.Code == policy.UserActive
	})
	if gate.Open() {
		t.Error("the gate is open with the worker suspended")
	}
	waitUntil(t, 10*time.Second, "the coordinator to hear the worker is suspended", func() bool {
		s := hostState()
		return s.State == workunits.HostSuspended && s.Reason == string(policy.UserActive) && strings.Contains(s.Detail, "without input")
	})
	b, err := os.ReadFile(filepath.Join(dir, webPrefsFile))
	var saved savedWebPrefs
	if err == nil {
		err = json.Unmarshal(b, &saved)
	}
	if err != nil || saved.Version != 1 || saved.Preferences.IdleMinutes == nil || *saved.Preferences.IdleMinutes != 60 {
		t.Errorf("%s = %+v, %v; want version 1 with idle_minutes 60", webPrefsFile, saved, err)
	}
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestContactEveryHasAFloor(t *testing.T) {
	var stderr strings.Builder
	err := runRun(context.Background(), []string{"--state", t.TempDir(), "--contact-every", "10ms"},
		func(string) string { return "" }, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--contact-every must be at least 1s") {
		t.Errorf("--contact-every 10ms: %v, want refused", err)
	}
}
