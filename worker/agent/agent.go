// Package agent is the worker's main loop: ask the coordinator for tasks,
// keep each on disk until its result is reported, run it under the gate,
// and report results in batches.
//
// Every task lives in a directory of its own under StateDir/tasks: the
// task as leased, its input, its scratch directory (where the module
// checkpoints) and, once it has run, the report. After a crash or a kill
// the agent finds them there: unfinished tasks run again from their last
// checkpoint, finished ones are reported, and a report is deleted only
// once the coordinator has taken it.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/worker/atomicfile"
	"github.com/nightshift-platform/nightshift/worker/pace"
)

// Config wires an Agent.
type Config struct {
	Client   *client.Client // authenticated with the host token
	Executor Executor
	StateDir string // tasks/ and modules/ live here
	Slots    int    // tasks run at once; 0 means 1
	Gate     *Gate  // nil: always open
	Logger   *slog.Logger
	// MaxIdleWait caps how long the agent sleeps when there is no work,
	// and the backoff between failed reports.
	MaxIdleWait time.Duration
	// Transform, if set, may change a result before it is reported (the
	// demo's faulty host).
	Transform func(Result) Result
	// DiskCap bounds, in bytes, what the worker keeps: tasks (with their
	// scratch directories), modules and CacheDirs. Zero means no cap.
	DiskCap   int64
	CacheDirs []string // emptied first when over the cap
	// OpsPerSecond is the host's benchmark, sent with every work request
	// (the coordinator credits CPU time with it); 0: none.
	OpsPerSecond float64
}

// Agent works for one host.
type Agent struct {
	cfg Config
	log *slog.Logger

	modMu sync.Mutex // one download of a module at a time
	pins  keyPins    // projects' signing keys, trusted on first use

	mu       sync.Mutex
	running  map[int64]*runningTask
	done     int // tasks run to a result since start
	reported int // reports the coordinator took since start
	pace     pace.Estimates
	paceOpen time.Duration // the gate's OpenFor when pace last observed it
	diskFull bool          // over the disk cap with nothing left to free
	active   int           // tasks between fetching their module and their end
	saveMu   sync.Mutex    // one write of pace.json at a time, the latest last

	reportNow chan struct{}
	roomNow   chan struct{} // a task ended or reports went out: disk may be free

	cancelled map[int64]bool // under mu: tasks whose job was cancelled, until discarded
	blocked   *Blocked       // under mu: the coordinator refuses this host work
}

type runningTask struct {
	job       Job
	deadline  time.Time
	started   time.Time
	execution Execution
	stopped   string // why the worker killed it, if it did
}

// leased is a task and when this worker got it; a task resumed after a
// restart has no lease time and does not teach the pace.
type leased struct {
	api.Task
	at time.Time
}

// paceEvery is how often the share of time tasks could run is updated and
// kept on disk.
const paceEvery = time.Minute

// blockedWait is how long a host the coordinator has blocked waits before
// asking for work again.
const blockedWait = 15 * time.Minute

// TaskStatus is a running task as worker status shows it.
type TaskStatus struct {
	ID       int64     `json:"id"`
	App      string    `json:"app"`
	Progress float64   `json:"progress"`
	Started  time.Time `json:"started"`
	Deadline time.Time `json:"deadline"`
}

// Status is what the agent is doing.
type Status struct {
	Tasks          []TaskStatus `json:"tasks"`
	Done           int          `json:"done"`
	Reported       int          `json:"reported"`
	ReportsWaiting int          `json:"reports_waiting"`
	// Available is the share of the time, recent days weighing most, that
	// tasks could run; TooSlowFor lists the jobs whose deadlines this PC
	// would miss at that pace, which the coordinator is told not to send.
	Available  float64 `json:"available"`
	TooSlowFor []int64 `json:"too_slow_for,omitempty"`
	DiskFull   bool    `json:"disk_full,omitempty"` // no new work: the disk cap is reached
	// Blocked is set while the coordinator refuses this host work (too
	// many invalid results); nil otherwise.
	Blocked *Blocked `json:"blocked,omitempty"`
}

// Blocked says since when and why the coordinator refuses this host work,
// and when the worker asks again.
type Blocked struct {
	Since   time.Time `json:"since"`
	Reason  string    `json:"reason"`
	RetryAt time.Time `json:"retry_at"`
}

// New returns an agent.
func New(cfg Config) *Agent {
	if cfg.Slots < 1 {
		cfg.Slots = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxIdleWait == 0 {
		cfg.MaxIdleWait = 30 * time.Second
	}
	if cfg.Gate == nil {
		cfg.Gate = NewGate(true, cfg.Logger)
	}
	return &Agent{cfg: cfg, log: cfg.Logger, running: map[int64]*runningTask{},
		reportNow: make(chan struct{}, 1), roomNow: make(chan struct{}, 1)}
}

func (a *Agent) tasksDir() string  { return filepath.Join(a.cfg.StateDir, "tasks") }
func (a *Agent) moduleDir() string { return filepath.Join(a.cfg.StateDir, "modules") }
func (a *Agent) pacePath() string  { return filepath.Join(a.cfg.StateDir, "pace.json") }

// Run works until ctx ends. It returns nil on cancellation and an error only
// when the coordinator refuses the host itself (a revoked token, say).
// Running tasks are asked to checkpoint before the agent returns.
func (a *Agent) Run(ctx context.Context) error {
	for _, d := range []string{a.tasksDir(), a.moduleDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	pending, err := a.recover()
	if err != nil {
		return err
	}
	a.loadPace()
	// Whatever ends the loop (ctx, or the coordinator refusing the host),
	// tasks killed on the way out must read as interrupted, not failed.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	runCtx, stopRunning := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRunning()
	var wg sync.WaitGroup
	fatal := make(chan error, 1)
	wg.Go(func() { a.reportLoop(ctx, fatal) })
	wg.Go(func() { every(ctx, paceEvery, a.observePace) })
	if a.cfg.DiskCap > 0 {
		wg.Go(func() { every(ctx, diskEvery, a.enforceDiskCap) })
	}
	slots := make(chan struct{}, a.cfg.Slots)
	start := func(t leased) {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			a.runTask(ctx, runCtx, t)
		})
	}
	for _, t := range pending {
		start(leased{Task: t})
	}

	err = a.fetchLoop(ctx, slots, start, fatal)
	stop()
	a.checkpointAll()
	stopRunning()
	wg.Wait()
	a.observePace()
	return err
}

// fetchLoop asks for work whenever the gate is open and a slot is free.
// It never asks for more tasks than there are free slots: a task waiting
// behind others on a PC that may be busy for hours could miss its
// deadline, where another host would have made it. For the same reason it
// asks the coordinator not to send tasks of jobs that, at this PC's pace,
// would finish past their deadline.
func (a *Agent) fetchLoop(ctx context.Context, slots chan struct{}, start func(leased), fatal chan error) error {
	backoff := time.Second
	for {
		if err := a.cfg.Gate.Wait(ctx); err != nil {
			return nil
		}
		free := cap(slots) - len(slots)
		if free > 0 && !a.makeRoom() {
			select { // until a task ends or reports go out, or a while
			case <-ctx.Done():
				return nil
			case err := <-fatal:
				return err
			case <-a.roomNow:
			case <-time.After(diskEvery):
			}
			continue
		}
		if free == 0 {
			select {
			case <-ctx.Done():
				return nil
			case err := <-fatal:
				return err
			case slots <- struct{}{}: // wait for one to free up, then give it back
				<-slots
			case <-time.After(jitter(a.cfg.MaxIdleWait)):
				a.checkIn(ctx) // busy for long: still hear of cancelled jobs
			}
			continue
		}
		a.mu.Lock()
		tooSlow := a.pace.TooSlowFor()
		a.mu.Unlock()
		req := api.WorkRequest{MaxTasks: free, SkipJobs: tooSlow}
		if a.cfg.OpsPerSecond > 0 {
			req.OpsPerSecond = &a.cfg.OpsPerSecond
		}
		work, err := a.cfg.Client.Work(ctx, req)
		leasedAt := time.Now()
		switch {
		case ctx.Err() != nil:
			return nil
		case client.StatusOf(err) == http.StatusUnauthorized:
			return fmt.Errorf("the coordinator refused this host: %w", err)
		case client.StatusOf(err) == http.StatusForbidden:
			// Blocked for invalid results until the operator unblocks the
			// host: ask again now and then, not in a loop.
			a.log.Error("the coordinator has blocked this host; asking again later", "err", err, "retry_in", blockedWait)
			a.setBlocked(err, leasedAt)
			sleep(ctx, blockedWait)
			continue
		case client.StatusOf(err) >= 400 && client.StatusOf(err) < 500 && client.StatusOf(err) != http.StatusTooManyRequests:
			// Asking again the same way gets the same answer.
			return fmt.Errorf("the coordinator refused the work request: %w", err)
		case err != nil:
			a.log.Warn("asking for work failed; will retry", "err", err, "retry_in", backoff)
			sleep(ctx, backoff)
			backoff = min(backoff*2, a.cfg.MaxIdleWait)
			continue
		}
		backoff = time.Second
		a.setBlocked(nil, leasedAt)
		a.cancelTasks(work.CancelTasks)
		if len(work.Tasks) == 0 {
			wait := min(time.Duration(work.RetryAfterSeconds)*time.Second, a.cfg.MaxIdleWait)
			sleep(ctx, jitter(max(wait, 100*time.Millisecond)))
			continue
		}
		for _, t := range work.Tasks {
			if err := a.keep(t); err != nil {
				// Without its directory a task cannot survive a restart;
				// run it anyway rather than let it time out.
				a.log.Error("could not keep a task on disk", "task", t.ID, "err", err)
			}
			start(leased{Task: t, at: leasedAt})
		}
	}
}

// setBlocked records the coordinator's refusal err at now, or, with a nil
// err, that it hands out work again.
func (a *Agent) setBlocked(err error, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil {
		a.blocked = nil
		return
	}
	reason := err.Error()
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		reason = apiErr.Message
	}
	b := &Blocked{Since: now, Reason: reason, RetryAt: now.Add(blockedWait)}
	if a.blocked != nil {
		b.Since = a.blocked.Since
	}
	a.blocked = b
}

// keep writes a leased task to disk before it runs.
func (a *Agent) keep(t api.Task) error {
	j := a.job(t)
	if err := os.MkdirAll(j.scratchDir(), 0o700); err != nil {
		return err
	}
	if err := atomicfile.Write(j.inputPath(), t.Input, 0o600); err != nil {
		return err
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return atomicfile.Write(j.taskPath(), b, 0o600)
}

func (a *Agent) job(t api.Task) Job {
	return Job{TaskID: t.ID, App: t.App, ModuleSHA256: t.ModuleSHA256,
		ModulePath: filepath.Join(a.moduleDir(), t.ModuleSHA256+".wasm"),
		Dir:        filepath.Join(a.tasksDir(), strconv.FormatInt(t.ID, 10))}
}

// recover reads the tasks left on disk: those with a report wait for the
// reporter; the others are returned to run again; those past their
// deadline are dropped (the coordinator has given them to someone else).
func (a *Agent) recover() ([]api.Task, error) {
	entries, err := os.ReadDir(a.tasksDir())
	if err != nil {
		return nil, fmt.Errorf("reading the task directory: %w", err)
	}
	var pending []api.Task
	for _, e := range entries {
		dir := filepath.Join(a.tasksDir(), e.Name())
		if _, err := os.Stat(filepath.Join(dir, "report.json")); err == nil {
			continue
		}
		t, err := readTask(dir)
		if err != nil {
			a.log.Warn("dropping an unreadable task directory", "dir", dir, "err", err)
			_ = os.RemoveAll(dir)
			continue
		}
		if !time.Now().Before(t.Deadline) {
			a.log.Info("dropping a task past its deadline", "task", t.ID)
			_ = os.RemoveAll(dir)
			continue
		}
		a.log.Info("resuming a task from its last checkpoint", "task", t.ID)
		pending = append(pending, t)
	}
	slices.SortFunc(pending, func(x, y api.Task) int { return x.Deadline.Compare(y.Deadline) })
	return pending, nil
}

// readTask reads the task kept in dir.
func readTask(dir string) (api.Task, error) {
	var t api.Task
	b, err := os.ReadFile(filepath.Join(dir, "task.json"))
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	return t, err
}

// runTask runs t to a report on disk. ctx is the agent's; the execution
// runs under runCtx, which outlives ctx so that tasks can checkpoint.
func (a *Agent) runTask(ctx, runCtx context.Context, l leased) {
	t := l.Task
	j := a.job(t)
	rep := api.Report{TaskID: t.ID}
	res, ran, err := a.execute(ctx, runCtx, t, j)
	if a.discardCancelled(t.ID, j) {
		return
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return // stopping: the task resumes from its checkpoint next time
	case err != nil:
		rep.Outcome, rep.Stderr = "error", err.Error()
		a.log.Warn("task failed", "task", t.ID, "app", t.App, "err", err)
	case res.Err != "":
		rep.Outcome, rep.Stderr, rep.CPUSeconds = "error", res.Err, res.CPUSeconds
		a.log.Warn("task failed", "task", t.ID, "app", t.App, "err", res.Err)
	case res.ExitCode != 0:
		rep.Outcome, rep.Stderr, rep.CPUSeconds = "error", string(res.Stderr), res.CPUSeconds
		a.log.Warn("task exited with an error", "task", t.ID, "app", t.App, "exit_code", res.ExitCode)
	default:
		if a.cfg.Transform != nil {
			res = a.cfg.Transform(res)
		}
		rep.Outcome, rep.Output, rep.Stderr, rep.CPUSeconds = "success", res.Stdout, string(res.Stderr), res.CPUSeconds
		a.log.Debug("task done", "task", t.ID, "app", t.App, "cpu_seconds", res.CPUSeconds, "ran", ran)
		if !l.at.IsZero() && t.JobID != 0 {
			a.mu.Lock()
			a.pace.TaskDone(t.JobID, ran, t.Deadline.Sub(l.at), time.Now())
			a.mu.Unlock()
			a.savePace()
		}
	}
	b, err := json.Marshal(rep)
	if err == nil {
		err = atomicfile.Write(j.reportPath(), b, 0o600)
	}
	if err != nil {
		a.log.Error("could not keep a report on disk; the task will run again", "task", t.ID, "err", err)
		return
	}
	_ = os.RemoveAll(j.scratchDir()) // the checkpoint is spent
	a.mu.Lock()
	a.done++
	a.mu.Unlock()
	signal(a.reportNow)
	signal(a.roomNow)
}

// execute runs a job under the gate, from its last checkpoint if any. ran
// is how long the gate was open while it ran: the time it took here.
func (a *Agent) execute(ctx, runCtx context.Context, t api.Task, j Job) (res Result, ran time.Duration, err error) {
	a.mu.Lock()
	a.active++
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.active--
		a.mu.Unlock()
		signal(a.roomNow)
	}()
	if err := a.fetchModule(ctx, t, j.ModulePath); err != nil {
		return Result{}, 0, err
	}
	if err := a.fetchInput(ctx, t, j); err != nil {
		return Result{}, 0, err
	}
	if err := a.cfg.Gate.Wait(ctx); err != nil {
		return Result{}, 0, err
	}
	if a.isCancelled(t.ID) {
		return Result{}, 0, errCancelled
	}
	if err := os.MkdirAll(j.processDir(), 0o700); err != nil {
		return Result{}, 0, fmt.Errorf("creating the task's directory: %w", err)
	}
	openBefore := a.cfg.Gate.OpenFor()
	e, err := a.cfg.Executor.Start(runCtx, j)
	if err != nil {
		return Result{}, 0, err
	}
	untrack := a.cfg.Gate.Track(e)
	defer untrack()
	a.mu.Lock()
	a.running[t.ID] = &runningTask{job: j, deadline: t.Deadline, started: time.Now(), execution: e}
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		delete(a.running, t.ID)
		a.mu.Unlock()
	}()
	res, err = e.Wait()
	ran = a.cfg.Gate.OpenFor() - openBefore
	a.mu.Lock()
	stopped := a.running[t.ID].stopped
	a.mu.Unlock()
	if stopped != "" && (err != nil || res.Err != "" || res.ExitCode != 0) {
		return Result{Err: stopped}, ran, nil // killed for it: its own failure says less
	}
	return res, ran, err
}

// checkpointAll asks every running task to checkpoint, then kills it: the
// worker is stopping and the tasks go on from there next time.
func (a *Agent) checkpointAll() {
	a.mu.Lock()
	running := make([]Execution, 0, len(a.running))
	for _, r := range a.running {
		running = append(running, r.execution)
	}
	a.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range running {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), checkpointGrace)
			defer cancel()
			if err := e.Checkpoint(ctx); err != nil {
				a.log.Warn("a task did not checkpoint before the worker stopped; it will redo some work", "err", err)
			}
			e.Kill()
		})
	}
	wg.Wait()
}

// Status reports the running tasks and the counts so far.
func (a *Agent) Status() Status {
	waiting := a.countReports() // disk I/O, outside the lock
	a.mu.Lock()
	defer a.mu.Unlock()
	st := Status{Done: a.done, Reported: a.reported, ReportsWaiting: waiting,
		Available: a.pace.Share(), TooSlowFor: a.pace.TooSlowFor(), DiskFull: a.diskFull}
	if a.blocked != nil {
		b := *a.blocked
		st.Blocked = &b
	}
	for id, r := range a.running {
		st.Tasks = append(st.Tasks, TaskStatus{ID: id, App: r.job.App, Progress: r.execution.Progress(), Started: r.started, Deadline: r.deadline})
	}
	slices.SortFunc(st.Tasks, func(x, y TaskStatus) int { return int(x.ID - y.ID) })
	return st
}

// countReports counts the reports on disk without reading them: they hold
// whole outputs, and status asks every few seconds.
func (a *Agent) countReports() int {
	found, _ := filepath.Glob(filepath.Join(a.tasksDir(), "*", "report.json"))
	return len(found)
}

// waitingReports reads every report on disk, oldest task first.
func (a *Agent) waitingReports() ([]api.Report, error) {
	entries, err := os.ReadDir(a.tasksDir())
	if err != nil {
		return nil, fmt.Errorf("reading the task directory: %w", err)
	}
	var reps []api.Report
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(a.tasksDir(), e.Name(), "report.json"))
		if err != nil {
			continue // not run yet
		}
		var r api.Report
		if err := json.Unmarshal(b, &r); err != nil {
			a.log.Warn("dropping an unreadable report", "task", e.Name(), "err", err)
			_ = os.RemoveAll(filepath.Join(a.tasksDir(), e.Name()))
			continue
		}
		reps = append(reps, r)
	}
	slices.SortFunc(reps, func(x, y api.Report) int { return int(x.TaskID - y.TaskID) })
	return reps, nil
}

// reportLoop sends the reports waiting on disk whenever a task finishes,
// and retries with backoff while the coordinator cannot be reached. A
// report is deleted only after the coordinator took it or refused it for
// good; a crash in between sends it again, and the coordinator refuses the
// repeat (the task is no longer in progress), so nothing counts twice.
func (a *Agent) reportLoop(ctx context.Context, fatal chan<- error) {
	backoff := time.Second
	for {
		reps, err := a.waitingReports()
		if err != nil {
			a.log.Error("reading reports", "err", err)
		}
		wait := a.cfg.MaxIdleWait
		if len(reps) > 0 {
			if err := a.send(ctx, reps); err != nil {
				if client.StatusOf(err) == http.StatusUnauthorized {
					fatal <- fmt.Errorf("the coordinator refused this host: %w", err)
					return
				}
				a.log.Warn("reporting failed; will retry", "err", err, "reports", len(reps), "retry_in", backoff)
				wait, backoff = backoff, min(backoff*2, a.cfg.MaxIdleWait)
			} else {
				backoff = time.Second
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-a.reportNow:
		case <-time.After(jitter(wait)):
		}
	}
}

// send reports a batch. If the coordinator refuses the batch, the reports
// go one by one, so that one refused task (its deadline passed, say) does
// not hold back the rest; refused ones are dropped.
func (a *Agent) send(ctx context.Context, reps []api.Report) error {
	resp, err := a.cfg.Client.Report(ctx, reps)
	a.cancelTasks(resp.CancelTasks)
	status := client.StatusOf(err)
	switch {
	case err == nil:
		a.log.Info("reported", "tasks", len(reps))
		a.forget(reps...)
		return nil
	case status == http.StatusUnauthorized || status < 400 || status >= 500 || status == http.StatusTooManyRequests:
		return err
	case len(reps) > 1:
		var errs []error
		for _, r := range reps {
			errs = append(errs, a.send(ctx, []api.Report{r}))
		}
		return errors.Join(errs...)
	default:
		a.log.Warn("report refused; dropping it", "task", reps[0].TaskID, "err", err)
		a.forget(reps...)
		return nil
	}
}

func (a *Agent) forget(reps ...api.Report) {
	for _, r := range reps {
		if err := os.RemoveAll(filepath.Join(a.tasksDir(), strconv.FormatInt(r.TaskID, 10))); err != nil {
			a.log.Warn("could not remove a reported task", "task", r.TaskID, "err", err)
		}
	}
	a.mu.Lock()
	a.reported += len(reps)
	a.mu.Unlock()
	signal(a.roomNow)
}

// signal wakes whoever waits on c, if nobody has yet.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// loadPace reads what the worker learnt of its pace before; the time since
// it was last kept, the worker not running, counts as unavailable.
func (a *Agent) loadPace() {
	var p pace.Estimates
	b, err := os.ReadFile(a.pacePath())
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		a.log.Warn("starting the pace estimates afresh", "err", err)
		p = pace.Estimates{}
	}
	p.Observe(time.Now(), 0)
	a.mu.Lock()
	a.pace, a.paceOpen = p, a.cfg.Gate.OpenFor()
	a.mu.Unlock()
	a.savePace()
}

// observePace adds the time since the last call, and how long the gate was
// open in it, to the share of time tasks could run.
func (a *Agent) observePace() {
	open := a.cfg.Gate.OpenFor()
	a.mu.Lock()
	a.pace.Observe(time.Now(), open-a.paceOpen)
	a.paceOpen = open
	a.mu.Unlock()
	a.savePace()
}

// savePace keeps the estimates on disk, unsynced: losing the last minute of
// them to a crash costs nothing that matters.
func (a *Agent) savePace() {
	a.saveMu.Lock()
	defer a.saveMu.Unlock()
	a.mu.Lock()
	b, err := json.Marshal(a.pace)
	a.mu.Unlock()
	if err == nil {
		err = atomicfile.WriteUnsynced(a.pacePath(), b, 0o600)
	}
	if err != nil {
		a.log.Warn("could not keep the pace estimates", "err", err)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// jitter spreads many hosts' polls so they do not arrive in lockstep.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// PIDs returns the process ids of the running tasks' child processes, so
// that their CPU use is not taken for other programs' load.
func (a *Agent) PIDs() []int32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	var pids []int32
	for _, r := range a.running {
		if p, ok := r.execution.(interface{ PID() int }); ok {
			pids = append(pids, int32(p.PID()))
		}
	}
	return pids
}
