// Command chaos runs a job through coordinators that are killed with
// SIGKILL and restarted, behind proxies that drop requests, worked by
// simulated hosts some of which lie, die or forge reports; then it checks,
// with SQL on the database, that nothing was lost, credited twice or taken
// from the wrong host. scripts/chaos runs it on PostgreSQL (two
// coordinators) and on the embedded SQLite store (one).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

// config is one run's parameters.
type config struct {
	bin          string // the coordinator binary
	store        string // "postgres" or "sqlite"
	serverURL    string // the PostgreSQL server to create the run's database on
	coordinators int
	units        int
	hosts        int
	contributors int
	liars        float64 // share of hosts that lie
	mortals      float64 // share of hosts that sometimes die
	deathRate    float64 // chance a mortal host dies after a lease
	forgeRate    float64 // chance a host forges a report after a report
	poisonEvery  int     // every n-th unit makes every host report an error
	leaseMax     int
	dropRate     float64
	killMin      time.Duration
	killMax      time.Duration
	deadline     time.Duration
	timeout      time.Duration
	keep         bool
	workDir      string
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chaos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	quick := fs.Bool("quick", false, "the short run (under 5 minutes): 10,000 units (≥ 20,000 tasks) and 50 hosts on each store")
	stores := fs.String("stores", "postgres,sqlite", "stores to run on, comma-separated")
	fs.StringVar(&cfg.bin, "coordinator", "", "the coordinator binary (required)")
	units := fs.Int("units", 0, "units in the job (default 25,000; 10,000 with --quick)")
	sqliteUnits := fs.Int("sqlite-units", 0, "units in the job on SQLite (default: as on PostgreSQL)")
	hosts := fs.Int("hosts", 0, "simulated hosts (default 100; 50 with --quick)")
	fs.Float64Var(&cfg.dropRate, "drop", 0.05, "share of requests the proxies drop")
	fs.DurationVar(&cfg.killMin, "kill-min", 2*time.Second, "least time between coordinator kills")
	fs.DurationVar(&cfg.killMax, "kill-max", 5*time.Second, "most time between coordinator kills")
	deadline := fs.Duration("deadline", 0, "the job's task deadline, whole seconds (default 6s; 3s with --quick)")
	fs.DurationVar(&cfg.timeout, "timeout", 0, "give up on a store's run after this long (default 30m; 4m with --quick)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the PostgreSQL database and the work directory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.bin == "" {
		return fmt.Errorf("--coordinator is required")
	}
	cfg.serverURL = getenv("NIGHTSHIFT_TEST_DATABASE_URL")
	if cfg.serverURL == "" {
		cfg.serverURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	// The full run's hosts are many for two shared cores: requests slow
	// down, and a deadline of a few seconds would expire most leases
	// before their reports arrive.
	cfg.units, cfg.hosts, cfg.timeout = 25_000, 100, orDefault(cfg.timeout, 30*time.Minute)
	if *deadline == 0 {
		cfg.deadline = 6 * time.Second
	}
	if *quick {
		cfg.units, cfg.hosts, cfg.timeout = 10_000, 50, orDefault(cfg.timeout, 4*time.Minute)
		if *deadline == 0 {
			cfg.deadline = 3 * time.Second
		}
	}
	if *deadline > 0 {
		cfg.deadline = *deadline
	}
	if *units > 0 {
		cfg.units = *units
	}
	if *hosts > 0 {
		cfg.hosts = *hosts
	}
	cfg = withBehaviour(cfg)

	ok := true
	for _, store := range strings.Split(*stores, ",") {
		c := cfg
		c.store = strings.TrimSpace(store)
		switch c.store {
		case "postgres":
			c.coordinators = 2
		case "sqlite":
			c.coordinators = 1
			switch {
			case *sqliteUnits > 0:
				c.units = *sqliteUnits
			}
		default:
			return fmt.Errorf("--stores: unknown store %q", c.store)
		}
		c.poisonEvery = withBehaviour(c).poisonEvery
		res, err := runStore(ctx, c, stderr)
		if err != nil {
			return fmt.Errorf("%s: %w", c.store, err)
		}
		res.print(stdout)
		ok = ok && res.violations.none()
	}
	if !ok {
		return fmt.Errorf("invariants violated")
	}
	return nil
}

// withBehaviour sets how the simulated hosts misbehave: a tenth lie, a
// fifth sometimes die holding their tasks, and any may forge a report.
func withBehaviour(cfg config) config {
	cfg.contributors = max(cfg.hosts/2, 4)
	cfg.liars, cfg.mortals, cfg.deathRate, cfg.forgeRate = 0.1, 0.2, 0.05, 0.05
	cfg.leaseMax = 8
	// About one unit in a hundred (at least 3 per run) fails by the error
	// rule.
	cfg.poisonEvery = min(max(cfg.units/3, 1), 100)
	return cfg
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
