package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/payouts"
)

// emptyModule is the smallest valid WebAssembly module; the simulated
// hosts never run it.
var emptyModule = []byte("\x00asm\x01\x00\x00\x00")

const reward = 1000 // micros per valid task

// result is what one store's run printed and found.
type result struct {
	cfg        config
	obs        *observer
	snap       snapshot
	violations *violations
	audit      api.LedgerAudit
	kills      int64
	restarts   int
	proxies    []*dropProxy
	setup      time.Duration
	chaos      time.Duration
	total      time.Duration
	workDir    string
	database   string
}

// runStore runs the whole chaos on one store and checks the invariants.
func runStore(ctx context.Context, cfg config, stderr io.Writer) (res *result, err error) {
	start := time.Now()
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("store", cfg.store)
	res = &result{cfg: cfg}
	dir, err := os.MkdirTemp("", "nightshift-chaos-"+cfg.store+"-")
	if err != nil {
		return nil, fmt.Errorf("making a work directory: %w", err)
	}
	res.workDir = dir
	keepDir := cfg.keep
	defer func() {
		if !keepDir && err == nil && res.violations.none() {
			_ = os.RemoveAll(dir)
		} else {
			log.Info("work directory kept: coordinator logs are there", "dir", dir)
		}
	}()

	var dbURL, driver, dsn string
	switch cfg.store {
	case "postgres":
		name := fmt.Sprintf("nightshift_chaos_%d", time.Now().UnixNano())
		if dbURL, err = createDatabase(ctx, cfg.serverURL, name); err != nil {
			return nil, err
		}
		res.database = name
		if !cfg.keep {
			defer func() {
				if e := dropDatabase(cfg.serverURL, name); e != nil && err == nil {
					err = e
				}
			}()
		}
		driver, dsn = "pgx", dbURL
	case "sqlite":
		path := filepath.Join(dir, "nightshift.db")
		dbURL, driver, dsn = "sqlite:"+path, "sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)"
	}
	if out, err := exec.CommandContext(ctx, cfg.bin, "migrate", "--data", filepath.Join(dir, "migrate"), "--db", dbURL).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("migrating: %w: %s", err, out)
	}

	opKey := service.NewKey(service.OperatorKeyPrefix)
	env := []string{"NIGHTSHIFT_RATE_LIMIT=off", "NIGHTSHIFT_OPERATOR_KEY=" + opKey}
	var procs []*coordProc
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	for i := range cfg.coordinators {
		name := "coordinator-" + strconv.Itoa(i+1)
		p, err := newCoordProc(name, cfg.bin, dir, env, "--data", filepath.Join(dir, name), "--db", dbURL)
		if err != nil {
			return nil, err
		}
		if err := p.start(ctx); err != nil {
			return nil, err
		}
		procs = append(procs, p)
	}

	// A proxy in front of each coordinator; the hosts reach them only
	// through these.
	var proxyURLs []string
	for _, p := range procs {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("listening for a proxy: %w", err)
		}
		dp := newDropProxy(p.addr, cfg.dropRate)
		srv := &http.Server{Handler: dp, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(l) }()
		defer srv.Close()
		res.proxies = append(res.proxies, dp)
		proxyURLs = append(proxyURLs, "http://"+l.Addr().String())
	}

	direct := &http.Client{Timeout: 30 * time.Second}
	operator := client.New("http://"+procs[0].addr, opKey, direct)
	fx, err := setup(ctx, cfg, operator, log)
	if err != nil {
		return nil, err
	}
	res.snap.funding = fx.funding
	res.setup = time.Since(start)
	log.Info("set up", "units", cfg.units, "hosts", cfg.hosts, "contributors", cfg.contributors, "job", fx.job, "seconds", res.setup.Seconds())

	// The chaos: hosts through the proxies, and a killer.
	obs := newObserver(cfg)
	res.obs = obs
	hostHTTP := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	hostCtx, stopHosts := context.WithCancel(ctx)
	defer stopHosts()
	var done atomic.Bool
	var hostsWG sync.WaitGroup
	for i, h := range fx.hosts {
		sh := &simHost{id: h.ID, idx: i, obs: obs, coord: i % len(proxyURLs),
			liar:   i%10 == 3 && cfg.liars > 0,
			mortal: i%5 == 1 && cfg.mortals > 0,
			rng:    rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))}
		for _, u := range proxyURLs {
			sh.clients = append(sh.clients, client.New(u, h.HostToken, hostHTTP))
		}
		hostsWG.Go(func() { sh.run(hostCtx, &done) })
	}
	chaosStart := time.Now()
	killCtx, stopKiller := context.WithCancel(ctx)
	var kills atomic.Int64
	killerErr := make(chan error, 1)
	go func() { killerErr <- killer(killCtx, cfg, procs, &kills, log) }()

	waitErr := waitForJob(ctx, cfg, procs, opKey, fx, chaosStart, log)
	done.Store(true)
	stopKiller()
	kerr := <-killerErr
	stopHosts()
	hostsWG.Wait()
	res.chaos = time.Since(chaosStart)
	res.kills = kills.Load()
	for _, p := range procs {
		res.restarts += p.starts - 1
	}
	if kerr != nil {
		return nil, kerr
	}
	if waitErr != nil {
		keepDir = true
		return nil, waitErr
	}

	if res.audit, err = operator.LedgerAudit(ctx); err != nil {
		return nil, fmt.Errorf("auditing the ledger: %w", err)
	}
	for _, p := range procs {
		p.stop()
	}
	procs = nil

	db, err := openDB(driver, dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if res.snap, err = load(ctx, db, fx.funding); err != nil {
		return nil, err
	}
	res.violations = checkAll(res.snap, obs)
	if !res.audit.Balanced {
		res.violations.add("(3) the ledger balances and equals the task states", "GET /api/v1/ledger/audit: %+v", res.audit)
	}
	if n := obs.unexpected.Load(); n > 0 {
		for _, s := range obs.unexpectedSamples {
			res.violations.add("(5) the hosts saw nothing unexpected", "%s", s)
		}
	}
	if cfg.store == "postgres" && cfg.units*2 > len(res.snap.tasks) {
		res.violations.add("(0) the run is as big as asked", "%d tasks for %d units", len(res.snap.tasks), cfg.units)
	}
	res.total = time.Since(start)
	return res, nil
}

// killer SIGKILLs a coordinator every killMin to killMax and starts it
// again on the same address after a short pause, until ctx ends; it
// always leaves every coordinator running.
func killer(ctx context.Context, cfg config, procs []*coordProc, kills *atomic.Int64, log *slog.Logger) error {
	for {
		wait := cfg.killMin + time.Duration(rand.Int64N(int64(cfg.killMax-cfg.killMin)+1))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		p := procs[rand.IntN(len(procs))]
		if err := p.kill(); err != nil {
			return err
		}
		kills.Add(1)
		time.Sleep(time.Duration(200+rand.IntN(1300)) * time.Millisecond)
		var err error
		for range 3 {
			if err = p.start(context.WithoutCancel(ctx)); err == nil {
				break
			}
			log.Warn("restart failed; trying again", "coordinator", p.name, "err", err)
		}
		if err != nil {
			return fmt.Errorf("restarting %s: %w", p.name, err)
		}
	}
}

// waitForJob polls the job, straight from whichever coordinator answers,
// until it is done or the run's timeout passes.
func waitForJob(ctx context.Context, cfg config, procs []*coordProc, opKey string, fx *fixture, start time.Time, log *slog.Logger) error {
	hc := &http.Client{Timeout: 10 * time.Second}
	lastLog := time.Now()
	var last api.Job
	for i := 0; ; i++ {
		p := procs[i%len(procs)]
		j, err := client.New("http://"+p.addr, fx.projectKey, hc).Job(ctx, fx.job)
		if err == nil {
			last = j
			if j.State == "done" {
				log.Info("job done", "seconds", time.Since(start).Seconds())
				return nil
			}
		}
		if time.Since(lastLog) >= 10*time.Second && last.Progress != nil {
			lastLog = time.Now()
			log.Info("progress", "seconds", int(time.Since(start).Seconds()), "units", last.Progress.Units, "outcomes", last.Progress.Outcomes)
		}
		if time.Since(start) > cfg.timeout {
			b, _ := json.Marshal(last.Progress)
			return fmt.Errorf("the job was not done after %s (the timeout); last progress %s", cfg.timeout, b)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// fixture is what setup made.
type fixture struct {
	projectKey string
	job        int64
	funding    int64
	hosts      []api.Host
}

// setup makes, straight on the first coordinator, a funded project with an
// app, the contributors and their hosts, and the job.
func setup(ctx context.Context, cfg config, operator *client.Client, log *slog.Logger) (*fixture, error) {
	p, err := operator.CreateProject(ctx, "chaos")
	if err != nil {
		return nil, fmt.Errorf("creating the project: %w", err)
	}
	fx := &fixture{projectKey: p.APIKey}
	project := operator.WithKey(p.APIKey)
	signer, err := operator.EnrollSigner(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("setting the signing key: %w", err)
	}
	if _, err := signer.Upload(ctx, project, "chaos", emptyModule); err != nil {
		return nil, fmt.Errorf("uploading the app: %w", err)
	}
	policy := jobPolicy(cfg)
	if fx.funding, err = payouts.EscrowFor(cfg.units, policy.MaxTotalReplicas, reward); err != nil {
		return nil, err
	}
	if _, err := operator.FundProject(ctx, p.ID, api.FundRequest{AmountMicros: fx.funding, IdempotencyKey: "chaos"}); err != nil {
		return nil, fmt.Errorf("funding the project: %w", err)
	}
	anon := operator.WithKey("")
	accounts := make([]*client.Client, cfg.contributors)
	for i := range accounts {
		c, err := anon.CreateContributor(ctx, "chaos volunteer "+strconv.Itoa(i))
		if err != nil {
			return nil, fmt.Errorf("creating contributor %d: %w", i, err)
		}
		accounts[i] = operator.WithKey(c.AccountKey)
	}
	for i := range cfg.hosts {
		h, err := accounts[i%len(accounts)].RegisterHost(ctx, api.RegisterHostRequest{Name: "chaos host " + strconv.Itoa(i), Platform: "chaos", Cores: 4})
		if err != nil {
			return nil, fmt.Errorf("registering host %d: %w", i, err)
		}
		fx.hosts = append(fx.hosts, h)
	}
	inputs := make([]json.RawMessage, cfg.units)
	for i := range inputs {
		inputs[i] = json.RawMessage(strconv.Itoa(i))
	}
	job, err := project.SubmitJob(ctx, api.SubmitJobRequest{App: "chaos", Units: inputs, Policy: policy, RewardMicros: reward})
	if err != nil {
		return nil, fmt.Errorf("submitting the job: %w", err)
	}
	fx.job = job.ID
	return fx, nil
}

// jobPolicy: quorum 2 of 2 replicas, 3 failed replicas tolerated, at most
// 6 replicas, and a deadline of a few seconds so that tasks held by dead
// hosts are soon reissued.
func jobPolicy(cfg config) api.Policy {
	return api.Policy{MinQuorum: 2, TargetReplicas: 2, MaxErrorReplicas: 3, MaxTotalReplicas: 6, DeadlineSeconds: int(cfg.deadline / time.Second)}
}

// createDatabase makes an empty database on the server and returns its URL.
func createDatabase(ctx context.Context, serverURL, name string) (string, error) {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return "", fmt.Errorf("connecting to PostgreSQL at NIGHTSHIFT_TEST_DATABASE_URL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	u, err := url.Parse(serverURL)
	if err != nil {
		return "", fmt.Errorf("parsing NIGHTSHIFT_TEST_DATABASE_URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func dropDatabase(serverURL, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("connecting to drop database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("dropping database %s: %w", name, err)
	}
	return nil
}
