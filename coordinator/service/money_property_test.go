package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/coordinator/store/sqlite"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// TestMoneyProperties drives the service with random sequences of submit,
// lease, report (good, wrong, error), expire, fund, pay, finish, cancel,
// payout run, payout import and crash-and-replay, and after every step
// checks the money against the task states, read through the store:
//
//   - every transaction sums to zero, every key is one transaction, and the
//     store's running balances and audit agree with the entries;
//   - no account is ever below its floor, replaying the ledger transaction
//     by transaction;
//   - a task is reserved, posted and voided at most once each, never both
//     posted and voided, and posted or voided only after its reserve, each
//     with the entries the task's job, contributor and fee call for;
//   - reserves, posts and voids match the task states (outcome success of a
//     paying job; valid; invalid or unchecked), and once the payer has
//     drained its queue, every such task has them; pending, earned, fee,
//     in-flight and paid-out balances are what the tasks and payout lines
//     say; a finished job has no escrow and no open reservation.
//
// A crash-and-replay step fails one of the operation's next transactions
// after its work is done (a crash before commit), checks, then runs the
// operation again as a client retry would. Replays of operations that
// succeeded (a report, a funding key, a payout run key, a result file)
// must change nothing.
//
// A failure names the seed and the step, with the steps so far.
func TestMoneyProperties(t *testing.T) {
	seeds, steps := 8, 150
	if testing.Short() {
		seeds, steps = 3, 80
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint("seed=", seed+1), func(t *testing.T) {
			runMoneyProperties(t, seed+1, steps)
		})
	}
}

// errCrash is what crashStore makes a transaction fail with.
var errCrash = errors.New("injected crash before commit")

// crashStore is a store whose InTx can be set to fail one transaction
// after its function has run, so that all it wrote is rolled back: the
// coordinator crashing just before commit.
type crashStore struct {
	store.Store
	countdown int  // the countdown-th next InTx crashes; 0: none
	fired     bool // a crash was injected since arm
}

func (c *crashStore) arm(n int) { c.countdown, c.fired = n, false }

func (c *crashStore) InTx(ctx context.Context, fn func(store.Tx) error) error {
	if c.countdown == 0 {
		return c.Store.InTx(ctx, fn)
	}
	c.countdown--
	if c.countdown > 0 {
		return c.Store.InTx(ctx, fn)
	}
	return c.Store.InTx(ctx, func(tx store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		c.fired = true
		return errCrash
	})
}

// propRun is one random sequence and what the test knows of it: the hosts
// and jobs it made, the tasks it leased and the requests it may repeat.
type propRun struct {
	t     *testing.T
	ctx   context.Context
	seed  uint64
	rng   *rand.Rand
	b     *testBundle
	cs    *crashStore
	step  int
	log   []string
	hosts []propHost

	contributorOf map[int64]int64 // host → contributor
	contributors  []int64
	jobs          []int64
	submitted     int
	leased        map[int64]int64 // task → host, every task leased
	unitOf        map[int64]int64 // task → unit
	open          []int64         // leased, not yet reported or found over
	reported      []propReport    // reports taken, to send again
	fundUsed      map[string]bool
	runs          map[string]int64         // payout run key → id
	settings      map[int64]PayoutSettings // contributor → payout settings as last set
	runKeys       []string
	imported      map[int64][]byte // run → last result file taken
	crashes       int              // crashes injected
	start         time.Time        // the clock when the run began
}

type propHost struct{ id, contributor int64 }

type propReport struct {
	host    int64
	reports []workunits.Report
}

// propOp is one step: run may be run twice (a replay); it updates what the
// test knows only when it succeeds. ok lists the error codes it may answer.
type propOp struct {
	name string
	run  func() error
	ok   []workunits.Code
}

func (o propOp) allowed(err error) bool {
	return err == nil || slices.Contains(o.ok, workunits.ErrorCode(err))
}

const propFeeBPS = 250

func runMoneyProperties(t *testing.T, seed uint64, steps int) {
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "prop.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cs := &crashStore{Store: st}
	r := &propRun{t: t, ctx: t.Context(), seed: seed, rng: rand.New(rand.NewPCG(seed, 0x6d6f6e6579)), b: setupOn(t, cs), cs: cs,
		start:         time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC),
		contributorOf: map[int64]int64{}, leased: map[int64]int64{}, unitOf: map[int64]int64{}, fundUsed: map[string]bool{},
		runs: map[string]int64{}, imported: map[int64][]byte{}, settings: map[int64]PayoutSettings{}}
	r.b.svc.platformFeeBPS = propFeeBPS
	r.b.svc.payoutThreshold = 1 // so that a contributor's own threshold is in the range of what they earn
	r.b.svc.rand = rand.New(rand.NewPCG(seed, 2)).Float64
	// Five contributors, the first two with two hosts each.
	for i := range 5 {
		c, h := r.b.host(t, fmt.Sprintf("c%d", i))
		r.contributors = append(r.contributors, c.ID)
		r.addHost(h.ID, c.ID)
		r.setPayoutSettings(c.ID, r.payoutMethod(c.ID, 0))
		if i < 2 {
			h2, _, err := r.b.svc.RegisterHost(r.ctx, c.ID, HostInfo{Name: fmt.Sprintf("c%d-laptop", i), Platform: "test", Cores: 1})
			if err != nil {
				t.Fatal(err)
			}
			r.addHost(h2.ID, c.ID)
		}
	}
	r.do(*r.opFund())
	r.check(false)
	for r.step = 1; r.step <= steps; r.step++ {
		r.b.now = r.b.now.Add(time.Second)
		r.do(r.pick(true))
		r.check(false)
		if r.step%20 == 0 {
			r.drain()
			r.check(true)
		}
	}
	r.windDown()
}

func (r *propRun) addHost(host, contributor int64) {
	r.hosts = append(r.hosts, propHost{id: host, contributor: contributor})
	r.contributorOf[host] = contributor
}

func (r *propRun) logf(format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf("step %d: ", r.step)+fmt.Sprintf(format, args...))
}

func (r *propRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("seed %d, step %d: %s\nsteps so far:\n  %s", r.seed, r.step, fmt.Sprintf(format, args...), strings.Join(r.log, "\n  "))
}

// do runs op and fails on an error it may not answer.
func (r *propRun) do(op propOp) {
	r.t.Helper()
	r.logf("%s", op.name)
	err := op.run()
	if err != nil {
		r.log[len(r.log)-1] += " → " + err.Error()
	}
	if !op.allowed(err) {
		r.fatalf("%s: %v", op.name, err)
	}
}

// pick draws the next step; a crash-and-replay wraps another step.
func (r *propRun) pick(crash bool) propOp {
	for {
		var op *propOp
		switch k := r.rng.IntN(100); {
		case k < 8:
			op = r.opSubmit()
		case k < 24:
			op = r.opLease()
		case k < 54:
			op = r.opReport()
		case k < 58:
			op = r.opReportAgain()
		case k < 62:
			op = r.opExpire()
		case k < 66:
			op = r.opFund()
		case k < 74:
			op = r.opPay()
		case k < 78:
			op = r.opFinish()
		case k < 80:
			op = r.opCancel()
		case k < 85:
			op = r.opPayoutRun()
		case k < 90:
			op = r.opImport()
		case k < 92:
			op = r.opClawback()
		case k < 94:
			op = r.opPayoutSettings()
		case crash:
			op = r.opCrash()
		}
		if op != nil {
			return *op
		}
	}
}

func (r *propRun) opCrash() *propOp {
	inner := r.pick(false)
	n := 1
	if r.rng.IntN(3) == 0 {
		n = 2
	}
	return &propOp{name: fmt.Sprintf("crash at transaction %d of {%s}, then replay", n, inner.name), ok: inner.ok, run: func() error {
		r.cs.arm(n)
		err := inner.run()
		fired := r.cs.fired
		r.cs.arm(0)
		if fired {
			r.crashes++
		}
		r.logf("  first run: crashed %v, %v", fired, err)
		switch {
		case fired && !errors.Is(err, errCrash):
			r.fatalf("%s: a crash was injected but the operation answered %v", inner.name, err)
		case !fired && !inner.allowed(err):
			r.fatalf("%s (no crash): %v", inner.name, err)
		}
		r.check(false) // what a crash leaves is consistent too
		return inner.run()
	}}
}

func (r *propRun) opSubmit() *propOp {
	deadlines := []time.Duration{2 * time.Minute, 10 * time.Minute, time.Hour}
	q := 1 + r.rng.IntN(3)
	p := workunits.Policy{MinQuorum: q, TargetReplicas: q + r.rng.IntN(2), Deadline: deadlines[r.rng.IntN(len(deadlines))], Adaptive: r.rng.IntN(4) == 0}
	if r.rng.IntN(3) == 0 {
		p.MaxErrorReplicas = 1 + r.rng.IntN(2)
	}
	var reward int64
	if r.rng.IntN(4) > 0 {
		reward = 1 + r.rng.Int64N(1000)
	}
	r.submitted++
	key := fmt.Sprintf("job-%d", r.submitted)
	inputs := make([][]byte, 1+r.rng.IntN(4))
	for i := range inputs {
		inputs[i] = fmt.Appendf(nil, `{"job":%d,"unit":%d}`, r.submitted, i)
	}
	req := JobRequest{App: "app", Inputs: inputs, Policy: p, RewardMicros: reward, IdempotencyKey: key, RequestHash: key}
	return &propOp{name: fmt.Sprintf("submit %s: %d units, quorum %d of %d, max errors %d, reward %d, deadline %s, adaptive %v",
		key, len(inputs), p.MinQuorum, p.TargetReplicas, p.MaxErrorReplicas, reward, p.Deadline, p.Adaptive), run: func() error {
		st, err := r.b.svc.SubmitJob(r.ctx, r.b.project.ID, req)
		if err != nil {
			return err
		}
		if !slices.Contains(r.jobs, st.Job.ID) {
			r.jobs = append(r.jobs, st.Job.ID)
		}
		return nil
	}}
}

func (r *propRun) opLease() *propOp {
	h := r.hosts[r.rng.IntN(len(r.hosts))]
	max := 1 + r.rng.IntN(3)
	return &propOp{name: fmt.Sprintf("lease %d on host %d", max, h.id), ok: []workunits.Code{workunits.EFORBIDDEN}, run: func() error {
		ls, err := r.b.svc.LeaseTasks(r.ctx, h.id, max, nil)
		if workunits.ErrorCode(err) == workunits.EFORBIDDEN {
			// Blocked for invalid results: the operator lets it back.
			if _, uerr := r.b.svc.UnblockHost(r.ctx, h.id); uerr != nil {
				return uerr
			}
			return err
		}
		if err != nil {
			return err
		}
		for _, l := range ls {
			r.leased[l.TaskID], r.unitOf[l.TaskID] = h.id, l.UnitID
			r.open = append(r.open, l.TaskID)
		}
		return nil
	}}
}

// opReport reports one to three open tasks of one host: the right output,
// a wrong one (shared by the unit's wrong hosts, or its own) or an error.
func (r *propRun) opReport() *propOp {
	if len(r.open) == 0 {
		return nil
	}
	first := r.open[r.rng.IntN(len(r.open))]
	host := r.leased[first]
	ids := []int64{first}
	for _, id := range r.open {
		if id != first && r.leased[id] == host && len(ids) < 3 && r.rng.IntN(2) == 0 {
			ids = append(ids, id)
		}
	}
	reports := make([]workunits.Report, len(ids))
	var what []string
	for i, id := range ids {
		rep := workunits.Report{TaskID: id, Outcome: workunits.OutcomeSuccess, CPUTime: time.Second}
		switch k := r.rng.IntN(100); {
		case k < 70:
			rep.Output = fmt.Appendf(nil, "right-%d", r.unitOf[id])
		case k < 78:
			rep.Output = fmt.Appendf(nil, "wrong-%d", r.unitOf[id])
		case k < 85:
			rep.Output = fmt.Appendf(nil, "wrong-task-%d", id)
		default:
			rep.Outcome = workunits.OutcomeError
		}
		reports[i] = rep
		what = append(what, fmt.Sprintf("task %d %s %q", id, rep.Outcome, rep.Output))
	}
	return &propOp{name: fmt.Sprintf("report from host %d: %s", host, strings.Join(what, ", ")), ok: []workunits.Code{workunits.ECONFLICT},
		run: func() error {
			err := r.b.svc.ReportResults(r.ctx, host, reports)
			switch {
			case err == nil:
				r.reported = append(r.reported, propReport{host: host, reports: reports})
				r.close(ids...)
			case workunits.ErrorCode(err) == workunits.ECONFLICT:
				r.closeOver(ids)
			}
			return err
		}}
}

// close forgets open tasks.
func (r *propRun) close(ids ...int64) {
	r.open = slices.DeleteFunc(r.open, func(id int64) bool { return slices.Contains(ids, id) })
}

// closeOver forgets those of ids that can no longer be reported: over or
// past their deadline.
func (r *propRun) closeOver(ids []int64) {
	var tasks []workunits.Task
	if err := r.b.svc.store.InReadTx(r.ctx, func(tx store.Tx) (err error) {
		tasks, err = tx.TaskGetMany(r.ctx, ids)
		return err
	}); err != nil {
		r.fatalf("reading tasks: %v", err)
	}
	for _, t := range tasks {
		if t.State != workunits.TaskInProgress || !r.b.svc.now().Before(t.DeadlineAt) {
			r.close(t.ID)
		}
	}
}

// opReportAgain sends again reports the service took: a client retrying
// after a lost answer. It must be refused, or ignored for a cancelled
// job, and change nothing either way.
func (r *propRun) opReportAgain() *propOp {
	if len(r.reported) == 0 {
		return nil
	}
	rep := r.reported[r.rng.IntN(len(r.reported))]
	return &propOp{name: fmt.Sprintf("report again from host %d: %d tasks from %d", rep.host, len(rep.reports), rep.reports[0].TaskID),
		ok: []workunits.Code{workunits.ECONFLICT}, run: func() error {
			before := r.load()
			err := r.b.svc.ReportResults(r.ctx, rep.host, rep.reports)
			after := r.load()
			if b, a := before.fingerprint(), after.fingerprint(); b != a {
				r.fatalf("reports sent again (answer %v) changed the state:\nbefore %s\nafter  %s", err, b, a)
			}
			if err == nil {
				for _, rp := range rep.reports {
					t := before.tasks[rp.TaskID]
					if before.jobs[before.units[t.UnitID].JobID].State != workunits.JobCancelled {
						r.fatalf("task %d (%s/%s) was reported again and the report was taken", t.ID, t.State, t.Outcome)
					}
				}
			}
			return err
		}}
}

// opExpire moves the clock, a little or past many deadlines, and sweeps.
func (r *propRun) opExpire() *propOp {
	d := 30*time.Second + time.Duration(r.rng.Int64N(int64(5*time.Minute)))
	if r.rng.IntN(2) == 0 {
		d = 5*time.Minute + time.Duration(r.rng.Int64N(int64(2*time.Hour)))
	}
	d = d.Truncate(time.Second)
	r.b.now = r.b.now.Add(d)
	return &propOp{name: fmt.Sprintf("clock +%s, sweep", d), run: func() error {
		_, err := r.b.svc.SweepOverdue(r.ctx)
		return err
	}}
}

// opFund funds the project with one of a few keys, each always for the
// same amount: a key used before must change nothing.
func (r *propRun) opFund() *propOp {
	k := r.rng.IntN(5)
	key, amount := fmt.Sprintf("grant-%d", k), int64(k+1)*15_000
	return &propOp{name: fmt.Sprintf("fund %d with key %s", amount, key), run: func() error {
		used := r.fundUsed[key]
		before := r.load()
		if _, err := r.b.svc.FundProject(r.ctx, r.b.project.ID, amount, key); err != nil {
			return err
		}
		r.fundUsed[key] = true
		if b, a := before.fingerprint(), r.load().fingerprint(); used && b != a {
			r.fatalf("funding again with key %s changed the state:\nbefore %s\nafter  %s", key, b, a)
		}
		return nil
	}}
}

func (r *propRun) opPay() *propOp {
	return &propOp{name: "pay", run: func() error {
		_, err := r.b.svc.PayCredits(r.ctx)
		return err
	}}
}

func (r *propRun) opFinish() *propOp {
	return &propOp{name: "finish jobs, settle cancelled jobs", run: func() error {
		if err := r.b.svc.FinishJobs(r.ctx); err != nil {
			return err
		}
		return r.b.svc.SettleCancelledJobs(r.ctx)
	}}
}

// opCancel cancels a job: a done one is a conflict, a cancelled one
// changes nothing.
func (r *propRun) opCancel() *propOp {
	if len(r.jobs) == 0 {
		return nil
	}
	job := r.jobs[r.rng.IntN(len(r.jobs))]
	return &propOp{name: fmt.Sprintf("cancel job %d", job), ok: []workunits.Code{workunits.ECONFLICT}, run: func() error {
		before := r.load()
		_, err := r.b.svc.CancelJob(r.ctx, r.b.project.ID, job)
		after := r.load()
		switch was := before.jobs[job].State; {
		case was == workunits.JobDone && workunits.ErrorCode(err) != workunits.ECONFLICT:
			r.fatalf("cancelling done job %d: %v, want a conflict", job, err)
		case was != workunits.JobDone && err == nil && after.jobs[job].State != workunits.JobCancelled:
			r.fatalf("job %d is %s after it was cancelled", job, after.jobs[job].State)
		case (was == workunits.JobCancelled || was == workunits.JobDone) && before.fingerprint() != after.fingerprint():
			r.fatalf("cancelling %s job %d changed the state:\nbefore %s\nafter  %s", was, job, before.fingerprint(), after.fingerprint())
		}
		return err
	}}
}

// opClawback finds a random host cheating since a random time in the run:
// its results since then are reversed, what it was paid becomes a debt.
func (r *propRun) opClawback() *propOp {
	h := r.hosts[r.rng.IntN(len(r.hosts))]
	since := r.start.Add(time.Duration(r.rng.Int64N(int64(r.b.now.Sub(r.start)) + 1)))
	return &propOp{name: fmt.Sprintf("claw back host %d since %s", h.id, since.Format(time.TimeOnly)), run: func() error {
		_, err := r.b.svc.ClawBack(r.ctx, h.id, since, "property test")
		return err
	}}
}

// opPayoutRun creates a payout run with a low threshold, or asks again for
// a run made before: same run, same lines, nothing changed.
func (r *propRun) opPayoutRun() *propOp {
	key := fmt.Sprintf("run-%d", len(r.runKeys)+1)
	if len(r.runKeys) > 0 && r.rng.IntN(3) == 0 {
		key = r.runKeys[r.rng.IntN(len(r.runKeys))]
	}
	threshold := 1 + r.rng.Int64N(3000)
	return &propOp{name: fmt.Sprintf("payout run %s, threshold %d", key, threshold), run: func() error {
		before := r.load()
		id, known := r.runs[key]
		run, err := r.b.svc.CreatePayoutRun(r.ctx, key, threshold)
		if err != nil {
			return err
		}
		if !known {
			if !run.Created {
				r.fatalf("payout run %s was not created and the test made none", key)
			}
			r.checkRunPayees(run, before)
			r.runs[key] = run.ID
			r.runKeys = append(r.runKeys, key)
			return nil
		}
		if run.Created || run.ID != id {
			r.fatalf("payout run %s again: run %d created %v, want run %d again", key, run.ID, run.Created, id)
		}
		if b, a := before.fingerprint(), r.load().fingerprint(); b != a {
			r.fatalf("payout run %s again changed the state:\nbefore %s\nafter  %s", key, b, a)
		}
		return nil
	}}
}

// opImport imports results for a run: some pending lines paid, some
// failed, some left; sometimes a line already done again (unchanged) or
// the other way (a conflict that changes nothing); sometimes the last
// file taken, again (changes nothing).
func (r *propRun) opImport() *propOp {
	if len(r.runKeys) == 0 {
		return nil
	}
	runID := r.runs[r.runKeys[r.rng.IntN(len(r.runKeys))]]
	run, err := r.b.svc.GetPayoutRun(r.ctx, runID)
	if err != nil {
		r.fatalf("reading payout run %d: %v", runID, err)
	}
	type result struct {
		LineID    int64  `json:"line_id"`
		Status    string `json:"status"`
		Reference string `json:"reference"`
	}
	var results []result
	again := r.imported[runID] != nil && r.rng.IntN(4) == 0
	var file []byte
	if again {
		file = r.imported[runID]
	} else {
		for _, l := range run.Lines {
			paid := result{LineID: l.ID, Status: "paid", Reference: fmt.Sprintf("ref-%d", l.ID)}
			failed := result{LineID: l.ID, Status: "failed"}
			switch k := r.rng.IntN(100); {
			case l.State == store.PayoutLinePending && k < 40:
				results = append(results, paid)
			case l.State == store.PayoutLinePending && k < 70:
				results = append(results, failed)
			case l.State == store.PayoutLineSettled && k < 15, l.State == store.PayoutLineReturned && k >= 15 && k < 20:
				results = append(results, paid)
			case l.State == store.PayoutLineReturned && k < 15, l.State == store.PayoutLineSettled && k >= 15 && k < 20:
				results = append(results, failed)
			}
		}
		if len(results) == 0 {
			return nil
		}
		if file, err = json.Marshal(results); err != nil {
			r.fatalf("%v", err)
		}
	}
	return &propOp{name: fmt.Sprintf("import into run %d: %s", runID, file), ok: []workunits.Code{workunits.ECONFLICT}, run: func() error {
		before := r.load()
		rs, perr := payouts.ParsePayoutResults(file)
		if perr != nil {
			r.fatalf("the test wrote a bad result file: %v", perr)
		}
		var want PayoutImport
		conflict := false
		for _, res := range rs {
			state := store.PayoutLineSettled
			if res.Status == payouts.ResultFailed {
				state = store.PayoutLineReturned
			}
			switch l := before.lines[res.LineID]; {
			case l.State == state:
				want.Unchanged++
			case l.State != store.PayoutLinePending:
				conflict = true
			case state == store.PayoutLineSettled:
				want.Settled++
			default:
				want.Returned++
			}
		}
		got, err := r.b.svc.ImportPayoutResults(r.ctx, runID, file)
		changed := before.fingerprint() != r.load().fingerprint()
		switch {
		case conflict && workunits.ErrorCode(err) != workunits.ECONFLICT:
			r.fatalf("a result contradicting an earlier one was answered %v, want a conflict", err)
		case conflict && changed:
			r.fatalf("a refused result file changed the state")
		case err != nil:
			return err
		case got.Settled != want.Settled || got.Returned != want.Returned || got.Unchanged != want.Unchanged:
			r.fatalf("import: settled %d, returned %d, unchanged %d; want %d, %d, %d",
				got.Settled, got.Returned, got.Unchanged, want.Settled, want.Returned, want.Unchanged)
		case want.Settled+want.Returned == 0 && changed:
			r.fatalf("an import that settles and returns nothing changed the state")
		}
		r.imported[runID] = file
		return nil
	}}
}

// drain runs the payer until it has nothing left to record.
func (r *propRun) drain() {
	r.t.Helper()
	for range 10 {
		n, err := r.b.svc.PayCredits(r.ctx)
		if err != nil {
			r.fatalf("draining the payer: %v", err)
		}
		if n == 0 {
			r.logf("drained")
			return
		}
	}
	r.fatalf("the payer still records after 10 rounds")
}

// windDown ends the sequence: every job not finished is cancelled, every
// deadline passes, the payer drains and the jobs settle; then everyone
// is paid out. Nothing may be left in escrow or pending, and what was
// funded is all in budgets, contributors' hands, paid out or fees.
func (r *propRun) windDown() {
	r.t.Helper()
	r.step++
	for _, j := range r.jobs {
		r.do(propOp{name: fmt.Sprintf("wind down: cancel job %d", j), ok: []workunits.Code{workunits.ECONFLICT}, run: func() error {
			_, err := r.b.svc.CancelJob(r.ctx, r.b.project.ID, j)
			return err
		}})
	}
	r.b.now = r.b.now.Add(3 * time.Hour)
	r.do(propOp{name: "wind down: sweep, pay, finish, settle", run: func() error {
		if _, err := r.b.svc.SweepOverdue(r.ctx); err != nil {
			return err
		}
		r.drain()
		if err := r.b.svc.FinishJobs(r.ctx); err != nil {
			return err
		}
		return r.b.svc.SettleCancelledJobs(r.ctx)
	}})
	r.check(true)
	st := r.load()
	for _, j := range st.jobs {
		if j.FinishedAt.IsZero() {
			r.fatalf("job %d is %s and unsettled after the wind-down", j.ID, j.State)
		}
	}
	for _, c := range r.contributors {
		r.setPayoutSettings(c, r.payoutMethod(c, 0))
	}
	run, err := r.b.svc.CreatePayoutRun(r.ctx, "final", 1)
	if err != nil {
		r.fatalf("final payout run: %v", err)
	}
	r.logf("final payout run %d: %d lines", run.ID, len(run.Lines))
	pending := map[int64][]string{} // run → results paying its pending lines
	for _, l := range r.load().lines {
		if l.State == store.PayoutLinePending {
			pending[l.RunID] = append(pending[l.RunID], fmt.Sprintf(`{"line_id":%d,"status":"paid"}`, l.ID))
		}
	}
	for runID, results := range pending {
		if _, err := r.b.svc.ImportPayoutResults(r.ctx, runID, []byte("["+strings.Join(results, ",")+"]")); err != nil {
			r.fatalf("final import into run %d: %v", runID, err)
		}
	}
	r.check(true)
	st = r.load()
	var funded, paid, debts int64
	for a, v := range st.sums {
		switch {
		case a == payouts.ExternalFunding:
			funded = -v
		case a == payouts.ExternalPayouts:
			paid = v
		case a == payouts.ProjectBudget(r.b.project.ID) || a == payouts.PlatformFees:
		case v < 0 && a.MayOwe():
			debts -= v // a clawback took back more than was left
		case v != 0:
			r.fatalf("%s holds %d after the wind-down and a final payout", a, v)
		}
	}
	if got := st.sums[payouts.ProjectBudget(r.b.project.ID)] + paid + st.sums[payouts.PlatformFees] - debts; got != funded {
		r.fatalf("budget + paid out + fees - debts = %d, funded %d", got, funded)
	}
	kinds := map[string]int{}
	seenTx := map[int64]bool{}
	for _, e := range st.entries {
		if !seenTx[e.TransactionID] {
			seenTx[e.TransactionID] = true
			kinds[payouts.KeyKind(e.Key)]++
		}
	}
	states := map[string]int{}
	for _, t := range st.tasks {
		states[string(t.Outcome)+"/"+string(t.ValidateState)]++
	}
	r.t.Logf("%d steps, %d crashes: %d jobs, tasks %v; ledger %v; funded %d, paid out %d, fees %d",
		r.step, r.crashes, len(st.jobs), states, kinds, funded, paid, st.sums[payouts.PlatformFees])
}

// propState is everything the invariants read, from one read transaction.
type propState struct {
	audit    store.LedgerAudit
	jobs     map[int64]workunits.Job
	units    map[int64]workunits.Unit
	unitsOf  map[int64][]int64 // job → units
	tasks    map[int64]workunits.Task
	tasksOf  map[int64][]workunits.Task // unit → tasks
	entries  []store.LedgerEntry
	sums     map[payouts.Account]int64 // balance = sum of entries
	balances map[payouts.Account]int64 // the store's running balances
	refused  []store.RefusedMoneyMove
	runs     []store.PayoutRun
	lines    map[int64]store.PayoutLine
	payable  bool
}

func (r *propRun) load() propState {
	r.t.Helper()
	s := propState{jobs: map[int64]workunits.Job{}, units: map[int64]workunits.Unit{}, unitsOf: map[int64][]int64{},
		tasks: map[int64]workunits.Task{}, tasksOf: map[int64][]workunits.Task{}, sums: map[payouts.Account]int64{},
		lines: map[int64]store.PayoutLine{}}
	ctx := r.ctx
	err := r.b.svc.store.InReadTx(ctx, func(tx store.Tx) error {
		var err error
		if s.audit, err = tx.LedgerAudit(ctx); err != nil {
			return err
		}
		jobs, err := tx.JobGetMany(ctx, r.jobs)
		if err != nil {
			return err
		}
		var unitIDs []int64
		for _, j := range jobs {
			s.jobs[j.ID] = j
			units, err := tx.UnitList(ctx, store.UnitListParams{JobID: j.ID, AfterSeq: -1, Limit: 1000})
			if err != nil {
				return err
			}
			for _, u := range units {
				s.units[u.ID] = u
				s.unitsOf[j.ID] = append(s.unitsOf[j.ID], u.ID)
				unitIDs = append(unitIDs, u.ID)
			}
		}
		tasks, err := tx.TaskListByUnits(ctx, unitIDs)
		if err != nil {
			return err
		}
		for _, t := range tasks {
			s.tasks[t.ID] = t
			s.tasksOf[t.UnitID] = append(s.tasksOf[t.UnitID], t)
		}
		if s.entries, err = tx.LedgerEntryList(ctx, store.LedgerEntryListParams{
			Prefixes: []string{"external:", "platform:", "project:", "job:", "contributor:"}}); err != nil {
			return err
		}
		for _, e := range s.entries {
			s.sums[e.Account] += e.Amount
		}
		if s.balances, err = tx.LedgerBalanceMany(ctx, slices.Collect(maps.Keys(s.sums))); err != nil {
			return err
		}
		if s.refused, err = tx.MoneyRefusedList(ctx, MaxRefusedList); err != nil {
			return err
		}
		if s.runs, err = tx.PayoutRunList(ctx, 0, MaxPayoutRunList); err != nil {
			return err
		}
		for _, run := range s.runs {
			lines, err := tx.PayoutLineList(ctx, run.ID)
			if err != nil {
				return err
			}
			for _, l := range lines {
				s.lines[l.ID] = l
			}
		}
		s.payable, err = tx.MoneyPayable(ctx, r.b.svc.now())
		return err
	})
	if err != nil {
		r.fatalf("loading the state: %v", err)
	}
	return s
}

// fingerprint sums up what a request that must change nothing could
// change: ledger, jobs, units, tasks, payout lines, refused rows.
func (s propState) fingerprint() string {
	var b strings.Builder
	last := int64(0)
	if len(s.entries) > 0 {
		last = s.entries[len(s.entries)-1].ID
	}
	fmt.Fprintf(&b, "entries %d (last %d), refused %d, payable %v;", len(s.entries), last, len(s.refused), s.payable)
	for _, id := range slices.Sorted(maps.Keys(s.jobs)) {
		fmt.Fprintf(&b, " job %d %s %v;", id, s.jobs[id].State, !s.jobs[id].FinishedAt.IsZero())
	}
	for _, id := range slices.Sorted(maps.Keys(s.units)) {
		fmt.Fprintf(&b, " unit %d %s;", id, s.units[id].State)
	}
	for _, id := range slices.Sorted(maps.Keys(s.tasks)) {
		t := s.tasks[id]
		fmt.Fprintf(&b, " task %d %s/%s/%s;", id, t.State, t.Outcome, t.ValidateState)
	}
	for _, id := range slices.Sorted(maps.Keys(s.lines)) {
		fmt.Fprintf(&b, " line %d %s;", id, s.lines[id].State)
	}
	return b.String()
}

// propTx is one ledger transaction as its entries read.
type propTx struct {
	id      int64
	key     string
	entries map[payouts.Account]int64
}

// taskMoney is the transaction id of each of a task's reserve, post and
// void; 0 if none.
type taskMoney struct{ reserve, post, void, clawback int64 }

// check verifies the invariants. drained says the payer's queue is empty,
// so every task's money must be recorded.
func (r *propRun) check(drained bool) {
	r.t.Helper()
	s := r.load()
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	defer func() {
		if len(bad) > 0 {
			if len(bad) > 20 {
				bad = append(bad[:20], fmt.Sprintf("… and %d more", len(bad)-20))
			}
			r.fatalf("invariants broken (drained %v):\n    %s", drained, strings.Join(bad, "\n    "))
		}
	}()

	// 1. The store's audit, and each transaction summing to zero under
	// one key.
	if !s.audit.Balanced() {
		fail("ledger audit: %+v", s.audit)
	}
	txs := map[int64]*propTx{}
	var order []int64
	for _, e := range s.entries {
		x := txs[e.TransactionID]
		if x == nil {
			x = &propTx{id: e.TransactionID, key: e.Key, entries: map[payouts.Account]int64{}}
			txs[x.id] = x
			order = append(order, x.id)
		}
		x.entries[e.Account] += e.Amount
	}
	slices.Sort(order)
	byKey := map[string]*propTx{}
	clawedBack := false
	for _, id := range order {
		x := txs[id]
		sum := int64(0)
		for _, v := range x.entries {
			sum += v
		}
		if sum != 0 {
			fail("transaction %d %s sums to %d", id, x.key, sum)
		}
		if y := byKey[x.key]; y != nil {
			fail("key %s is on transactions %d and %d", x.key, y.id, id)
		}
		byKey[x.key] = x
		clawedBack = clawedBack || payouts.KeyKind(x.key) == "clawback"
	}

	// 2. No account below its floor, after any transaction; running
	// balances equal the entries.
	floorOK := func(a payouts.Account, v int64) bool {
		return v >= 0 || a.MayGoNegative() || (clawedBack && a.MayOwe())
	}
	running := map[payouts.Account]int64{}
	for _, id := range order {
		for a, v := range txs[id].entries {
			running[a] += v
			if !floorOK(a, running[a]) {
				fail("%s is %d after transaction %d %s", a, running[a], id, txs[id].key)
			}
		}
	}
	for a, v := range s.sums {
		if s.balances[a] != v {
			fail("running balance of %s is %d, its entries sum to %d", a, s.balances[a], v)
		}
	}

	// 3. Each task's reserve, post and void: at most once each, never both
	// a post and a void, after the reserve, with the right entries; and
	// 4. only for tasks in the states that call for them.
	jobOf := func(t workunits.Task) workunits.Job { return s.jobs[s.units[t.UnitID].JobID] }
	money := map[int64]*taskMoney{}
	clawbackQueued := false
	var fees int64
	earned, pendingLedger, settled := map[int64]int64{}, map[int64]int64{}, map[int64]int64{}
	for _, id := range order {
		x := txs[id]
		kind := payouts.KeyKind(x.key)
		switch kind {
		case "fund", "escrow", "release":
			continue
		case "payout", "settle", "return":
			if kind == "settle" {
				c, _ := payouts.KeyID(x.key, "contributor")
				settled[c] += x.entries[payouts.ExternalPayouts]
			}
			continue
		case "reserve", "post", "void", "clawback":
		default:
			fail("transaction %d has key %s, of no kind the service records", id, x.key)
			continue
		}
		tid, _ := payouts.KeyID(x.key, "task")
		t, ok := s.tasks[tid]
		if !ok {
			fail("%s: no such task in the test's jobs", x.key)
			continue
		}
		job, c := jobOf(t), r.contributorOf[t.HostID]
		reward, fee := job.RewardMicros, payouts.FeeFor(job.RewardMicros, propFeeBPS)
		m := money[tid]
		if m == nil {
			m = &taskMoney{}
			money[tid] = m
		}
		var want map[payouts.Account]int64
		switch kind {
		case "reserve":
			m.reserve = id
			want = map[payouts.Account]int64{payouts.JobEscrow(job.ID): -reward, payouts.ContributorPending(c): reward}
		case "post":
			m.post = id
			want = map[payouts.Account]int64{payouts.ContributorPending(c): -reward, payouts.ContributorAvailable(c): reward - fee}
			if fee > 0 {
				want[payouts.PlatformFees] = fee
			}
			fees += fee
			earned[c] += reward - fee
		case "void":
			m.void = id
			want = map[payouts.Account]int64{payouts.ContributorPending(c): -reward, payouts.JobEscrow(job.ID): reward}
		case "clawback":
			m.clawback = id
			want = map[payouts.Account]int64{payouts.ContributorAvailable(c): -(reward - fee), payouts.ProjectBudget(job.ProjectID): reward - fee}
			earned[c] -= reward - fee
		}
		if !maps.Equal(x.entries, want) {
			fail("%s (task of job %d, host %d of contributor %d, reward %d) has entries %v, want %v",
				x.key, job.ID, t.HostID, c, reward, x.entries, want)
		}
	}
	for tid, m := range money {
		t := s.tasks[tid]
		c := r.contributorOf[t.HostID]
		switch {
		case m.reserve == 0:
			fail("task %d is posted or voided (%+v) but never reserved", tid, *m)
			continue
		case m.post != 0 && m.void != 0:
			fail("task %d is both posted (tx %d) and voided (tx %d)", tid, m.post, m.void)
		case m.post != 0 && m.post < m.reserve, m.void != 0 && m.void < m.reserve:
			fail("task %d is posted or voided before it is reserved: %+v", tid, *m)
		case m.clawback != 0 && (m.post == 0 || m.clawback < m.post):
			fail("task %d is clawed back without a post before it: %+v", tid, *m)
		}
		if t.Outcome != workunits.OutcomeSuccess || jobOf(t).RewardMicros <= 0 {
			fail("task %d is reserved but its outcome is %q, reward %d", tid, t.Outcome, jobOf(t).RewardMicros)
		}
		// A post stands for a valid task; a clawed-back one is invalid, and
		// its clawback may still be queued until the payer is drained.
		if m.post != 0 && t.ValidateState != workunits.ValidateValid && (t.ValidateState != workunits.ValidateInvalid || drained && m.clawback == 0) {
			fail("task %d is posted but %s (%+v)", tid, t.ValidateState, *m)
		}
		if m.clawback != 0 && t.ValidateState != workunits.ValidateInvalid {
			fail("task %d is clawed back but %s", tid, t.ValidateState)
		}
		if m.void != 0 && t.ValidateState != workunits.ValidateInvalid && t.ValidateState != workunits.ValidateUnchecked {
			fail("task %d is voided but %s", tid, t.ValidateState)
		}
		if m.post == 0 && m.void == 0 {
			pendingLedger[c] += jobOf(t).RewardMicros
		}
		if m.post != 0 && m.clawback == 0 && t.ValidateState == workunits.ValidateInvalid {
			clawbackQueued = true // reversed once the payer records it
		}
	}

	// Every reportable task of a paying job has its money once the payer
	// is drained, or its job finished; and pending and earned balances
	// are what the task states say.
	pendingStates, earnedStates := map[int64]int64{}, map[int64]int64{}
	for _, t := range s.tasks {
		job := jobOf(t)
		if t.Outcome != workunits.OutcomeSuccess || job.RewardMicros <= 0 {
			continue
		}
		c := r.contributorOf[t.HostID]
		m := money[t.ID]
		if m == nil {
			m = &taskMoney{}
		}
		finished := !job.FinishedAt.IsZero()
		switch t.ValidateState {
		case workunits.ValidateValid:
			earnedStates[c] += job.RewardMicros - payouts.FeeFor(job.RewardMicros, propFeeBPS)
			if (drained || finished) && m.post == 0 {
				fail("task %d of job %d (%s) is valid and not posted (%+v)", t.ID, job.ID, job.State, *m)
			}
		case workunits.ValidateInvalid, workunits.ValidateUnchecked:
			if (drained || finished) && m.void == 0 && m.post == 0 {
				fail("task %d of job %d (%s) is %s and not voided (%+v)", t.ID, job.ID, job.State, t.ValidateState, *m)
			}
		default:
			pendingStates[c] += job.RewardMicros
			if finished {
				fail("task %d of finished job %d (%s) is still %s", t.ID, job.ID, job.State, t.ValidateState)
			}
			if drained && (m.reserve == 0 || m.post != 0 || m.void != 0) {
				fail("task %d of job %d is %s and has money %+v, want only a reserve", t.ID, job.ID, t.ValidateState, *m)
			}
		}
	}
	if drained && s.payable {
		fail("the payer has rows to record after it was drained")
	}

	// Payout lines: each held once, settled or returned as its state
	// says; in flight is what pending lines hold.
	inflight := map[int64]int64{}
	payoutTxs := 0
	for _, x := range txs {
		if k := payouts.KeyKind(x.key); k == "payout" || k == "settle" || k == "return" {
			payoutTxs++
		}
	}
	lineTxs := 0
	perRun := map[[2]int64]bool{}
	pendingIn := map[int64]int{}
	for _, l := range s.lines {
		c, amt := l.ContributorID, l.AmountMicros
		if perRun[[2]int64{l.RunID, c}] {
			fail("run %d has two lines for contributor %d", l.RunID, c)
		}
		perRun[[2]int64{l.RunID, c}] = true
		if amt <= 0 {
			fail("line %d pays %d", l.ID, amt)
		}
		hold := byKey[fmt.Sprintf("payout:run:%d:contributor:%d", l.RunID, c)]
		settle := byKey[fmt.Sprintf("settle:run:%d:contributor:%d", l.RunID, c)]
		ret := byKey[fmt.Sprintf("return:run:%d:contributor:%d", l.RunID, c)]
		for _, x := range []*propTx{hold, settle, ret} {
			if x != nil {
				lineTxs++
			}
		}
		if hold == nil || !maps.Equal(hold.entries, map[payouts.Account]int64{payouts.ContributorAvailable(c): -amt, payouts.ContributorInflight(c): amt}) {
			fail("line %d (run %d, contributor %d, %d) is held by %+v", l.ID, l.RunID, c, amt, hold)
		}
		switch l.State {
		case store.PayoutLinePending:
			inflight[c] += amt
			pendingIn[l.RunID]++
			if settle != nil || ret != nil {
				fail("pending line %d is settled or returned in the ledger", l.ID)
			}
		case store.PayoutLineSettled:
			if settle == nil || ret != nil || !maps.Equal(settle.entries, map[payouts.Account]int64{payouts.ContributorInflight(c): -amt, payouts.ExternalPayouts: amt}) {
				fail("settled line %d: settle %+v, return %+v", l.ID, settle, ret)
			}
		case store.PayoutLineReturned:
			if ret == nil || settle != nil || !maps.Equal(ret.entries, map[payouts.Account]int64{payouts.ContributorInflight(c): -amt, payouts.ContributorAvailable(c): amt}) {
				fail("returned line %d: settle %+v, return %+v", l.ID, settle, ret)
			}
		default:
			fail("line %d is %q", l.ID, l.State)
		}
	}
	if lineTxs != payoutTxs {
		fail("%d payout, settle and return transactions, %d belong to lines", payoutTxs, lineTxs)
	}
	for _, run := range s.runs {
		if open := pendingIn[run.ID] > 0; open != (run.State == store.PayoutRunOpen) {
			fail("run %d is %s with %d pending lines", run.ID, run.State, pendingIn[run.ID])
		}
	}

	// Per contributor: pending is the open reservations; available, in
	// flight and paid out add up to what was posted; the earnings API
	// says the same.
	for _, c := range r.contributors {
		pending, available, inf := s.sums[payouts.ContributorPending(c)], s.sums[payouts.ContributorAvailable(c)], s.sums[payouts.ContributorInflight(c)]
		if pending != pendingLedger[c] {
			fail("contributor %d: pending %d, open reservations %d", c, pending, pendingLedger[c])
		}
		if drained && pending != pendingStates[c] {
			fail("contributor %d: pending %d, tasks reported and not judged %d", c, pending, pendingStates[c])
		}
		if available+inf+settled[c] != earned[c] {
			fail("contributor %d: available %d + in flight %d + paid %d != posted %d", c, available, inf, settled[c], earned[c])
		}
		if drained && !clawbackQueued && earned[c] != earnedStates[c] {
			fail("contributor %d: posted %d, valid tasks earn %d", c, earned[c], earnedStates[c])
		}
		if inf != inflight[c] {
			fail("contributor %d: in flight %d, pending payout lines %d", c, inf, inflight[c])
		}
		e, err := r.b.svc.ContributorEarnings(r.ctx, c)
		if err != nil {
			fail("earnings of %d: %v", c, err)
		} else if e.PendingMicros != pending || e.AvailableMicros != available || e.InFlightMicros != inf || e.PaidMicros != settled[c] {
			fail("contributor %d: earnings %+v, ledger pending %d available %d in flight %d paid %d", c, e, pending, available, inf, settled[c])
		}
	}
	if got := s.sums[payouts.PlatformFees]; got != fees {
		fail("platform fees %d, the posts' fees %d", got, fees)
	}

	// Jobs and escrow: a finished job holds nothing; an unfinished funded
	// one holds its escrow less open and posted reservations, enough for
	// every task it may still reserve.
	for _, j := range s.jobs {
		escrowed := int64(0)
		if x := byKey[fmt.Sprintf("escrow:job:%d", j.ID)]; x != nil {
			escrowed = x.entries[payouts.JobEscrow(j.ID)]
		}
		balance := s.sums[payouts.JobEscrow(j.ID)]
		var mayReserve int64
		for _, u := range s.unitsOf[j.ID] {
			tasks := s.tasksOf[u]
			if len(tasks) > j.Policy.MaxTotalReplicas {
				fail("unit %d of job %d has %d tasks, the policy allows %d", u, j.ID, len(tasks), j.Policy.MaxTotalReplicas)
			}
			if s.units[u].State == workunits.UnitOpen {
				mayReserve += int64(j.Policy.MaxTotalReplicas - len(tasks))
			}
			seen := map[int64]int64{}
			for _, t := range tasks {
				if t.State != workunits.TaskOver {
					mayReserve++
				}
				if t.HostID == 0 {
					continue
				}
				c := r.contributorOf[t.HostID]
				if other, ok := seen[c]; ok {
					fail("unit %d went to two hosts of contributor %d: tasks %d and %d", u, c, other, t.ID)
				}
				seen[c] = t.ID
				if j.State == workunits.JobDone && t.State == workunits.TaskInProgress {
					fail("job %d is done with task %d in progress", j.ID, t.ID)
				}
			}
			if j.State == workunits.JobDone && !s.units[u].State.Terminal() {
				fail("job %d is done with unit %d %s", j.ID, u, s.units[u].State)
			}
		}
		switch {
		case j.State == workunits.JobWaiting:
			if escrowed != 0 || balance != 0 {
				fail("waiting job %d has escrow %d (set aside %d)", j.ID, balance, escrowed)
			}
		case !j.FinishedAt.IsZero():
			if balance != 0 {
				fail("finished job %d (%s) still holds %d in escrow", j.ID, j.State, balance)
			}
		case j.RewardMicros > 0:
			want, _ := payouts.EscrowFor(j.UnitCount, j.Policy.MaxTotalReplicas, j.RewardMicros)
			if escrowed != want {
				fail("job %d set aside %d, want %d", j.ID, escrowed, want)
			}
			if balance < j.RewardMicros*mayReserve {
				fail("job %d (%s) holds %d in escrow, %d tasks may still be reserved at %d", j.ID, j.State, balance, mayReserve, j.RewardMicros)
			}
		}
	}

	// The payer never has a reason to refuse: escrow covers every task.
	for _, m := range s.refused {
		fail("the ledger refused %s of task %d (job %d): %s", m.Kind, m.TaskID, m.JobID, m.Reason)
	}
}

// payoutMethod is a contributor's payout settings with a method (by turns
// paypal or a bank transfer) and the given threshold of their own.
func (r *propRun) payoutMethod(c, threshold int64) PayoutSettings {
	if c%2 == 0 {
		return PayoutSettings{ThresholdMicros: threshold, Method: payouts.MethodPayPal, Destination: fmt.Sprintf("c%d@example.com", c)}
	}
	return PayoutSettings{ThresholdMicros: threshold, Method: payouts.MethodBankTransfer, Destination: "GB82WEST12345698765432"}
}

func (r *propRun) setPayoutSettings(c int64, p PayoutSettings) {
	r.t.Helper()
	got, err := r.b.svc.SetPayoutSettings(r.ctx, c, p)
	if err != nil {
		r.fatalf("payout settings of contributor %d: %v", c, err)
	}
	r.settings[c] = got
}

// opPayoutSettings changes a contributor's payout settings: a threshold of
// their own, or no method (not paid until they set one again), or back to
// a method and the run's threshold.
func (r *propRun) opPayoutSettings() *propOp {
	c := r.contributors[r.rng.IntN(len(r.contributors))]
	var p PayoutSettings
	switch r.rng.IntN(3) {
	case 0:
		p = r.payoutMethod(c, 1+r.rng.Int64N(5000))
	case 1:
		p = PayoutSettings{ThresholdMicros: r.rng.Int64N(2) * (1 + r.rng.Int64N(5000))}
	default:
		p = r.payoutMethod(c, 0)
	}
	return &propOp{name: fmt.Sprintf("payout settings of contributor %d: %+v", c, p), run: func() error {
		got, err := r.b.svc.SetPayoutSettings(r.ctx, c, p)
		if err != nil {
			return err
		}
		r.settings[c] = got
		return nil
	}}
}

// checkRunPayees checks a run just made against the state before it: it
// pays exactly the contributors with a method whose available balance
// reaches both its threshold and their own, all of it, to the method and
// destination they had set.
func (r *propRun) checkRunPayees(run PayoutRun, before propState) {
	r.t.Helper()
	paid := map[int64]store.PayoutLine{}
	for _, l := range run.Lines {
		paid[l.ContributorID] = l
	}
	for _, c := range r.contributors {
		set, avail := r.settings[c], before.sums[payouts.ContributorAvailable(c)]
		due := set.Method != "" && avail >= max(run.ThresholdMicros, set.ThresholdMicros)
		l, ok := paid[c]
		switch {
		case due && !ok:
			r.fatalf("run %d does not pay contributor %d: %d available, settings %+v, run threshold %d", run.ID, c, avail, set, run.ThresholdMicros)
		case !due && ok:
			r.fatalf("run %d pays contributor %d (%+v): %d available, settings %+v, run threshold %d", run.ID, c, l, avail, set, run.ThresholdMicros)
		case ok && (l.AmountMicros != avail || l.Method != set.Method || l.Destination != set.Destination):
			r.fatalf("run %d pays contributor %d %d by %s to %s; want %d by %s to %s", run.ID, c, l.AmountMicros, l.Method, l.Destination,
				avail, set.Method, set.Destination)
		}
	}
	if len(paid) != len(run.Lines) {
		r.fatalf("run %d has two lines for one contributor", run.ID)
	}
}
