package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

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
	PaidForWrong           int64 // micro-units posted to contributors for wrong outputs
	PaidTotal              int64
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
					if h.bad {
						out = fmt.Appendf(nil, "wrong-%d", rng.Uint64())
					}
					reports[k] = workunits.Report{TaskID: l.TaskID, Outcome: workunits.OutcomeSuccess, Output: out, CPUTime: time.Second}
				}
				b.now = b.now.Add(time.Millisecond)
				if err := b.svc.ReportResults(ctx, h.host.ID, reports); err != nil {
					t.Fatal(err)
				}
			}
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
	for _, h := range hosts {
		paid := b.balance(t, payouts.ContributorAvailable(h.contributor.ID))
		res.PaidTotal += paid
		if h.bad {
			res.PaidForWrong += paid
		}
	}
	if a, err := b.svc.LedgerAudit(ctx); err != nil || !a.Balanced() {
		t.Fatalf("ledger audit after the simulation: %+v, %v", a, err)
	}
	return res
}

func TestSimulationDraft(t *testing.T) {
	for _, cfg := range []simConfig{

		{Units: 3000, WarmUp: 200, Hosts: 20, BadShare: 0, Quorum: 2, Adaptive: true, Seed: 1, PerLease: 2, MaxRounds: 5000},
	} {
		start := time.Now()
		r := simulate(t, cfg)
		t.Logf("%+v: %+v extra %.1f%% in %s", cfg, r, 100*r.ExtraShare(cfg.Units), time.Since(start))
	}
}
