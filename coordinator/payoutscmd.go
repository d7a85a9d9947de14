package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nightshift-platform/nightshift/coordinator/daemon"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/payouts"
)

const payoutsUsage = `usage:
  coordinator payouts run --key K [--threshold-micros N] --out DIR   create (or find) run K, hold its money, write its files
  coordinator payouts export --run R --out DIR                       write run R's payout-run-R.csv and .json into DIR
  coordinator payouts import --run R FILE                            apply the processor's results (CSV or JSON)

  each also takes --data DIR and --db URL (NIGHTSHIFT_DATA, NIGHTSHIFT_DB), as serve does`

// runPayouts pays contributors from the command line, against the same
// database a coordinator serves: each step is one transaction, safe to
// run again after a crash (see service/payouts.go).
func runPayouts(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, payoutsUsage)
		return errors.New("missing payouts command")
	}
	fs := flag.NewFlagSet("coordinator payouts "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir, db := new(string), new(string)
	dbFlags(fs, dataDir, db)
	var (
		key       *string
		threshold *int64
		out       *string
		runID     *int64
	)
	switch args[0] {
	case "run":
		key = fs.String("key", "", "the run's idempotency key: the same key makes the same run (required)")
		threshold = fs.Int64("threshold-micros", 0, "pay contributors with at least this available (default 10 USD)")
		out = fs.String("out", "", "write the run's files into this directory (required)")
	case "export":
		runID = fs.Int64("run", 0, "the run's id (required)")
		out = fs.String("out", "", "write the files into this directory (required)")
	case "import":
		runID = fs.Int64("run", 0, "the run's id (required)")
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, payoutsUsage)
		return nil
	default:
		fmt.Fprintln(stderr, payoutsUsage)
		return fmt.Errorf("unknown payouts command %q", args[0])
	}
	if err := parseFlags(fs, args[1:], getenv, "data", "db"); err != nil {
		return err
	}
	switch {
	case key != nil && *key == "":
		return errors.New("payouts run: --key is required")
	case threshold != nil && *threshold < 0:
		return errors.New("payouts run: --threshold-micros must be positive")
	case out != nil && *out == "":
		return fmt.Errorf("payouts %s: --out is required", args[0])
	case runID != nil && *runID <= 0:
		return fmt.Errorf("payouts %s: --run must be a run id", args[0])
	case args[0] == "import" && fs.NArg() != 1:
		return errors.New("usage: coordinator payouts import --run R FILE")
	case args[0] != "import" && fs.NArg() != 0:
		return fmt.Errorf("payouts %s: unexpected argument %q", args[0], fs.Arg(0))
	}
	var results []byte
	if args[0] == "import" {
		var err error
		if results, err = os.ReadFile(fs.Arg(0)); err != nil {
			return fmt.Errorf("reading the results: %w", err)
		}
	}
	if out != nil {
		if info, err := os.Stat(*out); err != nil || !info.IsDir() {
			return fmt.Errorf("--out %s is not a directory", *out)
		}
	}
	if *db == "" {
		if _, err := os.Stat(*dataDir); err != nil {
			return fmt.Errorf("no data directory %s: point --data or --db at the coordinator's database", *dataDir)
		}
	}
	st, err := daemon.OpenStore(ctx, dbURL(*dataDir, *db))
	if err != nil {
		return fmt.Errorf("opening the store: %w", err)
	}
	defer st.Close()
	svc := service.New(service.Options{Store: st})

	switch args[0] {
	case "run":
		run, err := svc.CreatePayoutRun(ctx, *key, *threshold)
		if err != nil {
			return err
		}
		verb := "created"
		if !run.Created {
			verb = "found (made before)"
		}
		fmt.Fprintf(stdout, "payout run %d %s for key %q: %d lines, %s %s held\n", run.ID, verb, run.Key, run.LineCount, payouts.FormatMicros(run.TotalMicros), payouts.Currency)
		return export(ctx, svc, run.ID, *out, stdout)
	case "export":
		return export(ctx, svc, *runID, *out, stdout)
	default:
		imp, err := svc.ImportPayoutResults(ctx, *runID, results)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "payout run %d: %d settled, %d returned, %d unchanged; run %s\n",
			*runID, imp.Settled, imp.Returned, imp.Unchanged, imp.Run.State)
		return nil
	}
}

func export(ctx context.Context, svc *service.Service, runID int64, dir string, stdout io.Writer) error {
	paths, err := svc.ExportPayoutRun(ctx, runID, dir)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, strings.Join(paths, "\n"))
	return nil
}
