package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/worker/agent"
	"github.com/nightshift-platform/nightshift/workunits"
	"github.com/nightshift-platform/nightshift/workunits/markers"
)

// tamper makes every output wrong, like a faulty host.
func tamper(r agent.Result) agent.Result {
	r.Stdout = append([]byte("tampered:"), r.Stdout...)
	return r
}

// nativeOutput is what the markers app must print for an input.
func nativeOutput(t *testing.T, input string) []byte {
	t.Helper()
	d, err := markers.LoadDataset()
	if err != nil {
		t.Fatal(err)
	}
	var in markers.Input
	if err := json.Unmarshal([]byte(input), &in); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(markers.Run(d, in))
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestWrongOutputIsRejectedAndUnpaid(t *testing.T) {
	b := setup(t)
	const reward = 1000
	inputs := []string{`{"k":2,"seed":1,"n":200}`, `{"k":3,"seed":2,"n":200}`, `{"k":5,"seed":3,"n":200}`}
	job := b.submit(t, api.Policy{MinQuorum: 2, TargetReplicas: 2, DeadlineSeconds: 60}, reward, inputs...)

	mallory := b.contributor(t, "Mallory")
	badAgent := startAgentIn(t, b.host(t, mallory, "bad-pc"), t.TempDir(), tamper)
	// The bad host takes one replica of every unit (never two of one unit)
	// and reports wrong outputs before any honest host runs.
	waitFor(t, 60*time.Second, "the bad host's reports", func() bool {
		return b.job(t, job.ID).Progress.Outcomes[string(workunits.OutcomeSuccess)] == len(inputs)
	})
	if got := b.job(t, job.ID).Progress.Units[string(workunits.UnitDone)]; got != 0 {
		t.Fatalf("%d units validated on one host's outputs", got)
	}

	ada, grace := b.contributor(t, "Ada"), b.contributor(t, "Grace")
	adaPC := b.host(t, ada, "ada-pc")
	const adaSpeed = 2.5e9 // Whetstone instructions per second
	startAgentWith(t, agent.Config{Client: adaPC, StateDir: t.TempDir(), OpsPerSecond: adaSpeed})
	startAgent(t, b.host(t, grace, "grace-pc"), nil)
	waitFor(t, 60*time.Second, "the job to finish", func() bool { return b.job(t, job.ID).State == string(workunits.JobDone) })

	final := b.job(t, job.ID)
	if final.Progress.Units[string(workunits.UnitDone)] != len(inputs) {
		t.Fatalf("units = %v, want all %d done", final.Progress.Units, len(inputs))
	}
	if got := final.Progress.Validations[string(workunits.ValidateInvalid)]; got != len(inputs) {
		t.Errorf("invalid outputs = %d, want %d (one per unit from the bad host)", got, len(inputs))
	}
	for i, r := range b.results(t, job.ID) {
		if want := nativeOutput(t, inputs[i]); !bytes.Equal(r.Output, want) {
			t.Errorf("unit %d canonical output = %.60q…, want the correct output %.60q…", i, r.Output, want)
		}
	}
	// The worker's benchmark reaches the coordinator with its work requests.
	if st, err := b.operator.HostStanding(context.Background(), earnings(t, ada).Hosts[0].HostID); err != nil ||
		st.OpsPerSecond == nil || *st.OpsPerSecond != adaSpeed {
		t.Errorf("Ada's host standing = %+v, %v; want ops_per_second %g", st, err, adaSpeed)
	}
	// Three invalid results in a row block the bad host, and its worker
	// says so in its status.
	waitFor(t, 30*time.Second, "the bad host's worker to see it is blocked", func() bool { return badAgent.Status().Blocked != nil })
	if b := badAgent.Status().Blocked; !strings.Contains(b.Reason, "blocked") || !b.RetryAt.After(b.Since) {
		t.Errorf("blocked status = %+v, want the coordinator's reason and a later retry", b)
	}
	bad := earnings(t, mallory)
	if bad.AvailableMicros != 0 || bad.PendingMicros != 0 || bad.Hosts[0].TasksInvalid != len(inputs) || bad.Hosts[0].TasksValid != 0 {
		t.Errorf("the bad host's contributor: %+v, want nothing earned and %d invalid", bad, len(inputs))
	}
	good := earnings(t, ada).AvailableMicros + earnings(t, grace).AvailableMicros
	// worker status shows earnings with the host's token alone.
	// Recent average credit decays as it is read, and the running agents
	// keep touching their hosts' last contact: compare the rest.
	withoutRAC := func(e api.Earnings) api.Earnings {
		e.RAC, e.Hosts = 0, slices.Clone(e.Hosts)
		for i := range e.Hosts {
			e.Hosts[i].RAC, e.Hosts[i].LastContactAt = 0, nil
		}
		return e
	}
	if e, err := adaPC.HostEarnings(context.Background()); err != nil || !reflect.DeepEqual(withoutRAC(e), withoutRAC(earnings(t, ada))) {
		t.Errorf("earnings by host token = %+v, %v; want the owner's %+v", e, err, earnings(t, ada))
	}
	if want := int64(2 * len(inputs) * reward); good != want {
		t.Errorf("honest contributors earned %d, want %d (two valid results per unit)", good, want)
	}
	b.audit(t)
	proj, err := b.research.Project(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if spent := 10_000_000 - proj.BudgetMicros; spent != int64(2*len(inputs)*reward) {
		t.Errorf("project spent %d, want exactly what was paid (escrow released): %d", spent, 2*len(inputs)*reward)
	}
}

func TestKilledWorkerTaskIsReissuedAfterDeadline(t *testing.T) {
	b := setup(t)
	_, workerBin := buildPrograms(t)
	input := `{"k":8,"seed":7,"n":2000}`
	job := b.submit(t, api.Policy{MinQuorum: 2, TargetReplicas: 2, DeadlineSeconds: 2}, 500, input)

	// A real worker process leases a task; it is killed before it can report.
	acct, err := b.operator.WithKey("").CreateContributor(context.Background(), "Crash")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(workerBin, "run", "--coordinator", b.coord.URL, "--account-key", acct.AccountKey,
		"--idle-minutes", "0", "--max-other-cpu", "100", "--run-on-battery",
		"--state", t.TempDir(), "--name", "doomed-pc")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the worker to lease a task", func() bool {
		return b.job(t, job.ID).Progress.Tasks[string(workunits.TaskInProgress)] == 1
	})
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if got := b.job(t, job.ID).Progress.Outcomes[string(workunits.OutcomeSuccess)]; got != 0 {
		t.Fatalf("the killed worker reported %d results before dying; logs:\n%s", got, logs.String())
	}

	// Two other hosts finish the unit once the dead host's deadline passes.
	startAgent(t, b.host(t, b.contributor(t, "Ada"), "ada-pc"), nil)
	startAgent(t, b.host(t, b.contributor(t, "Grace"), "grace-pc"), nil)
	waitFor(t, 60*time.Second, "the job to finish", func() bool { return b.job(t, job.ID).State == string(workunits.JobDone) })

	final := b.job(t, job.ID)
	if final.Progress.Outcomes[string(workunits.OutcomeNoReply)] != 1 {
		t.Errorf("outcomes = %v, want the killed worker's task as no_reply", final.Progress.Outcomes)
	}
	if final.Progress.Units[string(workunits.UnitDone)] != 1 {
		t.Errorf("units = %v, want the unit done", final.Progress.Units)
	}
	if r := b.results(t, job.ID); !bytes.Equal(r[0].Output, nativeOutput(t, input)) {
		t.Errorf("canonical output is not the correct one")
	}
	if e := earnings(t, b.operator.WithKey(acct.AccountKey)); e.AvailableMicros != 0 {
		t.Errorf("the killed worker's contributor earned %d", e.AvailableMicros)
	}
	b.audit(t)
}

func TestDemoJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"demo", "--json", "--seeds", "2", "--signatures", "300"},
		func(string) string { return "" }, &stdout, &stderr)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var sum struct {
		Units          int                 `json:"units"`
		UnitsValidated int                 `json:"units_validated"`
		LedgerBalanced bool                `json:"ledger_balanced"`
		BestSignatures []markers.Signature `json:"best_signatures"`
		Contributors   []struct {
			Name         string `json:"name"`
			EarnedMicros int64  `json:"earned_micros"`
		} `json:"contributors"`
	}
	dec := json.NewDecoder(strings.NewReader(lines[len(lines)-1]))
	if err := dec.Decode(&sum); err != nil {
		t.Fatalf("last line of stdout is not the summary object: %v\n%s", err, stdout.String())
	}
	if sum.Units != 10 || sum.UnitsValidated != 10 || !sum.LedgerBalanced {
		t.Errorf("summary: %d/%d validated, balanced %v", sum.UnitsValidated, sum.Units, sum.LedgerBalanced)
	}
	if len(sum.BestSignatures) == 0 || sum.BestSignatures[0].Score < 30 {
		t.Errorf("best signatures = %+v", sum.BestSignatures)
	}
	if len(sum.Contributors) < 2 {
		t.Errorf("contributors = %+v, want at least two", sum.Contributors)
	}
}
