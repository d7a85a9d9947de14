package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// emptyModule is the smallest valid WebAssembly module (magic and version,
// no sections). The coordinator compiles uploads; the simulated hosts never
// run it.
var emptyModule = []byte("\x00asm\x01\x00\x00\x00")

const appName = "bench"

// fixture is what setup leaves for the timed phase.
type fixture struct {
	operator *client.Client
	project  *client.Client
	// hosts[h][u] is host h's client for coordinator u: any request may go
	// to any coordinator.
	hosts   [][]*client.Client
	jobs    []int64
	units   int
	funding int64 // paid into the project; what is not credited comes back to its budget
	signer  *client.Signer
	// outputs maps a unit's input to the output every honest host returns.
	outputs map[string][]byte
}

// setup creates, through the API, everything the timed phase needs: a
// funded project with an app, contributors, hosts, and jobs whose units
// yield cfg.tasks validated tasks. None of it is timed.
func setup(ctx context.Context, cfg config, hc *http.Client, log *slog.Logger) (*fixture, error) {
	fx := &fixture{operator: client.New(cfg.urls[0], cfg.operatorKey, hc)}
	for _, u := range cfg.urls {
		if err := waitHealthy(ctx, client.New(u, "", hc)); err != nil {
			return nil, err
		}
	}
	units := (cfg.tasks + cfg.quorum - 1) / cfg.quorum
	if err := fx.createProject(ctx, cfg, units); err != nil {
		return nil, err
	}
	if _, err := fx.signer.Upload(ctx, fx.project, appName, emptyModule); err != nil {
		return nil, fmt.Errorf("uploading the app: %w", err)
	}
	accountKeys, err := createContributors(ctx, cfg, client.New(cfg.urls[0], "", hc))
	if err != nil {
		return nil, err
	}
	log.Info("contributors created", "count", len(accountKeys))
	if fx.hosts, err = registerHosts(ctx, cfg, hc, accountKeys); err != nil {
		return nil, err
	}
	log.Info("hosts registered", "count", len(fx.hosts))
	if err := fx.submitJobs(ctx, cfg, units); err != nil {
		return nil, err
	}
	return fx, nil
}

// waitHealthy gives a coordinator that was just started a moment to answer.
func waitHealthy(ctx context.Context, c *client.Client) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.Health(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("waiting for the coordinator to answer: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createProject creates the project and funds it with exactly the escrow
// its jobs will set aside.
func (fx *fixture) createProject(ctx context.Context, cfg config, units int) error {
	p, err := fx.operator.CreateProject(ctx, "bench")
	if err != nil {
		return fmt.Errorf("creating the project: %w", err)
	}
	fx.project = fx.operator.WithKey(p.APIKey)
	if fx.signer, err = fx.operator.EnrollSigner(ctx, p.ID); err != nil {
		return fmt.Errorf("setting the project's signing key: %w", err)
	}
	escrow, err := payouts.EscrowFor(units, jobPolicy(cfg).Workunits().WithDefaults().MaxTotalReplicas, cfg.reward)
	if err != nil {
		return fmt.Errorf("funding the project: %w", err)
	}
	if escrow == 0 {
		return nil
	}
	fx.funding = escrow
	if _, err := fx.operator.FundProject(ctx, p.ID, api.FundRequest{AmountMicros: escrow, IdempotencyKey: "bench-funding"}); err != nil {
		return fmt.Errorf("funding the project: %w", err)
	}
	return nil
}

// jobPolicy is the policy of every job submitted, and so what decides the
// escrow the project is funded with.
func jobPolicy(cfg config) api.Policy {
	return api.Policy{MinQuorum: cfg.quorum}
}

func createContributors(ctx context.Context, cfg config, anon *client.Client) ([]string, error) {
	keys := make([]string, cfg.contributors)
	err := parallel(ctx, len(keys), cfg.setupConc, func(ctx context.Context, i int) error {
		c, err := anon.CreateContributor(ctx, "bench contributor "+strconv.Itoa(i))
		if err != nil {
			return fmt.Errorf("creating contributor %d: %w", i, err)
		}
		keys[i] = c.AccountKey
		return nil
	})
	return keys, err
}

// registerHosts attaches host i to contributor i mod len(accountKeys), so
// that hosts next to each other in the rotation belong to different
// contributors and can take the replicas of one unit.
func registerHosts(ctx context.Context, cfg config, hc *http.Client, accountKeys []string) ([][]*client.Client, error) {
	hosts := make([][]*client.Client, cfg.hosts)
	err := parallel(ctx, cfg.hosts, cfg.setupConc, func(ctx context.Context, i int) error {
		owner := client.New(cfg.urls[i%len(cfg.urls)], accountKeys[i%len(accountKeys)], hc)
		h, err := owner.RegisterHost(ctx, api.RegisterHostRequest{Name: "bench host " + strconv.Itoa(i), Platform: "bench", Cores: 1})
		if err != nil {
			return fmt.Errorf("registering host %d: %w", i, err)
		}
		hosts[i] = make([]*client.Client, len(cfg.urls))
		for u, url := range cfg.urls {
			hosts[i][u] = client.New(url, h.HostToken, hc)
		}
		return nil
	})
	return hosts, err
}

// submitJobs submits the units as jobs of at most workunits.MaxUnitsPerJob
// and computes every unit's output. Each input is a distinct JSON number,
// unique across jobs.
func (fx *fixture) submitJobs(ctx context.Context, cfg config, units int) error {
	fx.units = units
	fx.outputs = make(map[string][]byte, units)
	for first := 0; first < units; first += workunits.MaxUnitsPerJob {
		n := min(workunits.MaxUnitsPerJob, units-first)
		inputs := make([]json.RawMessage, n)
		for i := range inputs {
			in := strconv.Itoa(first + i)
			inputs[i] = json.RawMessage(in)
			sum := sha256.Sum256([]byte(in))
			fx.outputs[in] = sum[:]
		}
		job, err := fx.project.SubmitJob(ctx, api.SubmitJobRequest{App: appName, Units: inputs,
			Policy: jobPolicy(cfg), RewardMicros: cfg.reward})
		if err != nil {
			return fmt.Errorf("submitting units %d to %d: %w", first, first+n-1, err)
		}
		fx.jobs = append(fx.jobs, job.ID)
	}
	return nil
}

// analyze refreshes the planner statistics of a PostgreSQL database. The
// jobs were inserted a moment ago, and autovacuum only samples a table a
// while after it grows; a live coordinator's tables have statistics.
func analyze(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("connecting to analyze the database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("analyzing the database: %w", err)
	}
	return nil
}

// parallel calls fn for 0..n-1 on up to conc goroutines and returns the
// first error, after which no new call starts.
func parallel(ctx context.Context, n, conc int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// creditedTasks counts the tasks paid, from the money that left the
// project: once every job is finished its unused escrow is back in the
// budget, and the rest went to contributors at reward per valid task.
func creditedTasks(ctx context.Context, cfg config, fx *fixture) (int, error) {
	p, err := fx.project.Project(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading the project's budget: %w", err)
	}
	return int((fx.funding - p.BudgetMicros) / cfg.reward), nil
}

// auditLedger checks, after the timed phase, that the payments the run
// caused left the ledger balanced.
func auditLedger(ctx context.Context, fx *fixture, log *slog.Logger) error {
	a, err := fx.operator.LedgerAudit(ctx)
	if err != nil {
		return fmt.Errorf("auditing the ledger: %w", err)
	}
	log.Info("ledger audit", "balanced", a.Balanced, "transactions", a.Transactions, "entries", a.Entries)
	if !a.Balanced {
		return fmt.Errorf("the ledger is not balanced after the run: %+v", a)
	}
	return nil
}
