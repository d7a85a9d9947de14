// Command worker is the Nightshift agent on a volunteer's PC: it attaches
// the PC to the contributor's account, then, while the PC is idle, runs
// research tasks in a WebAssembly sandbox and reports the results.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/nightshift-platform/nightshift/worker/taskproc"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

const usage = `usage: worker COMMAND [flags]

Commands:
  attach     attach this PC to a contributor's account (--coordinator, --account-key)
  run        work on research tasks while the PC is idle (attaches first if needed)
  status     what the worker is doing now and why; --watch for a live full-screen view
  pause      stop computing until resume (running tasks are suspended)
  resume     compute again when the preferences allow
  benchmark  measure this PC's speed on the sample app
  detach     forget this PC's attachment (refused while results wait to be reported)

Every command takes --state DIR (default: the user config dir's nightshift-worker).
Run "worker COMMAND -h" for its flags.`

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "attach":
		return runAttach(ctx, rest, getenv, stdout, stderr)
	case "run":
		return runRun(ctx, rest, getenv, stderr)
	case "status":
		return runStatus(ctx, rest, getenv, stdout, stderr)
	case "pause", "resume":
		return runPause(rest, getenv, cmd == "pause", stdout, stderr)
	case "benchmark":
		return runBenchmark(ctx, rest, getenv, stdout, stderr)
	case "detach":
		return runDetach(rest, getenv, stdout, stderr)
	case "task-child":
		// Started by run for each task; not for people.
		if len(rest) != 1 {
			return errors.New("task-child takes the task's directory")
		}
		return taskproc.ChildMain(ctx, rest[0], stdin, stdout)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// stateDir resolves --state: the flag, NIGHTSHIFT_WORKER_STATE, or the user
// config dir.
func stateDir(flagValue string, getenv func(string) string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if v := getenv("NIGHTSHIFT_WORKER_STATE"); v != "" {
		return v, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding a state directory (set --state): %w", err)
	}
	return filepath.Join(dir, "nightshift-worker"), nil
}
