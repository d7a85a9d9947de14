package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// simConfig is one volunteer-computing scenario, run in-process against the
// real service and store with a simulated clock.
type simConfig struct {
	Units     int
	WarmUp    int // units of a replicated job run first, so hosts earn trust
	Hosts     int
	BadShare  float64 // share of hosts returning wrong outputs (each wrong in its own way)
	Sleepers  bool    // the bad hosts are honest through the warm-up, then turn
	Quorum    int
	Adaptive  bool
	Seed      uint64
	PerLease  int // tasks a host asks for at a time
	MaxRounds int
}

// simResult counts what the scenario produced.
type simResult struct {
	UnitsDone, UnitsFailed int
	WrongCanonical         int   // units whose canonical output is not the correct one
	TasksSent              int   // tasks that reached a host
	PaidForWrong           int64 // posted to contributors for wrong outputs and not clawed back
	PaidTotal              int64 // posted to contributors for the measured job, less clawbacks
	Clawbacks              int
	Rounds                 int
}

// ExtraShare is the tasks sent beyond one per unit, as a share of units:
// the cost of redundancy over running each unit once.
func (r simResult) ExtraShare(units int) float64 {
	return float64(r.TasksSent-units) / float64(units)
}

func correctOutput(input []byte) []byte { return []byte(workunits.Hash(input)) }

func simulate(t *testing.T, cfg simConfig) simResult {
	t.Helper()
	b := setup(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	b.svc.rand = rng.Float64

	const reward = 1000
	submit := func(units int, adaptive bool) (int64, [][]byte) {
		inputs := make([][]byte, units)
		for i := range inputs {
			inputs[i] = fmt.Appendf(nil, `{"unit":%d,"nonce":%d}`, i, rng.Uint64())
		}
		if _, err := b.svc.FundProject(ctx, b.project.ID, int64(units)*reward*int64(workunits.MaxReplicas), fmt.Sprint("sim-", rng.Uint64())); err != nil {
			t.Fatal(err)
		}
		st, err := b.svc.SubmitJob(ctx, b.project.ID, JobRequest{App: "app", Inputs: inputs, RewardMicros: reward,
			Policy: workunits.Policy{MinQuorum: cfg.Quorum, TargetReplicas: cfg.Quorum, Deadline: time.Hour, Adaptive: adaptive}})
		if err != nil {
			t.Fatal(err)
		}
		return st.Job.ID, inputs
	}

	type simHost struct {
		host        workunits.Host
		contributor workunits.Contributor
		bad         bool
	}
	hosts := make([]simHost, cfg.Hosts)
	nBad := int(float64(cfg.Hosts)*cfg.BadShare + 0.5)
	for i := range hosts {
		c, h := b.host(t, fmt.Sprintf("h%03d", i))
		hosts[i] = simHost{host: h, contributor: c, bad: i < nBad}
	}
	var res simResult
	wrongTask := map[int64]bool{}
	turned := !cfg.Sleepers
	run := func(jobID int64) {
		for res.Rounds = 0; res.Rounds < cfg.MaxRounds; res.Rounds++ {
			progressed := false
			for _, i := range rng.Perm(len(hosts)) {
				h := hosts[i]
				leases, err := b.svc.LeaseTasks(ctx, h.host.ID, cfg.PerLease, nil)
				if workunits.ErrorCode(err) == workunits.EFORBIDDEN {
					continue // blocked for its invalid results
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(leases) == 0 {
					continue
				}
				progressed = true
				reports := make([]workunits.Report, len(leases))
				for k, l := range leases {
					out := correctOutput(l.Input)
					if h.bad && turned {
						wrongTask[l.TaskID] = true
						out = fmt.Appendf(nil, "wrong-%d", rng.Uint64())
					}
					reports[k] = workunits.Report{TaskID: l.TaskID, Outcome: workunits.OutcomeSuccess, Output: out, CPUTime: time.Second}
				}
				b.now = b.now.Add(time.Millisecond)
				if err := b.svc.ReportResults(ctx, h.host.ID, reports); err != nil {
					t.Fatal(err)
				}
			}
			n, err := b.svc.RunPendingClawbacks(ctx)
			if err != nil {
				t.Fatal(err)
			}
			res.Clawbacks += n
			if _, err := b.svc.PayCredits(ctx); err != nil {
				t.Fatal(err)
			}
			if err := b.svc.FinishJobs(ctx); err != nil {
				t.Fatal(err)
			}
			st, err := b.svc.Job(ctx, b.project.ID, jobID)
			if err != nil {
				t.Fatal(err)
			}
			if st.Job.State == workunits.JobDone {
				return
			}
			if !progressed {
				t.Fatalf("round %d: no host got work and the job is %s", res.Rounds, st.Job.State)
			}
		}
	}
	if cfg.WarmUp > 0 {
		warm, _ := submit(cfg.WarmUp, false)
		run(warm)
	}
	turned = true
	jobID, inputs := submit(cfg.Units, cfg.Adaptive)
	run(jobID)

	st, err := b.svc.Job(ctx, b.project.ID, jobID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Job.State != workunits.JobDone {
		t.Fatalf("the job is %s after %d rounds", st.Job.State, res.Rounds)
	}
	res.UnitsDone, res.UnitsFailed = st.Progress.Units[workunits.UnitDone], st.Progress.Units[workunits.UnitFailed]
	for _, o := range []workunits.Outcome{workunits.OutcomeSuccess, workunits.OutcomeError, workunits.OutcomeNoReply, workunits.OutcomeValidateError} {
		res.TasksSent += st.Progress.Outcomes[o]
	}
	for after := -1; ; {
		page, err := b.svc.JobResults(ctx, b.project.ID, jobID, after, MaxResultPage)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			if u.State == workunits.UnitDone && string(u.Output) != string(correctOutput(inputs[u.Seq])) {
				res.WrongCanonical++
			}
			after = u.Seq
		}
		if len(page) < MaxResultPage {
			break
		}
	}
	// Money: every post of the measured job's tasks, less clawbacks, and
	// what of it went to wrong outputs.
	var tasks []workunits.Task
	if err := b.svc.store.InReadTx(ctx, func(tx store.Tx) error {
		for after := -1; ; {
			units, err := tx.UnitList(ctx, store.UnitListParams{JobID: jobID, AfterSeq: after, Limit: 1000})
			if err != nil || len(units) == 0 {
				return err
			}
			ids := make([]int64, len(units))
			for i, u := range units {
				ids[i], after = u.ID, u.Seq
			}
			page, err := tx.TaskListByUnits(ctx, ids)
			if err != nil {
				return err
			}
			tasks = append(tasks, page...)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if len(tasks) != res.TasksSent {
		t.Fatalf("found %d tasks of the job, but %d were sent", len(tasks), res.TasksSent)
	}
	var keys []string
	for _, tk := range tasks {
		keys = append(keys, payouts.Post(tk.ID, 0, 0, 0).Key, payouts.Clawback(tk.ID, 0, 0, 0).Key)
	}
	var entries []store.LedgerEntry
	if err := b.svc.store.InReadTx(ctx, func(tx store.Tx) (err error) {
		entries, err = tx.LedgerEntryList(ctx, store.LedgerEntryListParams{Keys: keys})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, kind, ok := payouts.ContributorAccount(e.Account); !ok || kind != "available" {
			continue
		}
		taskID, _ := payouts.KeyID(e.Key, "task")
		res.PaidTotal += e.Amount
		if wrongTask[taskID] {
			res.PaidForWrong += e.Amount
		}
	}
	if a, err := b.svc.LedgerAudit(ctx); err != nil || !a.Balanced() {
		t.Fatalf("ledger audit after the simulation: %+v, %v", a, err)
	}
	return res
}

// TestSimulation runs the scenarios and records their figures
// (README, "Trustworthy results"): go test ./coordinator/service -run TestSimulation -v
func TestSimulation(t *testing.T) {
	tests := []struct {
		name      string
		cfg       simConfig
		maxExtra  float64 // tasks beyond one per unit, as a share of units
		wantWrong bool    // whether wrong outputs are expected at all
	}{
		{"20% wrong hosts, quorum 2", simConfig{Units: 2000, Hosts: 50, BadShare: 0.2, Quorum: 2}, 1.5, true},
		{"trusted hosts, adaptive replication", simConfig{Units: 5000, WarmUp: 250, Hosts: 50, Quorum: 2, Adaptive: true}, 0.10, false},
		{"20% wrong hosts, adaptive replication", simConfig{Units: 5000, WarmUp: 250, Hosts: 50, BadShare: 0.2, Quorum: 2, Adaptive: true}, 0.5, true},
		{"10% hosts turn bad once trusted, adaptive", simConfig{Units: 5000, WarmUp: 250, Hosts: 50, BadShare: 0.1, Sleepers: true, Quorum: 2, Adaptive: true}, 0.5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Seed, cfg.PerLease, cfg.MaxRounds = 1, 2, 10_000
			if testing.Short() {
				cfg.Units /= 5
			}
			start := time.Now()
			r := simulate(t, cfg)
			extra := r.ExtraShare(cfg.Units)
			t.Logf("%d units, %d hosts (%d%% bad%s): %d done, %d failed, %d wrong canonical; %d tasks sent, %.1f%% over one per unit; "+
				"paid %d µ, %d µ of it for wrong outputs; %d clawbacks; %s",
				cfg.Units, cfg.Hosts, int(cfg.BadShare*100), map[bool]string{true: ", sleepers"}[cfg.Sleepers],
				r.UnitsDone, r.UnitsFailed, r.WrongCanonical, r.TasksSent, 100*extra, r.PaidTotal, r.PaidForWrong, r.Clawbacks,
				time.Since(start).Round(time.Millisecond))
			if r.WrongCanonical != 0 || r.PaidForWrong != 0 {
				t.Errorf("%d wrong canonical results, %d µ paid for wrong outputs; want 0 and 0", r.WrongCanonical, r.PaidForWrong)
			}
			if extra > tt.maxExtra {
				t.Errorf("%.1f%% tasks over one per unit, want at most %.0f%%", 100*extra, 100*tt.maxExtra)
			}
			if r.UnitsDone+r.UnitsFailed != cfg.Units {
				t.Errorf("%d done + %d failed of %d units", r.UnitsDone, r.UnitsFailed, cfg.Units)
			}
		})
	}
}
