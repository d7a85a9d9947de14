package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/daemon"
	"github.com/nightshift-platform/nightshift/coordinator/daemon/daemontest"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/store/postgres/pgtest"
)

// emptyModule is the smallest valid WebAssembly module. The hosts here
// never run it: they answer from a table, so that the coordinators, not
// the computation, are what is tested.
var emptyModule = []byte("\x00asm\x01\x00\x00\x00")

// TestTwoCoordinatorsShareOneJob runs one job through two coordinators on
// one PostgreSQL database. Simulated hosts send every request to either
// coordinator at random; one host lies, one sometimes sits on a task past
// its one-second deadline, so both coordinators' sweepers expire tasks
// while reports for the same units arrive. It checks what the issue asks:
// no task leased twice, no unit over its replica limit or given twice to
// one contributor, no task credited twice, and every unit's canonical
// output the true one.
func TestTwoCoordinatorsShareOneJob(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewSchema(t)
	opKey := service.NewKey(service.OperatorKeyPrefix)
	var coords []*client.Client
	for range 2 {
		c := daemontest.Start(t, daemon.Config{DB: dbURL, OperatorKey: opKey, BackgroundInterval: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))})
		coords = append(coords, client.New(c.URL, opKey, nil))
	}

	const (
		units     = 200
		reward    = 10
		funding   = 1_000_000
		maxTotal  = 6
		hostsEach = 2
	)
	project, err := coords[0].CreateProject(ctx, "two coordinators")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := coords[1].FundProject(ctx, project.ID, api.FundRequest{AmountMicros: funding, IdempotencyKey: "f"}); err != nil {
		t.Fatal(err)
	}
	signer, err := coords[1].EnrollSigner(ctx, project.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := signer.Upload(ctx, coords[0].WithKey(project.APIKey), "table", emptyModule); err != nil {
		t.Fatal(err)
	}
	inputs := make([]json.RawMessage, units)
	for i := range inputs {
		inputs[i] = json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))
	}
	job, err := coords[1].WithKey(project.APIKey).SubmitJob(ctx, api.SubmitJobRequest{App: "table", Units: inputs,
		Policy:       api.Policy{MinQuorum: 2, TargetReplicas: 2, MaxErrorReplicas: 3, MaxTotalReplicas: maxTotal, DeadlineSeconds: 1},
		RewardMicros: reward})
	if err != nil {
		t.Fatal(err)
	}

	// Six contributors with two hosts each; each host's token works on
	// either coordinator.
	type simHost struct {
		id      int
		tokens  [2]*client.Client
		liar    bool // returns a wrong output for a third of its tasks
		sleeper bool // sometimes reports after its deadline
	}
	var hosts []simHost
	for c := range 6 {
		contributor, err := coords[c%2].WithKey("").CreateContributor(ctx, fmt.Sprintf("volunteer %d", c))
		if err != nil {
			t.Fatal(err)
		}
		for h := range hostsEach {
			reg, err := coords[h%2].WithKey(contributor.AccountKey).RegisterHost(ctx,
				api.RegisterHostRequest{Name: fmt.Sprintf("pc-%d-%d", c, h), Platform: "test/amd64", Cores: 2})
			if err != nil {
				t.Fatal(err)
			}
			id := len(hosts)
			hosts = append(hosts, simHost{id: id, tokens: [2]*client.Client{coords[0].WithKey(reg.HostToken), coords[1].WithKey(reg.HostToken)},
				liar: id == 0, sleeper: id == 3})
		}
	}

	var (
		mu       sync.Mutex
		leasedTo = map[int64]int{} // task → host
		problems []string
	)
	noteProblem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	runCtx, stop := context.WithTimeout(ctx, 2*time.Minute)
	defer stop()
	var wg sync.WaitGroup
	for _, h := range hosts {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(h.id), 7))
			for runCtx.Err() == nil {
				work, err := h.tokens[rng.IntN(2)].RequestWork(runCtx, 1+rng.IntN(8))
				if err != nil {
					// The liar may be blocked for three wrong results in a row.
					if runCtx.Err() == nil && !(h.liar && client.StatusOf(err) == 403) {
						noteProblem("host %d: asking for work: %v", h.id, err)
					}
					return
				}
				if len(work.Tasks) == 0 {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				mu.Lock()
				for _, task := range work.Tasks {
					if other, ok := leasedTo[task.ID]; ok {
						problems = append(problems, fmt.Sprintf("task %d leased to host %d and again to host %d", task.ID, other, h.id))
					}
					leasedTo[task.ID] = h.id
				}
				mu.Unlock()
				if h.sleeper && rng.IntN(4) == 0 {
					time.Sleep(1200 * time.Millisecond) // past the deadline: the report must be refused or the task swept
				}
				reports := make([]api.Report, len(work.Tasks))
				for i, task := range work.Tasks {
					out := trueOutput(task.Input)
					if h.liar && rng.IntN(3) == 0 {
						out = []byte(fmt.Sprintf("wrong %d", rng.Uint64()))
					}
					reports[i] = api.Report{TaskID: task.ID, Outcome: "success", Output: out, CPUSeconds: 0.01}
				}
				// One by one, to either coordinator: a late report is
				// refused alone, and reports of one unit race each other.
				for _, r := range reports {
					_, err := h.tokens[rng.IntN(2)].Report(runCtx, []api.Report{r})
					if err != nil && client.StatusOf(err) != 409 && runCtx.Err() == nil {
						noteProblem("host %d: reporting task %d: %v", h.id, r.TaskID, err)
					}
				}
			}
		})
	}
	waitFor(t, 90*time.Second, "the job to finish", func() bool {
		j, err := coords[0].WithKey(project.APIKey).Job(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		return j.State == "done"
	})
	stop()
	wg.Wait()
	for _, p := range problems {
		t.Error(p)
	}

	// The database itself, through a connection of our own.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	scalar := func(query string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	if n := scalar(`SELECT count(*) FROM (SELECT unit_id FROM tasks GROUP BY unit_id HAVING count(*) > $1) x`, maxTotal); n > 0 {
		t.Errorf("%d units have more than %d replicas", n, maxTotal)
	}
	if n := scalar(`SELECT count(*) FROM (SELECT t.unit_id FROM tasks t JOIN hosts h ON h.id = t.host_id
		GROUP BY t.unit_id, h.contributor_id HAVING count(*) > 1) x`); n > 0 {
		t.Errorf("%d units were given twice to one contributor", n)
	}
	if n := scalar(`SELECT count(*) FROM tasks WHERE state = 'in_progress'`); n > 0 {
		t.Errorf("%d tasks still in progress after the job finished", n)
	}
	if n := scalar(`SELECT count(*) FROM units WHERE state <> 'done'`); n > 0 {
		t.Errorf("%d units not done", n)
	}
	if n := scalar(`SELECT count(*) FROM units u JOIN tasks c ON c.id = u.canonical_task_id
		WHERE c.output <> sha256(u.input)`); n > 0 {
		t.Errorf("%d units have a wrong canonical output", n)
	}
	valid := scalar(`SELECT count(*) FROM tasks WHERE validate_state = 'valid'`)
	rewards := scalar(`SELECT count(*) FROM ledger_transactions WHERE key LIKE 'post:task:%'`)
	if valid < 2*units || rewards != valid {
		t.Errorf("%d valid tasks, %d posts; want one per valid task, at least %d", valid, rewards, 2*units)
	}
	// Every reported success was reserved, and every reservation posted
	// or voided: nothing is left pending.
	successes := scalar(`SELECT count(*) FROM tasks WHERE outcome = 'success'`)
	if reserves, voids := scalar(`SELECT count(*) FROM ledger_transactions WHERE key LIKE 'reserve:task:%'`),
		scalar(`SELECT count(*) FROM ledger_transactions WHERE key LIKE 'void:task:%'`); reserves != successes || reserves != rewards+voids {
		t.Errorf("%d successes, %d reserves, %d posts, %d voids; want a reserve per success, posted or voided", successes, reserves, rewards, voids)
	}
	if n := scalar(`SELECT count(*) FROM ledger_balances WHERE account LIKE '%:pending' AND balance <> 0`); n > 0 {
		t.Errorf("%d contributors still have money pending after the job", n)
	}
	// Keys are unique, so counting them cannot find a task paid twice; the
	// money can. Each valid task's contributor must have received exactly
	// one reward from it, and nothing else may have received a reward.
	if n := scalar(`SELECT count(*) FROM tasks t JOIN hosts h ON h.id = t.host_id
		WHERE t.validate_state = 'valid' AND (SELECT coalesce(sum(e.amount), 0) FROM ledger_transactions lt
			JOIN ledger_entries e ON e.transaction_id = lt.id
			WHERE lt.key = 'post:task:' || t.id AND e.account = 'contributor:' || h.contributor_id || ':available') <> $1`, reward); n > 0 {
		t.Errorf("%d valid tasks were not paid exactly one reward", n)
	}
	if n := scalar(`SELECT count(*) FROM ledger_transactions lt JOIN ledger_entries e ON e.transaction_id = lt.id
		WHERE lt.key LIKE 'post:task:%' AND e.amount > 0`); n != valid {
		t.Errorf("posts credit %d accounts, want one per valid task (%d)", n, valid)
	}
	// Every contributor holds exactly the rewards of their valid tasks.
	if n := scalar(`SELECT count(*) FROM contributors c
		LEFT JOIN ledger_balances b ON b.account = 'contributor:' || c.id || ':available'
		WHERE coalesce(b.balance, 0) <> $1 * (SELECT count(*) FROM tasks t JOIN hosts h ON h.id = t.host_id
			WHERE h.contributor_id = c.id AND t.validate_state = 'valid')`, reward); n > 0 {
		t.Errorf("%d contributors' balances differ from their valid tasks' rewards", n)
	}
	p, err := coords[1].WithKey(project.APIKey).Project(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := funding - reward*valid; p.BudgetMicros != want {
		t.Errorf("project budget after the job = %d, want %d (funding less %d paid tasks)", p.BudgetMicros, want, valid)
	}
	audit, err := coords[0].LedgerAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !audit.Balanced {
		t.Errorf("ledger audit: %+v", audit)
	}
	t.Logf("%d tasks leased, %d valid, %d invalid or late", len(leasedTo), valid,
		scalar(`SELECT count(*) FROM tasks WHERE validate_state = 'invalid' OR outcome = 'no_reply'`))
}

func trueOutput(input []byte) []byte {
	sum := sha256.Sum256(input)
	return sum[:]
}
