// Package demo runs Nightshift's main job end to end on one machine: a
// coordinator on the embedded store, a funded research project, the
// leukemia-markers app, a job of many units, and several worker processes
// belonging to different contributors, one of which returns wrong outputs
// to show that validation catches them and that they earn nothing.
package demo

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/appbuild"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/daemon"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
	"github.com/nightshift-platform/nightshift/workunits/markers"
)

// Options shape a demo run.
type Options struct {
	DataDir    string // where the database, binaries and worker state go; a temporary directory if empty
	JSON       bool   // end with the summary as one JSON object on stdout
	Keep       bool   // leave the coordinator running after the summary
	Addr       string // coordinator listen address
	Seeds      int    // seeds per k; the job has len(Ks) × Seeds units
	Signatures int    // signatures scored per unit
	Timeout    time.Duration
}

// Ks are the signature sizes the demo job searches.
var Ks = []int{1, 2, 3, 5, 8}

// DefaultOptions is the demo as the README describes it: 5 × 8 = 40 units.
// Units are sized so that computing dominates: every task starts a child
// process and loads the compiled module, about 0.2 s of CPU.
var DefaultOptions = Options{Addr: "127.0.0.1:0", Seeds: 8, Signatures: 25000, Timeout: 10 * time.Minute}

const rewardMicros = 2_500 // 0.0025 per valid task

// volunteer is one demo worker process.
type volunteer struct {
	contributor string
	host        string
	wrongPct    int // share of outputs this host corrupts
}

var volunteers = []volunteer{
	{contributor: "Ada", host: "ada-desktop"},
	{contributor: "Ada", host: "ada-laptop"},
	{contributor: "Grace", host: "grace-workstation"},
	{contributor: "Mallory", host: "mallory-overclocked", wrongPct: 30},
}

// Summary is how the demo ends.
type Summary struct {
	JobID            int64                `json:"job_id"`
	Units            int                  `json:"units"`
	UnitsValidated   int                  `json:"units_validated"`
	UnitsFailed      int                  `json:"units_failed"`
	OutputsAgreed    int                  `json:"outputs_agreed"`
	OutputsDisagreed int                  `json:"outputs_disagreed"`
	TasksErrored     int                  `json:"tasks_errored"`
	CPUSeconds       float64              `json:"cpu_seconds"`
	ElapsedSeconds   float64              `json:"elapsed_seconds"`
	BestSignatures   []markers.Signature  `json:"best_signatures"`
	Contributors     []ContributorSummary `json:"contributors"`
	ProjectSpent     int64                `json:"project_spent_micros"`
	Currency         string               `json:"currency"`
	LedgerBalanced   bool                 `json:"ledger_balanced"`
	Ledger           api.LedgerAudit      `json:"ledger"`
	CoordinatorURL   string               `json:"coordinator_url,omitempty"`
}

type ContributorSummary struct {
	Name            string `json:"name"`
	Email           string `json:"email"` // signs in to the dashboard, with Password
	Hosts           int    `json:"hosts"`
	TasksValid      int    `json:"tasks_valid"`
	TasksInvalid    int    `json:"tasks_invalid"`
	EarnedMicros    int64  `json:"earned_micros"`
	AvailableMicros int64  `json:"available_micros"`
	AccountKey      string `json:"-"`
	Password        string `json:"-"` // printed by --keep only
}

// Run runs the demo. It returns an error unless every unit was validated
// and the ledger balances.
func Run(ctx context.Context, o Options, stdout, stderr io.Writer) (err error) {
	start := time.Now()
	say := func(format string, args ...any) {
		w := stdout
		if o.JSON {
			w = stderr // stdout carries only the summary object
		}
		fmt.Fprintf(w, format+"\n", args...)
	}
	if o.DataDir == "" {
		dir, err := os.MkdirTemp("", "nightshift-demo-")
		if err != nil {
			return fmt.Errorf("creating a data directory: %w", err)
		}
		defer func() {
			if !o.Keep {
				os.RemoveAll(dir)
			}
		}()
		o.DataDir = dir
	}
	if err := os.MkdirAll(filepath.Join(o.DataDir, "bin"), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", o.DataDir, err)
	}
	parent := ctx // --keep outlives the run's timeout
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	say("Building the markers app (WebAssembly) and the worker…")
	wasmPath := filepath.Join(o.DataDir, "bin", "markers.wasm")
	workerPath := filepath.Join(o.DataDir, "bin", "worker")
	if err := appbuild.Wasm(ctx, appbuild.MarkersApp, wasmPath); err != nil {
		return err
	}
	if err := appbuild.Native(ctx, appbuild.Worker, workerPath); err != nil {
		return err
	}
	module, err := os.ReadFile(wasmPath)
	if err != nil {
		return err
	}

	logFile, err := os.Create(filepath.Join(o.DataDir, "coordinator.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	operatorKey := service.NewKey(service.OperatorKeyPrefix)
	coord, err := daemon.Start(ctx, daemon.Config{
		Addr:        o.Addr,
		DB:          "sqlite:" + filepath.Join(o.DataDir, "nightshift.db"),
		OperatorKey: operatorKey,
		Logger:      slog.New(slog.NewTextHandler(logFile, nil)),
	})
	if err != nil {
		return err
	}
	defer func() {
		stopCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer stop()
		err = errors.Join(err, coord.Stop(stopCtx))
	}()
	say("Coordinator at %s (data in %s)", coord.URL, o.DataDir)

	operator := client.New(coord.URL, operatorKey, nil)
	project, err := operator.CreateProject(ctx, "Leukemia marker discovery (Golub ALL/AML)")
	if err != nil {
		return err
	}
	funding := int64(50_000_000)
	if _, err := operator.FundProject(ctx, project.ID, api.FundRequest{AmountMicros: funding, IdempotencyKey: "demo-grant"}); err != nil {
		return err
	}
	research := operator.WithKey(project.APIKey)
	// The demo makes the project's signing key itself; a real project
	// makes it with 'coordinator keygen' and signs offline.
	signer, err := operator.EnrollSigner(ctx, project.ID)
	if err != nil {
		return err
	}
	version, err := signer.Upload(ctx, research, "markers", module)
	if err != nil {
		return err
	}
	seedTo := int64(o.Seeds)
	one := int64(1)
	job, err := research.SubmitJob(ctx, api.SubmitJobRequest{
		App: "markers",
		Sweep: map[string]workunits.SweepParam{
			"k":    {Values: rawInts(Ks)},
			"seed": {From: &one, To: &seedTo},
			"n":    {Values: rawInts([]int{o.Signatures})},
		},
		Policy:       api.Policy{MinQuorum: 2, TargetReplicas: 2, DeadlineSeconds: 120},
		RewardMicros: rewardMicros,
	})
	if err != nil {
		return err
	}
	say("Project %q funded with %s %s; app markers v%d (sha256 %.12s…); job %d: %d units × quorum %d, %s %s per valid result",
		project.Name, payouts.FormatMicros(funding), payouts.Currency, version.Version, version.SHA256, job.ID,
		job.UnitCount, job.Policy.MinQuorum, payouts.FormatMicros(rewardMicros), payouts.Currency)

	contributors, err := startVolunteers(ctx, operator, workerPath, o.DataDir, coord.URL, say)
	if err != nil {
		return err
	}
	defer stopProcesses(contributors.procs)

	final, err := watch(ctx, research, job.ID, say)
	if err != nil {
		return err
	}
	stopProcesses(contributors.procs)
	contributors.procs = nil

	sum, err := summarise(ctx, operator, research, final, contributors.list, funding)
	if err != nil {
		return err
	}
	sum.ElapsedSeconds = time.Since(start).Seconds()
	if o.Keep {
		sum.CoordinatorURL = coord.URL
	}
	if o.JSON {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(sum); err != nil {
			return err
		}
	} else {
		printSummary(stdout, sum)
	}
	if sum.UnitsValidated != sum.Units || !sum.LedgerBalanced {
		return fmt.Errorf("demo failed: %d of %d units validated, ledger balanced: %v", sum.UnitsValidated, sum.Units, sum.LedgerBalanced)
	}
	if o.Keep {
		keep(parent, stderr, coord.URL, operatorKey, project.APIKey, contributors.list)
	}
	return nil
}

func rawInts(vs []int) []json.RawMessage {
	out := make([]json.RawMessage, len(vs))
	for i, v := range vs {
		out[i] = json.RawMessage(strconv.Itoa(v))
	}
	return out
}

type volunteerSet struct {
	list  []*ContributorSummary
	procs []*exec.Cmd
}

// startVolunteers signs up the demo contributors and starts one worker
// process per host.
func startVolunteers(ctx context.Context, operator *client.Client, workerPath, dataDir, url string, say func(string, ...any)) (*volunteerSet, error) {
	set := &volunteerSet{}
	byName := map[string]*ContributorSummary{}
	for i, v := range volunteers {
		c, ok := byName[v.contributor]
		if !ok {
			// Each contributor signs up as a volunteer would, with a
			// dashboard login: --keep prints it.
			email, password := strings.ToLower(v.contributor)+"@example.org", service.NewKey("")[:16]
			acct, err := operator.WithKey("").SignUp(ctx, api.CreateContributorRequest{Name: v.contributor, Email: email, Password: password})
			if err != nil {
				return set, fmt.Errorf("signing up %s: %w", v.contributor, err)
			}
			// A payout run pays only contributors with a payout method.
			if _, err := operator.WithKey(acct.AccountKey).SetPayoutSettings(ctx, api.PutPayoutSettingsRequest{Method: string(payouts.MethodPayPal),
				Destination: v.contributor + "@example.org"}); err != nil {
				return set, fmt.Errorf("payout settings of %s: %w", v.contributor, err)
			}
			c = &ContributorSummary{Name: v.contributor, Email: email, Password: password, AccountKey: acct.AccountKey}
			byName[v.contributor] = c
			set.list = append(set.list, c)
		}
		c.Hosts++
		stateDir := filepath.Join(dataDir, "workers", v.host)
		logPath := filepath.Join(dataDir, "workers", v.host+".log")
		if err := os.MkdirAll(stateDir, 0o700); err != nil {
			return set, err
		}
		logFile, err := os.Create(logPath)
		if err != nil {
			return set, err
		}
		// The demo's PCs are this machine, in use and shared by all of
		// them: they compute now, whatever its keyboard and CPU are doing.
		args := []string{"run", "--coordinator", url, "--account-key", c.AccountKey, "--state", stateDir, "--name", v.host,
			"--idle-minutes", "0", "--max-other-cpu", "100", "--run-on-battery", "--slots", "1"}
		if v.wrongPct > 0 {
			args = append(args, "--wrong-output-percent", strconv.Itoa(v.wrongPct))
		}
		cmd := exec.Command(workerPath, args...)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			logFile.Close()
			return set, fmt.Errorf("starting worker %d: %w", i, err)
		}
		logFile.Close() // the child has its own descriptor
		set.procs = append(set.procs, cmd)
		note := ""
		if v.wrongPct > 0 {
			note = fmt.Sprintf(" — returns wrong outputs %d%% of the time", v.wrongPct)
		}
		say("Worker %d: %s's %s (pid %d)%s", i+1, v.contributor, v.host, cmd.Process.Pid, note)
	}
	return set, nil
}

func stopProcesses(procs []*exec.Cmd) {
	for _, p := range procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
}

// watch prints progress every second until the job is done.
func watch(ctx context.Context, research *client.Client, jobID int64, say func(string, ...any)) (api.Job, error) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := ""
	for {
		job, err := research.Job(ctx, jobID)
		if err != nil {
			return job, err
		}
		p := job.Progress
		line := fmt.Sprintf("  units: %d/%d validated, %d failed · tasks: %d running, %d waiting · outputs: %d agreed, %d disagreed",
			p.Units[string(workunits.UnitDone)], job.UnitCount, p.Units[string(workunits.UnitFailed)],
			p.Tasks[string(workunits.TaskInProgress)], p.Tasks[string(workunits.TaskUnsent)],
			p.Validations[string(workunits.ValidateValid)], p.Validations[string(workunits.ValidateInvalid)])
		if line != last {
			say("%s", line)
			last = line
		}
		if job.State == string(workunits.JobDone) {
			return job, nil
		}
		select {
		case <-ctx.Done():
			return job, fmt.Errorf("waiting for job %d: %w", jobID, ctx.Err())
		case <-tick.C:
		}
	}
}

func summarise(ctx context.Context, operator, research *client.Client, job api.Job, contributors []*ContributorSummary, funding int64) (Summary, error) {
	p := job.Progress
	s := Summary{
		JobID:            job.ID,
		Units:            job.UnitCount,
		UnitsValidated:   p.Units[string(workunits.UnitDone)],
		UnitsFailed:      p.Units[string(workunits.UnitFailed)],
		OutputsAgreed:    p.Validations[string(workunits.ValidateValid)],
		OutputsDisagreed: p.Validations[string(workunits.ValidateInvalid)],
		TasksErrored:     p.Outcomes[string(workunits.OutcomeError)] + p.Outcomes[string(workunits.OutcomeNoReply)],
		CPUSeconds:       p.CPUSeconds,
		Currency:         payouts.Currency,
	}
	var best []markers.Signature
	err := research.Results(ctx, job.ID, func(r api.Result) error {
		if r.State != string(workunits.UnitDone) {
			return nil
		}
		var out markers.Output
		if err := json.Unmarshal(r.Output, &out); err != nil {
			return fmt.Errorf("unit %d: reading the markers output: %w", r.Seq, err)
		}
		best = append(best, out.Best...)
		return nil
	})
	if err != nil {
		return s, err
	}
	s.BestSignatures = bestSignatures(best, 5)
	for _, c := range contributors {
		e, err := research.WithKey(c.AccountKey).Earnings(ctx)
		if err != nil {
			return s, err
		}
		c.AvailableMicros = e.AvailableMicros
		for _, h := range e.Hosts {
			c.TasksValid += h.TasksValid
			c.TasksInvalid += h.TasksInvalid
			c.EarnedMicros += h.EarnedMicros
		}
		s.Contributors = append(s.Contributors, *c)
	}
	proj, err := research.Project(ctx)
	if err != nil {
		return s, err
	}
	s.ProjectSpent = funding - proj.BudgetMicros
	if s.Ledger, err = operator.LedgerAudit(ctx); err != nil {
		return s, err
	}
	s.LedgerBalanced = s.Ledger.Balanced
	return s, nil
}

// bestSignatures keeps the n best distinct signatures: highest score, then
// fewest genes (a smaller panel is cheaper to test in a clinic).
func bestSignatures(all []markers.Signature, n int) []markers.Signature {
	slices.SortStableFunc(all, func(a, b markers.Signature) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(len(a.Genes), len(b.Genes)))
	})
	seen := map[string]bool{}
	var out []markers.Signature
	for _, s := range all {
		key := ""
		for _, g := range s.Genes {
			key += g.Accession + ","
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, s)
		if len(out) == n {
			break
		}
	}
	return out
}

func printSummary(w io.Writer, s Summary) {
	fmt.Fprintf(w, "\nJob %d finished in %.1f s (%.1f CPU-seconds of volunteer time)\n", s.JobID, s.ElapsedSeconds, s.CPUSeconds)
	fmt.Fprintf(w, "  units validated: %d of %d (%d failed)\n", s.UnitsValidated, s.Units, s.UnitsFailed)
	fmt.Fprintf(w, "  outputs that agreed with the quorum: %d; that disagreed (rejected, unpaid): %d; errors or no reply: %d\n",
		s.OutputsAgreed, s.OutputsDisagreed, s.TasksErrored)
	fmt.Fprintf(w, "\nBest gene signatures for telling ALL from AML (leave-one-out nearest centroid, 38 patients):\n")
	for _, sig := range s.BestSignatures {
		fmt.Fprintf(w, "  %s  ", sig.Accuracy)
		for i, g := range sig.Genes {
			if i > 0 {
				fmt.Fprint(w, " + ")
			}
			fmt.Fprint(w, g.Accession)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nEarnings (%s):\n", s.Currency)
	for _, c := range s.Contributors {
		fmt.Fprintf(w, "  %-8s %d host(s): %4d valid, %3d invalid results → earned %s, available %s\n",
			c.Name, c.Hosts, c.TasksValid, c.TasksInvalid, payouts.FormatMicros(c.EarnedMicros), payouts.FormatMicros(c.AvailableMicros))
	}
	balanced := "yes"
	if !s.LedgerBalanced {
		balanced = "NO"
	}
	fmt.Fprintf(w, "\nProject spent %s %s. Ledger balanced: %s (%d transactions, %d entries, sum %d)\n",
		payouts.FormatMicros(s.ProjectSpent), s.Currency, balanced, s.Ledger.Transactions, s.Ledger.Entries, s.Ledger.Sum)
}

func keep(ctx context.Context, w io.Writer, url, operatorKey, projectKey string, contributors []*ContributorSummary) {
	fmt.Fprintf(w, "\nThe coordinator keeps running at %s (Ctrl-C to stop).\n", url)
	fmt.Fprintf(w, "  operator key: %s\n  project key:  %s\n", operatorKey, projectKey)
	for _, c := range contributors {
		fmt.Fprintf(w, "  %s's account key: %s\n", c.Name, c.AccountKey)
	}
	fmt.Fprintf(w, "\nDashboard: %s/signin — sign in as a demo contributor to see their earnings, hosts and tasks:\n", url)
	for _, c := range contributors {
		fmt.Fprintf(w, "  %-8s email: %-20s password: %s\n", c.Name, c.Email, c.Password)
	}
	fmt.Fprintf(w, "  try: curl -H 'Authorization: Bearer %s' %s/api/v1/contributor/earnings\n", contributors[0].AccountKey, url)
	<-ctx.Done()
}
