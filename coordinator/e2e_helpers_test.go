package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/appbuild"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/daemon"
	"github.com/nightshift-platform/nightshift/coordinator/daemon/daemontest"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/worker/agent"
	"github.com/nightshift-platform/nightshift/worker/sandbox"
)

// built holds programs compiled once per test binary.
var built struct {
	once    sync.Once
	dir     string
	markers []byte
	worker  string
	err     error
}

func buildPrograms(t *testing.T) (markersWasm []byte, workerBin string) {
	t.Helper()
	built.once.Do(func() {
		ctx := context.Background()
		built.dir, built.err = os.MkdirTemp("", "nightshift-e2e-")
		if built.err != nil {
			return
		}
		wasm := filepath.Join(built.dir, "markers.wasm")
		if built.err = appbuild.Wasm(ctx, appbuild.MarkersApp, wasm); built.err != nil {
			return
		}
		if built.markers, built.err = os.ReadFile(wasm); built.err != nil {
			return
		}
		built.worker = filepath.Join(built.dir, "worker")
		built.err = appbuild.Native(ctx, appbuild.Worker, built.worker)
	})
	if built.err != nil {
		t.Fatalf("building programs: %v", built.err)
	}
	return built.markers, built.worker
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// bundle is a running coordinator with a funded project and the markers app.
type bundle struct {
	coord    *daemon.Coordinator
	operator *client.Client
	research *client.Client
	project  api.Project
	signer   *client.Signer // the project's signing key
	dbPath   string         // the coordinator's SQLite database
}

func setup(t *testing.T) *bundle {
	t.Helper()
	ctx := context.Background()
	markers, _ := buildPrograms(t)
	opKey := service.NewKey(service.OperatorKeyPrefix)
	dbPath := filepath.Join(t.TempDir(), "test.db")
	coord := daemontest.Start(t, daemon.Config{DB: "sqlite:" + dbPath, OperatorKey: opKey,
		BackgroundInterval: 100 * time.Millisecond})
	b := &bundle{coord: coord, operator: client.New(coord.URL, opKey, nil), dbPath: dbPath}
	var err error
	if b.project, err = b.operator.CreateProject(ctx, "test lab"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.operator.FundProject(ctx, b.project.ID, api.FundRequest{AmountMicros: 10_000_000, IdempotencyKey: "t"}); err != nil {
		t.Fatal(err)
	}
	b.research = b.operator.WithKey(b.project.APIKey)
	if b.signer, err = b.operator.EnrollSigner(ctx, b.project.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.signer.Upload(ctx, b.research, "markers", markers); err != nil {
		t.Fatal(err)
	}
	return b
}

// submit submits a markers job with one unit per input.
func (b *bundle) submit(t *testing.T, policy api.Policy, reward int64, inputs ...string) api.Job {
	t.Helper()
	units := make([]json.RawMessage, len(inputs))
	for i, in := range inputs {
		units[i] = json.RawMessage(in)
	}
	job, err := b.research.SubmitJob(context.Background(), api.SubmitJobRequest{App: "markers", Units: units, Policy: policy, RewardMicros: reward})
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// contributor signs up a contributor and returns a client with its account key.
func (b *bundle) contributor(t *testing.T, name string) *client.Client {
	t.Helper()
	c, err := b.operator.WithKey("").CreateContributor(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return b.operator.WithKey(c.AccountKey)
}

// host attaches a host for the contributor and returns a client with its token.
func (b *bundle) host(t *testing.T, account *client.Client, name string) *client.Client {
	t.Helper()
	h, err := account.RegisterHost(context.Background(), api.RegisterHostRequest{Name: name, Platform: "test/amd64", Cores: 2})
	if err != nil {
		t.Fatal(err)
	}
	return account.WithKey(h.HostToken)
}

// startAgent runs an in-process worker agent for host until the test ends;
// transform, if not nil, changes each result before it is reported.
func startAgent(t *testing.T, host *client.Client, transform func(agent.Result) agent.Result) {
	t.Helper()
	startAgentIn(t, host, t.TempDir(), transform)
}

// startAgentIn is startAgent with the agent's state directory given.
func startAgentIn(t *testing.T, host *client.Client, stateDir string, transform func(agent.Result) agent.Result) *agent.Agent {
	t.Helper()
	return startAgentWith(t, agent.Config{Client: host, StateDir: stateDir, Transform: transform})
}

// startAgentWith runs an agent configured by cfg, with the test's sandbox,
// a short idle wait and no log, until the test ends.
func startAgentWith(t *testing.T, cfg agent.Config) *agent.Agent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	cfg.Executor, cfg.MaxIdleWait = agent.InProcess{Sandbox: box(t)}, 200*time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	a := agent.New(cfg)
	go func() {
		defer close(done)
		if err := a.Run(ctx); err != nil {
			t.Errorf("agent: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return a
}

var sharedSandbox struct {
	once sync.Once
	box  *sandbox.Sandbox
	err  error
}

// box returns one sandbox for the whole test binary, so the markers module
// is compiled once.
func box(t *testing.T) *sandbox.Sandbox {
	t.Helper()
	sharedSandbox.once.Do(func() {
		sharedSandbox.box, sharedSandbox.err = sandbox.New(context.Background(), sandbox.Config{})
	})
	if sharedSandbox.err != nil {
		t.Fatal(sharedSandbox.err)
	}
	return sharedSandbox.box
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *bundle) job(t *testing.T, id int64) api.Job {
	t.Helper()
	j, err := b.research.Job(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (b *bundle) results(t *testing.T, jobID int64) []api.Result {
	t.Helper()
	var out []api.Result
	if err := b.research.Results(context.Background(), jobID, func(r api.Result) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func (b *bundle) audit(t *testing.T) api.LedgerAudit {
	t.Helper()
	a, err := b.operator.LedgerAudit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !a.Balanced {
		t.Errorf("ledger does not balance: %+v", a)
	}
	return a
}

func earnings(t *testing.T, account *client.Client) api.Earnings {
	t.Helper()
	e, err := account.Earnings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return e
}
