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
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/worker/atomicfile"
)

// hostState is what the worker keeps between runs.
type hostState struct {
	Coordinator string `json:"coordinator"`
	HostID      int64  `json:"host_id"`
	Name        string `json:"name"`
	HostToken   string `json:"host_token"`
}

const hostFile = "host.json"

func runAttach(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker attach", flag.ContinueOnError)
	fs.SetOutput(stderr)
	coordinator := fs.String("coordinator", getenv("NIGHTSHIFT_COORDINATOR"), "coordinator URL (NIGHTSHIFT_COORDINATOR)")
	accountKey := fs.String("account-key", "", "contributor account key (NIGHTSHIFT_ACCOUNT_KEY)")
	state := fs.String("state", "", "state directory")
	name := fs.String("name", "", "host name shown to the contributor (default: the machine's host name)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Read after parsing, not as the flag's default: -h prints defaults,
	// and the key is a secret.
	if *accountKey == "" {
		*accountKey = getenv("NIGHTSHIFT_ACCOUNT_KEY")
	}
	dir, err := stateDir(*state, getenv)
	if err != nil {
		return err
	}
	if *coordinator == "" || *accountKey == "" {
		return errors.New("attach needs --coordinator and --account-key")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, _, err := attach(ctx, *coordinator, *accountKey, dir, hostName(*name), opsPerSecond(ctx, dir, time.Now(), log))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "attached as host %d (%s) to %s; state in %s\n", st.HostID, st.Name, st.Coordinator, dir)
	return nil
}

func hostName(name string) string {
	if name != "" {
		return name
	}
	if h, _ := os.Hostname(); h != "" {
		return h
	}
	return "pc"
}

// readHost returns the attachment kept in dir, if any.
func readHost(dir string) (hostState, bool, error) {
	path := filepath.Join(dir, hostFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return hostState{}, false, nil
	}
	var st hostState
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		return st, false, fmt.Errorf("reading %s: %w", path, err)
	}
	return st, true, nil
}

// newClient bounds every call: a half-open connection must not stall the
// worker.
func newClient(coordinator, key string) *client.Client {
	return client.New(coordinator, key, &http.Client{Timeout: 2 * time.Minute})
}

// attach returns the attachment and a client holding the host token,
// registering the host with the account key the first time (or for a new
// coordinator); ops is its benchmark, 0 if there is none.
func attach(ctx context.Context, coordinator, accountKey, dir, name string, ops float64) (hostState, *client.Client, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return hostState{}, nil, fmt.Errorf("creating state directory: %w", err)
	}
	coordinator = strings.TrimSuffix(coordinator, "/")
	st, ok, err := readHost(dir)
	if err != nil {
		return st, nil, err
	}
	if ok && (coordinator == "" || st.Coordinator == coordinator) && st.HostToken != "" {
		return st, newClient(st.Coordinator, st.HostToken), nil
	}
	if coordinator == "" {
		return st, nil, errors.New("this PC is not attached yet: give --coordinator and --account-key (from your Nightshift account)")
	}
	if accountKey == "" {
		return st, nil, errors.New("this PC is not attached yet: give --account-key (from your Nightshift account)")
	}
	req := api.RegisterHostRequest{Name: name, Platform: runtime.GOOS + "/" + runtime.GOARCH, Cores: runtime.NumCPU()}
	if ops > 0 {
		req.OpsPerSecond = &ops
	}
	h, err := newClient(coordinator, accountKey).RegisterHost(ctx, req)
	if err != nil {
		return st, nil, fmt.Errorf("attaching this PC: %w", err)
	}
	st = hostState{Coordinator: coordinator, HostID: h.ID, Name: name, HostToken: h.HostToken}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return st, nil, err
	}
	if err := atomicfile.Write(filepath.Join(dir, hostFile), b, 0o600); err != nil {
		return st, nil, fmt.Errorf("saving host token: %w", err)
	}
	return st, newClient(coordinator, h.HostToken), nil
}

func runDetach(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker detach", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", "", "state directory")
	force := fs.Bool("force", false, "detach even though tasks or results would be lost")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := stateDir(*state, getenv)
	if err != nil {
		return err
	}
	st, ok, err := readHost(dir)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("this PC is not attached")
	}
	if s, running := readStatus(dir); running {
		return fmt.Errorf("the worker is running (pid %d): stop it first", s.PID)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "tasks"))
	if len(entries) > 0 && !*force {
		return fmt.Errorf("%d tasks are unfinished or wait to be reported; run the worker until they are, or detach --force", len(entries))
	}
	for _, p := range []string{filepath.Join(dir, "tasks"), filepath.Join(dir, hostFile)} {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("detaching: %w", err)
		}
	}
	fmt.Fprintf(stdout, "detached host %d from %s\n", st.HostID, st.Coordinator)
	return nil
}
