// Package agent is the worker's main loop: ask the coordinator for tasks,
// run each in the sandbox, report the results in batches, repeat.
package agent

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/worker/atomicfile"
	"github.com/nightshift-platform/nightshift/worker/sandbox"
	"github.com/nightshift-platform/nightshift/workunits"
)

// Executor runs one module; *sandbox.Sandbox is the real one.
type Executor interface {
	Exec(ctx context.Context, r sandbox.Run) (sandbox.Result, error)
}

// Config wires an Agent.
type Config struct {
	Client     *client.Client // authenticated with the host token
	Executor   Executor
	Slots      int    // tasks run at once; 0 means 1
	ScratchDir string // each task gets a fresh subdirectory
	ModuleDir  string // downloaded modules are kept here, if set
	Logger     *slog.Logger
	// MaxIdleWait caps how long the agent sleeps when there is no work.
	MaxIdleWait time.Duration
}

// Agent works for one host.
type Agent struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	modules map[string][]byte
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
	return &Agent{cfg: cfg, log: cfg.Logger, modules: map[string][]byte{}}
}

// Run works until ctx ends. It returns nil on cancellation and an error only
// when the coordinator refuses the host itself (a revoked token, say).
func (a *Agent) Run(ctx context.Context) error {
	backoff := time.Second
	for ctx.Err() == nil {
		work, err := a.cfg.Client.RequestWork(ctx, a.cfg.Slots)
		switch {
		case ctx.Err() != nil:
			return nil
		case client.StatusOf(err) == http.StatusUnauthorized:
			return fmt.Errorf("the coordinator refused this host: %w", err)
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
		if len(work.Tasks) == 0 {
			wait := min(time.Duration(work.RetryAfterSeconds)*time.Second, a.cfg.MaxIdleWait)
			sleep(ctx, jitter(max(wait, 100*time.Millisecond)))
			continue
		}
		done := make(chan []api.Report, 1)
		go func() { done <- a.runAll(ctx, work.Tasks) }()
		select {
		case <-ctx.Done():
			// A module cannot be interrupted mid-run; the process is
			// exiting and the tasks will be reissued after their deadline.
			return nil
		case reports := <-done:
			a.report(ctx, reports)
		}
	}
	return nil
}

// runAll runs tasks on up to Slots goroutines and returns their reports.
func (a *Agent) runAll(ctx context.Context, tasks []api.Task) []api.Report {
	reports := make([]api.Report, len(tasks))
	sem := make(chan struct{}, a.cfg.Slots)
	var wg sync.WaitGroup
	for i, t := range tasks {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			reports[i] = a.runOne(ctx, t)
		}()
	}
	wg.Wait()
	return reports
}

func (a *Agent) runOne(ctx context.Context, t api.Task) api.Report {
	start := time.Now()
	rep := api.Report{TaskID: t.ID}
	fail := func(err error) api.Report {
		rep.Outcome = "error"
		rep.Stderr = err.Error()
		rep.CPUSeconds = time.Since(start).Seconds()
		a.log.Warn("task failed", "task", t.ID, "app", t.App, "err", err)
		return rep
	}
	module, err := a.module(ctx, t.ModuleSHA256)
	if err != nil {
		return fail(err)
	}
	scratch := ""
	if a.cfg.ScratchDir != "" {
		scratch = filepath.Join(a.cfg.ScratchDir, strconv.FormatInt(t.ID, 10))
		if err := os.MkdirAll(scratch, 0o700); err != nil {
			return fail(fmt.Errorf("creating scratch directory: %w", err))
		}
		defer os.RemoveAll(scratch)
	}
	res, err := a.cfg.Executor.Exec(ctx, sandbox.Run{ModuleSHA256: t.ModuleSHA256, Module: module,
		Args: []string{t.App}, Stdin: t.Input, ScratchDir: scratch})
	if err != nil {
		return fail(err)
	}
	rep.CPUSeconds = res.CPUTime.Seconds()
	rep.Stderr = string(res.Stderr)
	if res.ExitCode != 0 {
		rep.Outcome = "error"
		a.log.Warn("task exited with an error", "task", t.ID, "app", t.App, "exit_code", res.ExitCode)
		return rep
	}
	rep.Outcome = "success"
	rep.Output = res.Stdout
	a.log.Debug("task done", "task", t.ID, "app", t.App, "cpu", res.CPUTime)
	return rep
}

// module returns a module's bytes from memory, disk or the coordinator,
// always checked against the hash before use.
func (a *Agent) module(ctx context.Context, sha string) ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if m, ok := a.modules[sha]; ok {
		return m, nil
	}
	var path string
	if a.cfg.ModuleDir != "" {
		path = filepath.Join(a.cfg.ModuleDir, sha+".wasm")
		if m, err := os.ReadFile(path); err == nil && workunits.Hash(m) == sha {
			a.modules[sha] = m
			return m, nil
		}
	}
	m, err := a.cfg.Client.Module(ctx, sha)
	if err != nil {
		return nil, fmt.Errorf("downloading module: %w", err)
	}
	if workunits.Hash(m) != sha {
		return nil, fmt.Errorf("downloaded module %s: %w", sha, sandbox.ErrHashMismatch)
	}
	if path != "" {
		if err := atomicfile.Write(path, m, 0o600); err != nil {
			a.log.Warn("could not cache module", "sha256", sha, "err", err)
		}
	}
	a.modules[sha] = m
	return m, nil
}

// report sends a batch of reports, retrying while the coordinator is
// unreachable. If the batch is refused, the reports go one by one so that
// one refused task (its deadline passed, say) does not hold back the rest.
func (a *Agent) report(ctx context.Context, reports []api.Report) {
	backoff := time.Second
	for ctx.Err() == nil {
		_, err := a.cfg.Client.Report(ctx, reports)
		status := client.StatusOf(err)
		switch {
		case err == nil:
			a.log.Info("reported", "tasks", len(reports))
			return
		case status >= 400 && status < 500 && len(reports) > 1:
			for _, r := range reports {
				a.report(ctx, []api.Report{r})
			}
			return
		case status >= 400 && status < 500:
			a.log.Warn("report refused", "task", reports[0].TaskID, "err", err)
			return
		}
		a.log.Warn("reporting failed; will retry", "err", err, "retry_in", backoff)
		sleep(ctx, backoff)
		backoff = min(backoff*2, a.cfg.MaxIdleWait)
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
