// Command loadgen drives one or more coordinators with thousands of
// simulated hosts speaking the real worker protocol over HTTP, and prints
// one JSON line of measurements: tasks per second from lease to credit,
// lease latency and CPU per task. scripts/bench starts the coordinators and
// runs it.
//
// Tasks "run" instantly: every output is the SHA-256 of the unit's input,
// computed before the timed phase, so the replicas of a unit agree, quorum
// validation passes and every valid task is paid, as with real workers.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/service"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// config is everything a run needs, from the flags.
type config struct {
	urls         []string // coordinators; requests are spread over them
	operatorKey  string
	hosts        int
	contributors int // 0: max(4, hosts/10), at most hosts
	tasks        int // validated tasks wanted
	quorum       int
	concurrency  int // requests in flight, each for a different host
	leaseMax     int // max_tasks per work request
	reward       int64
	maxDuration  time.Duration // 0: until every unit is done
	stall        time.Duration // give up when nothing is reported for this long
	setupConc    int
	pids         []int // coordinator processes whose CPU is measured
	dbComm       string
	analyzeDB    string // PostgreSQL URL to ANALYZE after setup
	clkTck       int
	profile      profiler

	// Labels copied into the JSON line.
	store      string
	pgbenchTPS float64 // 0: not measured
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	urls := fs.String("coordinators", "http://127.0.0.1:8080", "comma-separated coordinator URLs; requests are spread over them")
	// Not defaulted from the environment, so that --help never prints the key.
	fs.StringVar(&c.operatorKey, "operator-key", "", "operator key of the coordinators (default: NIGHTSHIFT_OPERATOR_KEY)")
	fs.IntVar(&c.hosts, "hosts", 10_000, "simulated hosts")
	fs.IntVar(&c.contributors, "contributors", 0, "contributors owning the hosts (0: max(4, hosts/10), at most hosts); replicas of a unit go to different contributors")
	fs.IntVar(&c.tasks, "tasks", 20_000, "validated tasks to produce (units = tasks / quorum, split into jobs of at most the per-job limit)")
	fs.IntVar(&c.quorum, "quorum", 2, "min_quorum of the jobs")
	fs.IntVar(&c.concurrency, "concurrency", 16, "requests in flight at once (each simulated host has at most one)")
	fs.IntVar(&c.leaseMax, "lease", service.MaxLeasePerRequest, "max_tasks per work request")
	fs.Int64Var(&c.reward, "reward", 1, "reward_micros per valid task, so that crediting happens (0: no crediting)")
	fs.DurationVar(&c.maxDuration, "max-duration", 0, "end the timed phase after this long even if units are left (0: run until all are done)")
	fs.DurationVar(&c.stall, "stall-timeout", time.Minute, "end the timed phase when no task has been reported for this long")
	fs.IntVar(&c.setupConc, "setup-concurrency", 32, "requests in flight while creating contributors and hosts")
	pids := fs.String("pids", "", "comma-separated PIDs of the coordinator processes, for CPU per task")
	fs.StringVar(&c.dbComm, "db-comm", "", "process name of the database server (e.g. postgres), for its CPU per task")
	fs.StringVar(&c.analyzeDB, "analyze", "", "PostgreSQL URL of the coordinators' database: ANALYZE it after setup, as autovacuum does on a live database soon after a large insert")
	fs.IntVar(&c.clkTck, "clk-tck", 100, "clock ticks per second of /proc/PID/stat (getconf CLK_TCK)")
	profileURLs := fs.String("profile-urls", "", "comma-separated debug URLs of the coordinators (serve --debug-addr): take a CPU profile of each during the timed phase")
	fs.StringVar(&c.profile.dir, "profile-dir", ".", "where to write the CPU profiles (cpu-coordinatorN.pprof)")
	fs.IntVar(&c.profile.seconds, "profile-seconds", 10, "length of each CPU profile, from the start of the timed phase")
	fs.StringVar(&c.store, "store", "", "store label for the JSON line (sqlite or postgres)")
	fs.Float64Var(&c.pgbenchTPS, "pgbench-tps", 0, "pgbench -N tps on the same PostgreSQL; adds pgbench_tps and ratio_to_pgbench to the line")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	for _, u := range strings.Split(*urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.urls = append(c.urls, strings.TrimSuffix(u, "/"))
		}
	}
	for _, u := range strings.Split(*profileURLs, ",") {
		if u = strings.TrimSpace(u); u != "" {
			c.profile.urls = append(c.profile.urls, strings.TrimSuffix(u, "/"))
		}
	}
	var err error
	if c.pids, err = parseInts(*pids); err != nil {
		return c, fmt.Errorf("--pids: %w", err)
	}
	if c.operatorKey == "" {
		c.operatorKey = getenv("NIGHTSHIFT_OPERATOR_KEY")
	}
	if c.contributors == 0 {
		c.contributors = min(c.hosts, max(4, c.hosts/10))
	}
	return c, c.check()
}

func (c config) check() error {
	switch {
	case len(c.urls) == 0:
		return errors.New("--coordinators names no URL")
	case c.operatorKey == "":
		return errors.New("--operator-key (or NIGHTSHIFT_OPERATOR_KEY) is required")
	case c.reward < 0:
		return errors.New("--reward must not be negative")
	case c.hosts < 1 || c.tasks < 1 || c.concurrency < 1 || c.setupConc < 1 || c.clkTck < 1 || c.profile.seconds < 1:
		return errors.New("--hosts, --tasks, --concurrency, --setup-concurrency, --clk-tck and --profile-seconds must be positive")
	case c.quorum < 2:
		return errors.New("--quorum must be at least 2, so that validation compares outputs")
	case c.contributors < c.quorum:
		return fmt.Errorf("--contributors must be at least the quorum (%d): replicas of a unit go to different contributors", c.quorum)
	case c.contributors > c.hosts:
		return errors.New("--contributors must not exceed --hosts")
	case c.leaseMax < 1 || c.leaseMax > service.MaxLeasePerRequest:
		return fmt.Errorf("--lease must be between 1 and %d", service.MaxLeasePerRequest)
	}
	return nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a process id", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	hc := newHTTPClient(cfg.concurrency + cfg.setupConc)

	start := time.Now()
	fx, err := setup(ctx, cfg, hc, log)
	if err != nil {
		return fmt.Errorf("setting up: %w", err)
	}
	if cfg.analyzeDB != "" {
		if err := analyze(ctx, cfg.analyzeDB); err != nil {
			return err
		}
	}
	log.Info("setup done", "seconds", time.Since(start).Seconds(), "hosts", len(fx.hosts), "units", fx.units, "jobs", len(fx.jobs),
		"analyzed", cfg.analyzeDB != "")

	res, err := drive(ctx, cfg, fx, log)
	if err != nil {
		return fmt.Errorf("driving the coordinators: %w", err)
	}
	line := summarise(cfg, fx, res)
	if res.complete && cfg.reward > 0 {
		n, err := creditedTasks(ctx, cfg, fx)
		if err != nil {
			return err
		}
		line.Credited = &n
		if n != res.validated {
			log.Warn("the validated and the credited task counts differ", "validated", res.validated, "credited", n)
		}
	}
	log.Info("done", "validated_tasks", line.Tasks, "tasks_per_s", line.TasksPerS, "lease_p99_ms", line.LeaseP99MS)
	if err := auditLedger(ctx, fx, log); err != nil {
		return err
	}
	b, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("encoding the result: %w", err)
	}
	_, err = fmt.Fprintln(stdout, string(b))
	return err
}

// newHTTPClient keeps a warm connection per request in flight: opening a
// TCP connection per request would cost the coordinator (and this process,
// on the same cores) more than the request itself.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			Proxy:               nil, // the coordinators are local; never go through an environment proxy
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        0,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}
