package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/worker/agent"
	"github.com/nightshift-platform/nightshift/worker/atomicfile"
	"github.com/nightshift-platform/nightshift/worker/governor"
	"github.com/nightshift-platform/nightshift/worker/policy"
)

const statusFile = "status.json"

// statusReport is what a running worker writes every statusEvery for
// worker status to read.
type statusReport struct {
	PID             int                `json:"pid"`
	UpdatedAt       time.Time          `json:"updated_at"`
	Coordinator     string             `json:"coordinator"`
	HostID          int64              `json:"host_id"`
	HostName        string             `json:"host_name"`
	Slots           int                `json:"slots"`
	Running         bool               `json:"running"`
	Reason          policy.Code        `json:"reason"`
	Detail          string             `json:"detail"`
	Since           time.Time          `json:"since"`
	InputSources    []string           `json:"input_sources"`
	LastInput       *time.Time         `json:"last_input,omitempty"`
	OtherCPUPercent *float64           `json:"other_cpu_percent,omitempty"`
	OnBattery       *bool              `json:"on_battery,omitempty"`
	Preferences     policy.Preferences `json:"preferences"`
	Web             *webPrefsStatus    `json:"web_preferences,omitempty"` // which preferences come from the web
	agent.Status
}

// statusEvery is how often a running worker rewrites its status file.
const statusEvery = 2 * time.Second

// keepStatus writes the status file every statusEvery until ctx ends.
func keepStatus(ctx context.Context, dir string, host hostState, prefs policy.Preferences, slots int,
	gov *governor.Governor, ag *agent.Agent, log *slog.Logger, web *webPrefs) {
	t := time.NewTicker(statusEvery)
	defer t.Stop()
	for {
		state, obs := gov.State()
		r := statusReport{PID: os.Getpid(), UpdatedAt: time.Now(), Coordinator: host.Coordinator, HostID: host.HostID,
			HostName: host.Name, Slots: slots, Running: state.Run, Reason: state.Code, Detail: state.Detail, Since: state.Since,
			InputSources: obs.Sources, Preferences: prefs, Status: ag.Status()}
		r.Preferences, r.Web = web.Current(), web.status()
		if obs.InputKnown {
			r.LastInput = &obs.LastInput
		}
		if obs.CPUKnown {
			r.OtherCPUPercent = &obs.OtherCPUPercent
		}
		if obs.PowerKnown {
			r.OnBattery = &obs.OnBattery
		}
		if b, err := json.MarshalIndent(r, "", "  "); err == nil {
			if err := atomicfile.WriteUnsynced(filepath.Join(dir, statusFile), b, 0o600); err != nil {
				log.Warn("could not write the status file", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func removeStatus(dir string) { _ = os.Remove(filepath.Join(dir, statusFile)) }

// readStatus returns the status file and whether its worker is alive: the
// file is fresh and its process exists (a killed worker leaves the file).
func readStatus(dir string) (statusReport, bool) {
	var r statusReport
	b, err := os.ReadFile(filepath.Join(dir, statusFile))
	if err != nil || json.Unmarshal(b, &r) != nil || r.PID <= 0 {
		return r, false
	}
	return r, time.Since(r.UpdatedAt) < 10*time.Second && processAlive(r.PID)
}

func runStatus(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	state := fs.String("state", "", "state directory")
	watch := fs.Bool("watch", false, "a live full-screen view, redrawn every second, until Ctrl-C")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir, err := stateDir(*state, getenv)
	if err != nil {
		return err
	}
	if !*watch {
		return printStatus(ctx, dir, *asJSON, stdout)
	}
	// Earnings change slowly; asking the coordinator every second would be
	// load for nothing.
	var earnings *api.Earnings
	var earningsAt time.Time
	for {
		if time.Since(earningsAt) > 30*time.Second {
			earnings, earningsAt = fetchEarnings(ctx, dir), time.Now()
		}
		var b strings.Builder
		b.WriteString("\x1b[H\x1b[2J") // home, clear screen
		renderStatus(&b, dir, earnings, time.Now())
		b.WriteString("\n(Ctrl-C to leave; the worker keeps running)\n")
		io.WriteString(stdout, b.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func printStatus(ctx context.Context, dir string, asJSON bool, stdout io.Writer) error {
	if asJSON {
		r, running := readStatus(dir)
		out := struct {
			WorkerRunning bool `json:"worker_running"`
			statusReport
			Earnings *api.Earnings `json:"earnings,omitempty"`
		}{running, r, fetchEarnings(ctx, dir)}
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, string(b))
		return err
	}
	var b strings.Builder
	renderStatus(&b, dir, fetchEarnings(ctx, dir), time.Now())
	_, err := io.WriteString(stdout, b.String())
	return err
}

// fetchEarnings asks the coordinator, briefly; nil when it cannot.
func fetchEarnings(ctx context.Context, dir string) *api.Earnings {
	host, ok, err := readHost(dir)
	if err != nil || !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	e, err := newClient(host.Coordinator, host.HostToken).HostEarnings(ctx)
	if err != nil {
		return nil
	}
	return &e
}

func renderStatus(w *strings.Builder, dir string, earnings *api.Earnings, now time.Time) {
	host, attached, err := readHost(dir)
	switch {
	case err != nil:
		fmt.Fprintf(w, "State directory %s: %v\n", dir, err)
		return
	case !attached:
		fmt.Fprintf(w, "This PC is not attached (state directory %s).\nRun: worker attach --coordinator URL --account-key KEY\n", dir)
		return
	}
	fmt.Fprintf(w, "Nightshift worker: host %d (%s) on %s\n", host.HostID, host.Name, host.Coordinator)
	r, running := readStatus(dir)
	if !running {
		fmt.Fprintf(w, "The worker is not running. Start it with: worker run --state %s\n", dir)
	} else {
		what := "suspended"
		if r.Running {
			what = "running"
		}
		if paused(dir) {
			what = "paused"
		}
		fmt.Fprintf(w, "Now: %s (%s) — %s, for %s\n", what, r.Reason, r.Detail, now.Sub(r.Since).Round(time.Second))
		sources := "none (counted as idle)"
		if len(r.InputSources) > 0 {
			sources = strings.Join(r.InputSources, ", ")
		}
		fmt.Fprintf(w, "Input seen by: %s", sources)
		if r.LastInput != nil {
			fmt.Fprintf(w, "; last input %s ago", now.Sub(*r.LastInput).Round(time.Second))
		}
		w.WriteString("\n")
		if r.OtherCPUPercent != nil {
			fmt.Fprintf(w, "Other programs' CPU: %.0f%% (suspend above %.0f%%)", *r.OtherCPUPercent, r.Preferences.MaxOtherCPUPercent)
		}
		if r.OnBattery != nil {
			power := "mains"
			if *r.OnBattery {
				power = "battery"
			}
			fmt.Fprintf(w, "   Power: %s", power)
		}
		w.WriteString("\n")
		renderWebPrefs(w, r.Web)
		fmt.Fprintf(w, "Tasks (%d of %d slots):\n", len(r.Tasks), r.Slots)
		if len(r.Tasks) == 0 {
			w.WriteString("  none\n")
		}
		for _, t := range r.Tasks {
			fmt.Fprintf(w, "  task %-8d %-10s %5.1f%%  running %s, deadline in %s\n", t.ID, t.App, 100*t.Progress,
				now.Sub(t.Started).Round(time.Second), t.Deadline.Sub(now).Round(time.Second))
		}
		fmt.Fprintf(w, "Since start: %d tasks done, %d reported, %d waiting to be reported\n", r.Done, r.Reported, r.ReportsWaiting)
		fmt.Fprintf(w, "Pace: tasks could run %.0f%% of the time lately", 100*r.Available)
		if len(r.TooSlowFor) > 0 {
			fmt.Fprintf(w, "; not taking tasks of job %s (they would miss their deadlines at that pace)", joinIDs(r.TooSlowFor))
		}
		w.WriteString("\n")
		if b := r.Blocked; b != nil {
			fmt.Fprintf(w, "BLOCKED: the coordinator sends this PC no work since %s: %s\n", b.Since.Local().Format(time.DateTime), b.Reason)
			fmt.Fprintf(w, "  Tasks it returned did not match other PCs' results. Check the PC (memory, overclocking),\n"+
				"  then ask the project's operator to unblock host %d. The worker asks again at %s.\n", host.HostID, b.RetryAt.Local().Format(time.TimeOnly))
		}
		if r.DiskFull {
			fmt.Fprintf(w, "Disk: the cap of %d MiB is reached; no new work until tasks finish\n", r.Preferences.DiskMiB)
		}
	}
	if earnings == nil {
		w.WriteString("Earnings: the coordinator cannot be reached now\n")
		return
	}
	fmt.Fprintf(w, "Earnings (%s): available %s, pending %s, in payout %s, paid %s\n", earnings.Currency,
		payouts.FormatMicros(earnings.AvailableMicros), payouts.FormatMicros(earnings.PendingMicros),
		payouts.FormatMicros(earnings.InFlightMicros), payouts.FormatMicros(earnings.PaidMicros))
	if earnings.AvailableMicros < 0 {
		fmt.Fprintf(w, "You owe %s: a reward was taken back after it was paid; later earnings repay it first\n",
			payouts.FormatMicros(-earnings.AvailableMicros))
	}
	for _, h := range earnings.Hosts {
		if h.HostID == host.HostID {
			fmt.Fprintf(w, "This PC: %d valid, %d invalid, %d pending validation; earned %s\n",
				h.TasksValid, h.TasksInvalid, h.TasksPending, payouts.FormatMicros(h.EarnedMicros))
		}
	}
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ", ")
}
