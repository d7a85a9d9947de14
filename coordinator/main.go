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
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/daemon"
	"github.com/nightshift-platform/nightshift/coordinator/demo"
	"github.com/nightshift-platform/nightshift/coordinator/httpapi"
	"github.com/nightshift-platform/nightshift/coordinator/ratelimit"
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

// serveOptions is what "coordinator serve" is told by its flags.
type serveOptions struct {
	addr, debugAddr, dataDir, db, operatorKey string
	feeBPS                                    int
	logFormat, logLevel                       string
	shutdownTimeout                           time.Duration
	rateLimit, trustedProxies                 string
	limits                                    httpapi.Limits
}

// The default rate limits: sign-ups and sign-ins allow a classroom behind
// one address at once, then one a minute; refused credentials a few typos,
// then one every three seconds; a credential far more than a busy worker
// or script sends.
var defaultLimits = httpapi.Limits{
	Anonymous:     ratelimit.Rate{Events: 60, Per: time.Hour},
	AuthFailures:  ratelimit.Rate{Events: 20, Per: time.Minute},
	PerCredential: ratelimit.Rate{Events: 6000, Per: time.Minute},
}

// serveFlags defines serve's flags. Each can also be set by its environment
// variable (see parseFlags); README's configuration table lists them, and a
// test holds the table to this flag set.
func serveFlags(stderr io.Writer) (*flag.FlagSet, *serveOptions) {
	o := &serveOptions{}
	fs := flag.NewFlagSet("coordinator serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&o.debugAddr, "debug-addr", "",
		"serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; keep it private (default off)")
	dbFlags(fs, &o.dataDir, &o.db)
	fs.StringVar(&o.operatorKey, "operator-key", "",
		"operator key for creating and funding projects (default: generated into DATA/operator.key)")
	fs.IntVar(&o.feeBPS, "platform-fee-bps", 0, "the platform's fee on every reward, in basis points: 250 is 2.5%")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "least severe level logged: debug, info, warn or error")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second,
		"on SIGTERM or SIGINT, how long in-flight requests may take to finish")
	fs.StringVar(&o.rateLimit, "rate-limit", "on", "rate limits on the public API and sign-in pages: on or off (off for benchmarks and tests)")
	o.limits = defaultLimits
	fs.Var(&o.limits.Anonymous, "rate-limit-anonymous",
		"sign-ups and dashboard sign-ins per client address, as COUNT/PERIOD (s, m, h or a duration); off: none")
	fs.Var(&o.limits.AuthFailures, "rate-limit-auth-failures",
		"requests with refused credentials per client address; past it a client is refused before its key is checked")
	fs.Var(&o.limits.PerCredential, "rate-limit-per-credential",
		"requests per host token, account key or project key")
	fs.StringVar(&o.trustedProxies, "trusted-proxies", "",
		"reverse proxies (comma-separated CIDRs or addresses) whose X-Forwarded-For names the client; default none")
	return fs, o
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs, o := serveFlags(stderr)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if o.feeBPS < 0 || o.feeBPS > payouts.MaxFeeBPS {
		return fmt.Errorf("--platform-fee-bps must be between 0 and %d, got %d", payouts.MaxFeeBPS, o.feeBPS)
	}
	if o.shutdownTimeout <= 0 {
		return fmt.Errorf("--shutdown-timeout must be positive, got %s", o.shutdownTimeout)
	}
	apiOpts, err := o.apiOptions()
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, o.logFormat, o.logLevel)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	if o.operatorKey == "" {
		key, path, err := operatorKeyFile(o.dataDir)
		if err != nil {
			return err
		}
		o.operatorKey = key
		log.Info("operator key loaded from file", "path", path)
	}
	c, err := daemon.Start(ctx, daemon.Config{Addr: o.addr, DB: dbURL(o.dataDir, o.db), OperatorKey: o.operatorKey,
		DebugAddr: o.debugAddr, Logger: log, PlatformFeeBPS: o.feeBPS, API: apiOpts})
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("shutting down", "timeout", o.shutdownTimeout)
	stopCtx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := c.Stop(stopCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	log.Info("stopped")
	return nil
}

// apiOptions is the HTTP API's client address and rate limits.
func (o *serveOptions) apiOptions() (httpapi.Options, error) {
	proxies, err := ratelimit.ParseProxies(o.trustedProxies)
	if err != nil {
		return httpapi.Options{}, fmt.Errorf("--trusted-proxies: %w", err)
	}
	opts := httpapi.Options{ClientIP: ratelimit.ClientIP(proxies)}
	switch o.rateLimit {
	case "on":
		opts.Limits = o.limits
	case "off":
	default:
		return httpapi.Options{}, fmt.Errorf("--rate-limit: want on or off, got %q", o.rateLimit)
	}
	return opts, nil
}

// newLogger is the structured logger serve writes to stderr.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: want debug, info, warn or error, got %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format: want text or json, got %q", format)
	}
}

func migrateFlags(stderr io.Writer) (fs *flag.FlagSet, dataDir, db *string) {
	fs = flag.NewFlagSet("coordinator migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir, db = new(string), new(string)
	dbFlags(fs, dataDir, db)
	return fs, dataDir, db
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs, dataDir, db := migrateFlags(stderr)
	if err := parseFlags(fs, args, getenv); err != nil {
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
func dbFlags(fs *flag.FlagSet, dataDir, db *string) {
	fs.StringVar(dataDir, "data", "nightshift-data", "data directory")
	fs.StringVar(db, "db", "", "database: postgres://… or sqlite:PATH (default sqlite:DATA/nightshift.db)")
}

// envName is the environment variable that sets a flag: --platform-fee-bps
// is NIGHTSHIFT_PLATFORM_FEE_BPS.
func envName(flagName string) string {
	return "NIGHTSHIFT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args, then sets every flag not given on the command
// line from its environment variable, if that is set: a flag wins over the
// environment, and the environment over the default. Values never become
// defaults, so "-h" cannot print a secret taken from the environment.
// With names, only those flags are taken from the environment.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string, names ...string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if len(names) > 0 && !slices.Contains(names, f.Name) {
			return
		}
		if v := getenv(envName(f.Name)); v != "" && !given[f.Name] && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", envName(f.Name), e)
			}
		}
	})
	return err
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
