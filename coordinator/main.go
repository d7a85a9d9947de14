// Command coordinator is the Nightshift server: researchers submit jobs,
// volunteers' workers fetch tasks and report results, and validated results
// are paid. "coordinator demo" runs the whole thing on one machine.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/daemon"
	"github.com/nightshift-platform/nightshift/coordinator/demo"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/payouts"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "coordinator:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  coordinator demo [--json] [--keep] [--data DIR]          run the main job end to end on this machine
  coordinator serve [--addr ADDR] [--data DIR] [--db URL]   run a coordinator
  coordinator migrate [--data DIR] [--db URL]               bring the database schema up to date and exit
  coordinator keygen -out KEY.pem                           make a project signing key; prints the public key
  coordinator sign -key KEY.pem APP.wasm                    print the signature for an app version upload
  coordinator payouts run|export|import …                   pay contributors in runs ("coordinator payouts help")

  --db is postgres://… (PostgreSQL) or sqlite:PATH (embedded; the default is sqlite:DATA/nightshift.db)`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("missing command")
	}
	switch args[0] {
	case "demo":
		return runDemo(ctx, args[1:], stdout, stderr)
	case "serve":
		return runServe(ctx, args[1:], getenv, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], getenv, stderr)
	case "keygen":
		return runKeygen(args[1:], stdout, stderr)
	case "sign":
		return runSign(args[1:], stdout, stderr)
	case "payouts":
		return runPayouts(ctx, args[1:], getenv, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	default:
		fmt.Fprintln(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o := demo.DefaultOptions
	fs := flag.NewFlagSet("coordinator demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.DataDir, "data", "", "data directory (default: a temporary one, removed at the end)")
	fs.BoolVar(&o.JSON, "json", false, "end with the summary as one JSON object on stdout")
	fs.BoolVar(&o.Keep, "keep", false, "leave the coordinator running and print its URL and the demo keys")
	fs.StringVar(&o.Addr, "addr", o.Addr, "coordinator listen address")
	fs.IntVar(&o.Seeds, "seeds", o.Seeds, "random seeds per signature size (the job has 5 × seeds units)")
	fs.IntVar(&o.Signatures, "signatures", o.Signatures, "gene signatures scored per unit")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.Seeds < 1 || o.Signatures < 1 {
		return errors.New("--seeds and --signatures must be positive")
	}
	return demo.Run(ctx, o, stdout, stderr)
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("coordinator serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", envOr(getenv, "NIGHTSHIFT_ADDR", "127.0.0.1:8080"), "listen address (NIGHTSHIFT_ADDR)")
	debugAddr := fs.String("debug-addr", getenv("NIGHTSHIFT_DEBUG_ADDR"),
		"serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; keep it private (NIGHTSHIFT_DEBUG_ADDR; default off)")
	dataDir, db := dbFlags(fs, getenv)
	operatorKey := fs.String("operator-key", getenv("NIGHTSHIFT_OPERATOR_KEY"),
		"operator key for creating and funding projects (NIGHTSHIFT_OPERATOR_KEY; default: generated into DATA/operator.key)")
	feeBPS := fs.Int("platform-fee-bps", 0, "the platform's fee on every reward, in basis points: 250 is 2.5%")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *feeBPS < 0 || *feeBPS > payouts.MaxFeeBPS {
		return fmt.Errorf("--platform-fee-bps must be between 0 and %d, got %d", payouts.MaxFeeBPS, *feeBPS)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	if *operatorKey == "" {
		key, path, err := operatorKeyFile(*dataDir)
		if err != nil {
			return err
		}
		*operatorKey = key
		log.Info("operator key loaded from file", "path", path)
	}
	c, err := daemon.Start(ctx, daemon.Config{Addr: *addr, DB: dbURL(*dataDir, *db), OperatorKey: *operatorKey,
		DebugAddr: *debugAddr, Logger: log, PlatformFeeBPS: *feeBPS})
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down")
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Stop(stopCtx)
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("coordinator migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir, db := dbFlags(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *db == "" {
		if err := os.MkdirAll(*dataDir, 0o700); err != nil {
			return fmt.Errorf("creating data directory: %w", err)
		}
	}
	st, err := daemon.OpenStore(ctx, dbURL(*dataDir, *db))
	if err != nil {
		return fmt.Errorf("migrating: %w", err)
	}
	fmt.Fprintln(stderr, "schema is up to date")
	return st.Close()
}

// dbFlags defines the flags that choose the database.
func dbFlags(fs *flag.FlagSet, getenv func(string) string) (dataDir, db *string) {
	dataDir = fs.String("data", envOr(getenv, "NIGHTSHIFT_DATA", "nightshift-data"), "data directory (NIGHTSHIFT_DATA)")
	db = fs.String("db", getenv("NIGHTSHIFT_DB"), "database: postgres://… or sqlite:PATH (NIGHTSHIFT_DB; default sqlite:DATA/nightshift.db)")
	return dataDir, db
}

// dbURL is the database to use: the one named, or the embedded store in
// the data directory.
func dbURL(dataDir, db string) string {
	if db != "" {
		return db
	}
	return "sqlite:" + filepath.Join(dataDir, "nightshift.db")
}

// operatorKeyFile reads the operator key kept in the data directory,
// creating it on first start, so that the key is never printed to a log.
func operatorKeyFile(dataDir string) (key, path string, err error) {
	path = filepath.Join(dataDir, "operator.key")
	b, err := os.ReadFile(path)
	if err == nil {
		return string(bytes.TrimSpace(b)), path, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", path, fmt.Errorf("reading %s: %w", path, err)
	}
	key = service.NewKey(service.OperatorKeyPrefix)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", path, fmt.Errorf("writing %s: %w", path, err)
	}
	return key, path, nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
