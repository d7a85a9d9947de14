package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/worker/agent"
	"github.com/nightshift-platform/nightshift/worker/governor"
	"github.com/nightshift-platform/nightshift/worker/idle"
	"github.com/nightshift-platform/nightshift/worker/policy"
)

const preferencesFile = "preferences.json"

// prefFlags are the preference flags; a flag given overrides the file.
type prefFlags struct {
	given policy.Preferences // the flags' values, defaults where not given
}

// prefFlagTable lists each preference flag once: its name, its help and the
// field it sets.
var prefFlagTable = []struct {
	name, usage string
	field       func(p *policy.Preferences) any // a pointer to the field
}{
	{"idle-minutes", "start after this many minutes without keyboard or mouse input", func(p *policy.Preferences) any { return &p.IdleMinutes }},
	{"suspend-on-input", "suspend tasks as soon as input resumes", func(p *policy.Preferences) any { return &p.SuspendOnInput }},
	{"max-other-cpu", "suspend while other programs use more than this % of all cores (100: never)", func(p *policy.Preferences) any { return &p.MaxOtherCPUPercent }},
	{"run-on-battery", "compute on battery power", func(p *policy.Preferences) any { return &p.RunOnBattery }},
	{"max-cores", "use at most this % of the cores", func(p *policy.Preferences) any { return &p.MaxCoresPercent }},
	{"cpu-throttle", "run tasks this % of each second", func(p *policy.Preferences) any { return &p.CPUThrottlePercent }},
	{"task-memory-mib", "memory cap per task, MiB", func(p *policy.Preferences) any { return &p.TaskMemoryMiB }},
	{"total-memory-mib", "memory cap for all tasks together, MiB (0: no cap beyond per task)", func(p *policy.Preferences) any { return &p.TotalMemoryMiB }},
	{"disk-mib", "disk cap for tasks, modules and compiled code in the state directory, MiB", func(p *policy.Preferences) any { return &p.DiskMiB }},
	{"active-hours", `compute only in these hours, e.g. "mon-fri 18:00-08:00; sat,sun 00:00-24:00"`, func(p *policy.Preferences) any { return &p.ActiveHours }},
}

func (p *prefFlags) define(fs *flag.FlagSet) {
	p.given = policy.Defaults()
	for _, f := range prefFlagTable {
		switch v := f.field(&p.given).(type) {
		case *float64:
			fs.Float64Var(v, f.name, *v, f.usage)
		case *bool:
			fs.BoolVar(v, f.name, *v, f.usage)
		case *int:
			fs.IntVar(v, f.name, *v, f.usage)
		case *policy.Week:
			fs.Var(weekFlag{v}, f.name, f.usage)
		default:
			panic(fmt.Sprintf("preference flag --%s: no flag for a %T", f.name, v))
		}
	}
}

// preferences reads the preferences file in dir (defaults if there is
// none) and applies the flags that were given.
func (p *prefFlags) preferences(fs *flag.FlagSet, dir string) (policy.Preferences, error) {
	prefs := policy.Defaults()
	path := filepath.Join(dir, preferencesFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		if prefs, err = policy.ParsePreferences(b); err != nil {
			return prefs, fmt.Errorf("%s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return prefs, fmt.Errorf("reading %s: %w", path, err)
	}
	fs.Visit(func(fl *flag.Flag) {
		for _, f := range prefFlagTable {
			if f.name == fl.Name {
				copyField(f.field(&prefs), f.field(&p.given))
			}
		}
	})
	return prefs, prefs.Validate()
}

// copyField sets *dst to *src; both point to the same field of a
// Preferences.
func copyField(dst, src any) {
	reflect.ValueOf(dst).Elem().Set(reflect.ValueOf(src).Elem())
}

// weekFlag reads active hours as ParseWeek does.
type weekFlag struct{ w *policy.Week }

func (f weekFlag) String() string {
	if f.w == nil || len(*f.w) == 0 {
		return ""
	}
	b, _ := f.w.MarshalJSON()
	return string(b)
}

func (f weekFlag) Set(s string) error {
	w, err := policy.ParseWeek(s)
	if err != nil {
		return err
	}
	*f.w = w
	return nil
}

func runRun(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	coordinator := fs.String("coordinator", getenv("NIGHTSHIFT_COORDINATOR"), "coordinator URL, to attach (NIGHTSHIFT_COORDINATOR)")
	accountKey := fs.String("account-key", "", "contributor account key, used once to attach (NIGHTSHIFT_ACCOUNT_KEY)")
	state := fs.String("state", "", "state directory (default: the user config dir's nightshift-worker; NIGHTSHIFT_WORKER_STATE)")
	name := fs.String("name", "", "host name shown to the contributor (default: the machine's host name)")
	slots := fs.Int("slots", 0, "tasks to run at once (default: by --max-cores and the memory caps)")
	activityFile := fs.String("activity-file", "", "a file whose modification time counts as user input, for setups the built-in idle sources cannot see")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	wrongPct := fs.Int("wrong-output-percent", 0, "testing only: corrupt this percentage of outputs, to exercise validation")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics on this local address, e.g. 127.0.0.1:9465 (default: off)")
	contactEvery := fs.Duration("contact-every", defaultContactEvery, "tell the coordinator this PC's state and fetch the web preferences this often (at least 1s)")
	var pf prefFlags
	pf.define(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Read after parsing, not as the flag's default: -h prints defaults,
	// and the key is a secret.
	if *accountKey == "" {
		*accountKey = getenv("NIGHTSHIFT_ACCOUNT_KEY")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if *wrongPct < 0 || *wrongPct > 100 {
		return fmt.Errorf("--wrong-output-percent must be between 0 and 100, got %d", *wrongPct)
	}
	dir, err := stateDir(*state, getenv)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}
	prefs, err := pf.preferences(fs, dir)
	if err != nil {
		return err
	}
	if *contactEvery < minContactEvery {
		return fmt.Errorf("--contact-every must be at least %s, got %s", minContactEvery, *contactEvery)
	}
	localSet, err := localWebFields(fs, dir)
	if err != nil {
		return err
	}
	web := newWebPrefs(prefs, localSet, dir, log)
	n := prefs.Slots(runtime.NumCPU())
	if *slots != 0 {
		if *slots < 1 || *slots > 64 {
			return fmt.Errorf("--slots must be between 1 and 64, got %d", *slots)
		}
		n = *slots
	}
	if s, running := readStatus(dir); running {
		return fmt.Errorf("a worker (pid %d) is already running on %s", s.PID, dir)
	}
	ops := opsPerSecond(ctx, dir, time.Now(), log)
	host, hostClient, err := attach(ctx, *coordinator, *accountKey, dir, hostName(*name), ops)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the worker binary, to run tasks with: %w", err)
	}

	gate := agent.NewGate(false, log)
	var transform func(agent.Result) agent.Result
	if *wrongPct > 0 {
		transform = wrongOutputs(*wrongPct)
		log.Warn("this worker corrupts outputs on purpose", "percent", *wrongPct)
	}
	compiled := filepath.Join(dir, "compiled")
	ag := agent.New(agent.Config{
		Client:       hostClient,
		Executor:     agent.ChildProcesses{Command: []string{exe, "task-child"}, CacheDir: compiled, MemoryLimitMiB: prefs.TaskMemoryMiB},
		DiskCap:      int64(prefs.DiskMiB) << 20,
		CacheDirs:    []string{compiled},
		StateDir:     dir,
		Slots:        n,
		Gate:         gate,
		Logger:       log,
		Transform:    transform,
		OpsPerSecond: ops,
	})
	var extraInput []idle.Named
	if *activityFile != "" {
		extraInput = append(extraInput, idle.Named{Name: "activity-file", Source: idle.ActivityFile{Path: *activityFile}})
	}
	sampler := idle.NewSampler(ag.PIDs, log, extraInput...)
	defer sampler.Close()
	gov := &governor.Governor{
		Gate:        gate,
		Input:       sampler.Input,
		Observe:     sampler.Observe,
		Preferences: web.Current,
		Paused:      func() bool { return paused(dir) },
		FastEvery:   governor.DefaultFastEvery,
		SlowEvery:   governor.DefaultSlowEvery,
	}

	loops, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { gov.Run(loops) })
	if *metricsAddr != "" {
		if _, err := serveMetrics(loops, *metricsAddr, ag, gov, log); err != nil {
			stopLoops()
			wg.Wait()
			return fmt.Errorf("serving metrics on %s: %w", *metricsAddr, err)
		}
	}
	wg.Go(func() { keepStatus(loops, dir, host, prefs, n, gov, ag, log, web) })
	contact := &contactLoop{Client: hostClient, Prefs: web, Every: *contactEvery, Log: log, OpsPerSecond: ops,
		State: func() api.HostContactRequest { return hostReport(gov, func() int { return len(ag.Status().Tasks) }) }}
	wg.Go(func() { contact.Run(loops) })
	log.Info("worker started", "coordinator", host.Coordinator, "host", host.HostID, "state", dir, "slots", n,
		"idle_minutes", prefs.IdleMinutes, "input_sources", sampler.Input.Len())
	err = ag.Run(ctx)
	stopLoops()
	wg.Wait()
	removeStatus(dir)
	return err
}

// wrongOutputs makes a share of successful outputs wrong, the way a faulty
// or dishonest host would. It exists to show and test validation (the demo
// runs one such host); a real volunteer never sets it.
func wrongOutputs(percent int) func(agent.Result) agent.Result {
	return func(r agent.Result) agent.Result {
		if rand.IntN(100) < percent {
			r.Stdout = append([]byte(`{"tampered":true}`), r.Stdout...)
		}
		return r
	}
}

// paused says whether the volunteer ran worker pause.
func paused(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "paused"))
	return err == nil
}

func runPause(args []string, getenv func(string) string, pause bool, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker pause", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", "", "state directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := stateDir(*state, getenv)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "paused")
	if !pause {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("resuming: %w", err)
		}
		fmt.Fprintln(stdout, "resumed: the worker computes whenever the preferences allow")
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(strconv.FormatInt(time.Now().Unix(), 10)+"\n"), 0o600); err != nil {
		return fmt.Errorf("pausing: %w", err)
	}
	fmt.Fprintln(stdout, "paused: running tasks are suspended until worker resume")
	return nil
}
