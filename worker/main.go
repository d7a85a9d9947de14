// Command worker is the Nightshift agent on a volunteer's PC: it attaches
// the PC to the contributor's account, then runs research tasks in a
// WebAssembly sandbox and reports the results.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/worker/agent"
	"github.com/nightshift-platform/nightshift/worker/atomicfile"
	"github.com/nightshift-platform/nightshift/worker/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// maxSlots is the most tasks a coordinator hands out per request.
const maxSlots = 64

const usage = `usage: worker run --coordinator URL --account-key KEY [flags]

Attaches this PC to a contributor's account (once; the host token is kept in
the state directory) and works on research tasks until interrupted.`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "run" {
		fmt.Fprintln(stderr, usage)
		return errors.New("unknown or missing command")
	}
	fs := flag.NewFlagSet("worker run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	coordinator := fs.String("coordinator", getenv("NIGHTSHIFT_COORDINATOR"), "coordinator URL (NIGHTSHIFT_COORDINATOR)")
	accountKey := fs.String("account-key", getenv("NIGHTSHIFT_ACCOUNT_KEY"), "contributor account key, used once to attach (NIGHTSHIFT_ACCOUNT_KEY)")
	stateDir := fs.String("state", "", "state directory (default: the user config dir's nightshift-worker)")
	name := fs.String("name", "", "host name shown to the contributor (default: the machine's host name)")
	slots := fs.Int("slots", 1, "tasks to run at once")
	memory := fs.Int("memory-mib", 512, "memory limit per task, MiB")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	wrongPct := fs.Int("wrong-output-percent", 0, "testing only: corrupt this percentage of outputs, to exercise validation")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if *coordinator == "" {
		return errors.New("--coordinator is required")
	}
	if *wrongPct < 0 || *wrongPct > 100 {
		return fmt.Errorf("--wrong-output-percent must be between 0 and 100, got %d", *wrongPct)
	}
	if *slots < 1 || *slots > maxSlots {
		return fmt.Errorf("--slots must be between 1 and %d, got %d", maxSlots, *slots)
	}
	if *stateDir == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return fmt.Errorf("finding a state directory (set --state): %w", err)
		}
		*stateDir = filepath.Join(dir, "nightshift-worker")
	}
	if *name == "" {
		*name, _ = os.Hostname()
		if *name == "" {
			*name = "pc"
		}
	}
	if err := os.MkdirAll(*stateDir, 0o700); err != nil {
		return fmt.Errorf("creating state directory: %w", err)
	}

	hostClient, err := attach(ctx, *coordinator, *accountKey, *stateDir, api.RegisterHostRequest{
		Name: *name, Platform: runtime.GOOS + "/" + runtime.GOARCH, Cores: runtime.NumCPU()})
	if err != nil {
		return err
	}
	box, err := sandbox.New(ctx, sandbox.Config{MemoryLimitMiB: *memory, CacheDir: filepath.Join(*stateDir, "compiled")})
	if err != nil {
		return err
	}
	defer box.Close(context.Background())
	var exec agent.Executor = box
	if *wrongPct > 0 {
		exec = wrongOutputs{inner: box, percent: *wrongPct}
		log.Warn("this worker corrupts outputs on purpose", "percent", *wrongPct)
	}
	log.Info("worker started", "coordinator", *coordinator, "state", *stateDir, "slots", *slots)
	return agent.New(agent.Config{
		Client:     hostClient,
		Executor:   exec,
		Slots:      *slots,
		ScratchDir: filepath.Join(*stateDir, "scratch"),
		ModuleDir:  filepath.Join(*stateDir, "modules"),
		Logger:     log,
	}).Run(ctx)
}

// hostState is what the worker keeps between runs.
type hostState struct {
	Coordinator string `json:"coordinator"`
	HostID      int64  `json:"host_id"`
	HostToken   string `json:"host_token"`
}

// attach returns a client holding this PC's host token, registering the
// host with the account key the first time (or for a new coordinator).
func attach(ctx context.Context, coordinator, accountKey, stateDir string, info api.RegisterHostRequest) (*client.Client, error) {
	path := filepath.Join(stateDir, "host.json")
	var st hostState
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	coordinator = strings.TrimSuffix(coordinator, "/")
	// A bound on every call: a half-open connection must not stall the worker.
	base := client.New(coordinator, "", &http.Client{Timeout: 2 * time.Minute})
	if st.Coordinator == coordinator && st.HostToken != "" {
		return base.WithKey(st.HostToken), nil
	}
	if accountKey == "" {
		return nil, errors.New("this PC is not attached yet: give --account-key (from your Nightshift account)")
	}
	h, err := base.WithKey(accountKey).RegisterHost(ctx, info)
	if err != nil {
		return nil, fmt.Errorf("attaching this PC: %w", err)
	}
	st = hostState{Coordinator: coordinator, HostID: h.ID, HostToken: h.HostToken}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(path, b, 0o600); err != nil {
		return nil, fmt.Errorf("saving host token: %w", err)
	}
	return base.WithKey(h.HostToken), nil
}
