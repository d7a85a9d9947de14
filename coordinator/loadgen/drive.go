package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
)

// Pauses of a simulated host: after an empty lease (the pool is dry, or
// every unsent replica belongs to a unit its contributor already holds) and
// after a failed request. A real host waits retry_after_seconds; here the
// goroutine moves on to its next host, and only pauses so that the tail of
// a run is not a storm of empty leases competing with the last reports.
const (
	emptyPause = 20 * time.Millisecond
	errorPause = 50 * time.Millisecond
)

// result is what the timed phase measured.
type result struct {
	elapsed       time.Duration
	reporting     time.Duration // of elapsed, until the last report was accepted
	complete      bool          // every unit finished, rather than a time limit
	validated     int           // tasks the coordinators count as valid, from the job status
	leases        []time.Duration
	leaseRequests int
	emptyLeases   int
	errors        int
	coordCPU      time.Duration
	dbCPU         time.Duration
	selfCPU       time.Duration
}

// runState holds the state the simulated hosts share during the timed phase.
type runState struct {
	cfg      config
	fx       *fixture
	log      *slog.Logger
	expected int64 // reports that finish every unit

	reported atomic.Int64
	errors   atomic.Int64
	stop     atomic.Bool
	once     sync.Once
	allDone  chan struct{} // closed when the last expected report is accepted
	doneAt   atomic.Int64  // UnixNano of that moment
}

// drive runs the timed phase, lease → report → validate → credit: the
// simulated hosts lease and report until every task is reported (or a
// limit), then the coordinators' background loop pays the last credits and
// finishes the jobs, and the phase ends when the last job is finished.
func drive(ctx context.Context, cfg config, fx *fixture, log *slog.Logger) (result, error) {
	rs := &runState{cfg: cfg, fx: fx, log: log, expected: int64(fx.units * cfg.quorum), allDone: make(chan struct{})}
	conc := min(cfg.concurrency, len(fx.hosts))
	cpu0, err := sampleCPU(cfg)
	if err != nil {
		return result{}, err
	}
	workCtx, cancelWork := context.WithCancel(ctx)
	defer cancelWork()
	start := time.Now()
	profiled := cfg.profile.start(ctx, log)
	defer profiled()
	workers := make([]worker, conc)
	var wg sync.WaitGroup
	for g := range workers {
		workers[g] = worker{rs: rs, id: g, stride: conc}
		wg.Go(func() { workers[g].run(workCtx) })
	}
	reportsIn := rs.waitForReports(ctx, start)
	// Once every report is in there is nothing left to lease: stopping the
	// workers keeps their empty leases from competing with the payer. At a
	// limit, the steps in flight are let finish, and count.
	rs.stop.Store(true)
	waitOrCancel(&wg, drainGrace, cancelWork)
	reportsEnd, end := time.Now(), time.Now()
	var st jobsState
	if reportsIn {
		reportsEnd = time.Unix(0, rs.doneAt.Load())
		st, err = rs.waitForJobs(ctx, start)
		// Finished: the end is when the last job was. Not finished: the
		// wait for credits that never came counts.
		end = time.Now()
		if st.done {
			end = latest(reportsEnd, st.finishedAt)
		}
	} else {
		st, err = jobsStatus(ctx, fx)
	}
	if err != nil {
		return result{}, err
	}
	cpu1, err := sampleCPU(cfg)
	if err != nil {
		return result{}, err
	}

	res := result{elapsed: end.Sub(start), reporting: reportsEnd.Sub(start), complete: st.done, validated: st.validated, errors: int(rs.errors.Load()),
		coordCPU: cpu1.coord - cpu0.coord, dbCPU: cpu1.dbSince(cpu0), selfCPU: cpu1.self - cpu0.self}
	for _, w := range workers {
		res.leases = append(res.leases, w.latencies...)
		res.leaseRequests += w.leaseRequests
		res.emptyLeases += w.emptyLeases
	}
	log.Info("timed phase over", "seconds", res.elapsed.Seconds(), "reporting_seconds", res.reporting.Seconds(), "reported", rs.reported.Load(), "expected", rs.expected,
		"validated", st.validated, "jobs_done", st.done)
	return res, nil
}

// drainGrace is how long the steps in flight at the end may take to
// finish before they are abandoned: a limit must end the run even when a
// request takes minutes.
const drainGrace = 10 * time.Second

func waitOrCancel(wg *sync.WaitGroup, grace time.Duration, cancel context.CancelFunc) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		cancel()
		<-done
	}
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// waitForReports blocks until every expected report is in (true), or a
// limit ends the phase early (false). While reports flow it costs the
// coordinators nothing; it asks for the jobs' state only when progress
// stops, which happens if some report was lost.
func (rs *runState) waitForReports(ctx context.Context, start time.Time) bool {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	last, lastChange := rs.reported.Load(), time.Now()
	for {
		select {
		case <-rs.allDone:
			return true
		case <-ctx.Done():
			return false
		case now := <-tick.C:
			if rs.overLimit(start, now) {
				return false
			}
			if n := rs.reported.Load(); n != last {
				last, lastChange = n, now
				continue
			}
			if now.Sub(lastChange) < 2*time.Second {
				continue
			}
			if rs.jobsDone(ctx) {
				rs.finish(now)
				return true
			}
			if now.Sub(lastChange) >= rs.cfg.stall {
				rs.log.Warn("no progress; giving up", "stalled_for", now.Sub(lastChange), "reported", last, "expected", rs.expected)
				return false
			}
		}
	}
}

// waitForJobs waits until the coordinators have paid every credit and
// finished every job, or a limit passes. It watches the project's budget,
// one balance row: a job gives back its unused escrow when it finishes,
// so the budget reaches funding minus every expected reward exactly when
// all jobs are finished and every task was paid. The job status, which
// counts every task of the job, is read rarely, in case some task was not
// paid (a lost report, say) and the budget never gets there.
func (rs *runState) waitForJobs(ctx context.Context, start time.Time) (jobsState, error) {
	target := rs.fx.funding - rs.expected*rs.cfg.reward
	since, lastStatus := time.Now(), time.Now()
	for {
		if rs.cfg.reward > 0 {
			p, err := rs.fx.project.Project(ctx)
			if err != nil {
				return jobsState{}, fmt.Errorf("reading the project's budget: %w", err)
			}
			if p.BudgetMicros == target {
				return jobsStatus(ctx, rs.fx)
			}
		}
		now := time.Now()
		if rs.cfg.reward == 0 || now.Sub(lastStatus) >= statusPoll {
			lastStatus = now
			if rs.jobsDone(ctx) {
				return jobsStatus(ctx, rs.fx)
			}
		}
		if rs.overLimit(start, now) {
			return jobsStatus(ctx, rs.fx)
		}
		if now.Sub(since) >= rs.cfg.stall {
			rs.log.Warn("every task was reported but the jobs are not finished; giving up", "waited", now.Sub(since), "jobs", rs.fx.jobs)
			return jobsStatus(ctx, rs.fx)
		}
		select {
		case <-ctx.Done():
			return jobsState{}, ctx.Err()
		case <-time.After(budgetPoll):
		}
	}
}

// How often the end of the credit phase is looked for. The end time itself
// comes from the jobs' finished_at, not from the polls.
const (
	budgetPoll = 50 * time.Millisecond
	statusPoll = 5 * time.Second
)

// jobsDone is a bounded look at whether every job is finished, for the
// loops that watch for the end: on a saturated database the job status can
// take minutes, and the loops must still notice a time limit.
func (rs *runState) jobsDone(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	st, err := jobsStatus(ctx, rs.fx)
	return err == nil && st.done
}

const statusTimeout = 5 * time.Second

func (rs *runState) overLimit(start, now time.Time) bool {
	if rs.cfg.maxDuration > 0 && now.Sub(start) >= rs.cfg.maxDuration {
		rs.log.Warn("time limit reached before every job was finished", "limit", rs.cfg.maxDuration)
		return true
	}
	return false
}

func (rs *runState) finish(at time.Time) {
	rs.once.Do(func() {
		rs.doneAt.Store(at.UnixNano())
		close(rs.allDone)
	})
}

// countError logs the first few failures in full and counts the rest.
func (rs *runState) countError(what string, err error) {
	if n := rs.errors.Add(1); n <= 10 {
		rs.log.Warn(what+" failed", "err", err, "failure", n)
	}
}

// jobsState is what the coordinators say about the run's jobs.
type jobsState struct {
	done       bool      // every job finished: every unit decided and every credit paid
	validated  int       // tasks validated
	finishedAt time.Time // when the last job finished, if all have
}

func jobsStatus(ctx context.Context, fx *fixture) (jobsState, error) {
	st := jobsState{done: true}
	for _, id := range fx.jobs {
		j, err := fx.project.Job(ctx, id)
		if err != nil {
			return jobsState{}, fmt.Errorf("reading job %d: %w", id, err)
		}
		st.done = st.done && j.State == "done"
		if j.Progress != nil {
			st.validated += j.Progress.Validations["valid"]
		}
		if j.FinishedAt != nil {
			st.finishedAt = latest(st.finishedAt, *j.FinishedAt)
		}
	}
	return st, nil
}

// worker is one request in flight. It cycles over its own share of the
// hosts (id, id+stride, …), so no host ever has two requests at once, and
// over the coordinators, so that each gets an even share of every host.
type worker struct {
	rs     *runState
	id     int
	stride int

	latencies     []time.Duration
	leaseRequests int
	emptyLeases   int
	reports       []api.Report // reused from step to step
}

func (w *worker) run(ctx context.Context) {
	hosts := w.rs.fx.hosts
	urls := len(w.rs.cfg.urls)
	for step, h := 0, w.id; !w.rs.stop.Load() && ctx.Err() == nil; step, h = step+1, h+w.stride {
		if h >= len(hosts) {
			h = w.id
		}
		w.step(ctx, hosts[h][(w.id+step)%urls])
	}
}

// step is one host's turn: lease, "run" instantly, report everything.
func (w *worker) step(ctx context.Context, host *client.Client) {
	t0 := time.Now()
	work, err := host.RequestWork(ctx, w.rs.cfg.leaseMax)
	elapsed := time.Since(t0)
	if ctx.Err() != nil {
		return
	}
	w.leaseRequests++
	if err != nil {
		w.rs.countError("lease", err)
		time.Sleep(errorPause)
		return
	}
	w.latencies = append(w.latencies, elapsed)
	if len(work.Tasks) == 0 {
		w.emptyLeases++
		time.Sleep(emptyPause)
		return
	}
	w.reports = w.reports[:0]
	for _, t := range work.Tasks {
		w.reports = append(w.reports, api.Report{TaskID: t.ID, Outcome: "success", Output: w.output(t.Input), CPUSeconds: 0.001})
	}
	if err := w.report(ctx, host); err != nil {
		if ctx.Err() == nil {
			w.rs.countError("report", err)
		}
		return
	}
	if n := w.rs.reported.Add(int64(len(w.reports))); n >= w.rs.expected {
		w.rs.finish(time.Now())
	}
}

// output is the precomputed output for an input, or, for an input this run
// did not submit (never expected), the same function computed now.
func (w *worker) output(input []byte) []byte {
	if out, ok := w.rs.fx.outputs[string(input)]; ok {
		return out
	}
	sum := sha256.Sum256(input)
	return sum[:]
}

// report sends the step's reports, retrying what a real worker retries: a
// failure to reach the coordinator or a 5xx, never a refusal.
func (w *worker) report(ctx context.Context, host *client.Client) error {
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(errorPause)
		}
		if _, err = host.Report(ctx, w.reports); err == nil {
			return nil
		}
		if s := client.StatusOf(err); s >= 400 && s < 500 && s != http.StatusTooManyRequests || ctx.Err() != nil {
			return err
		}
	}
	return err
}
