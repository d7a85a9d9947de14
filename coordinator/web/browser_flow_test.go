package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/appbuild"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/signing"
	"github.com/nightshift-platform/nightshift/payouts"
	"github.com/nightshift-platform/nightshift/workunits"
)

// The flow a contributor goes through, in the browser, against a real
// worker process: sign up, attach a PC with the key shown, let it compute,
// see the earnings and their chart, download the statement, change a
// preference on the web and see the worker take it up. Screenshots of every
// page go to the test's artifact directory.

// flowReward is what one valid task earns the contributor, before the fee.
const flowReward = 2_500

// flowInputs are the job's units: small, so that the worker takes seconds.
var flowInputs = []string{`{"k":1,"seed":1,"n":200}`, `{"k":2,"seed":2,"n":200}`, `{"k":3,"seed":3,"n":200}`}

// researchProject is a funded project with the markers app uploaded and
// signed, and a client holding its key.
type researchProject struct {
	project  workunits.Project
	research *client.Client
}

// buildFlowPrograms builds the worker and the markers app into dir.
func buildFlowPrograms(t *testing.T, dir string) (workerBin string, markersWasm []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	wasm := filepath.Join(dir, "markers.wasm")
	if err := appbuild.Wasm(ctx, appbuild.MarkersApp, wasm); err != nil {
		t.Fatalf("building the markers app: %v", err)
	}
	workerBin = filepath.Join(dir, "worker")
	if err := appbuild.Native(ctx, appbuild.Worker, workerBin); err != nil {
		t.Fatalf("building the worker: %v", err)
	}
	module, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	return workerBin, module
}

// newResearchProject makes a funded project whose signing key the test
// holds, and uploads the markers module signed with it.
func newResearchProject(t *testing.T, b *browser, name string, module []byte) researchProject {
	t.Helper()
	ctx := t.Context()
	priv, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	p, key, err := b.coord.Service.CreateProjectWith(ctx, service.NewProject{Name: name, SigningKey: signing.PublicKey(priv)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.coord.Service.FundProject(ctx, p.ID, 10_000_000, "flow-grant"); err != nil {
		t.Fatal(err)
	}
	research := client.New(b.coord.URL, key, nil)
	if _, err := (&client.Signer{Key: priv}).Upload(ctx, research, "markers", module); err != nil {
		t.Fatalf("uploading the signed markers app: %v", err)
	}
	return researchProject{project: p, research: research}
}

// submit submits a markers job of one unit per input; quorum 1, so that one
// host validates it alone.
func (rp researchProject) submit(t *testing.T, inputs ...string) api.Job {
	t.Helper()
	units := make([]json.RawMessage, len(inputs))
	for i, in := range inputs {
		units[i] = json.RawMessage(in)
	}
	job, err := rp.research.SubmitJob(t.Context(), api.SubmitJobRequest{App: "markers", Units: units,
		Policy: api.Policy{MinQuorum: 1, TargetReplicas: 1, DeadlineSeconds: 300}, RewardMicros: flowReward})
	if err != nil {
		t.Fatalf("submitting a job: %v", err)
	}
	return job
}

// waitJobDone polls the job until it is done.
func (rp researchProject) waitJobDone(t *testing.T, jobID int64, workerLog string) api.Job {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		job, err := rp.research.Job(t.Context(), jobID)
		if err != nil {
			t.Fatal(err)
		}
		if job.State == string(workunits.JobDone) {
			return job
		}
		if time.Now().After(deadline) {
			logText, _ := os.ReadFile(workerLog)
			t.Fatalf("job %d not done after 3 minutes: %+v\nworker log:\n%s", jobID, job.Progress, logText)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// startWorker runs `worker run` attached with accountKey, computing now
// whatever this machine is doing (as the demo's workers do), telling the
// coordinator its state every second. It stops when the test ends.
func startWorker(t *testing.T, workerBin, coordURL, accountKey, stateDir, name string) (logPath string) {
	t.Helper()
	logPath = filepath.Join(t.ArtifactDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(workerBin, "run", "--coordinator", coordURL, "--account-key", accountKey, "--state", stateDir,
		"--name", name, "--contact-every", "1s",
		"--idle-minutes", "0", "--suspend-on-input=false", "--max-other-cpu", "100", "--run-on-battery", "--slots", "1")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the worker: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return logPath
}

// workerStatus is what `worker status --json` says of web preferences.
type workerStatus struct {
	HostID int64 `json:"host_id"`
	Web    *struct {
		Version     int64                    `json:"version"`
		Preferences workunits.WebPreferences `json:"preferences"`
		FromWeb     []string                 `json:"from_web"`
		SetLocally  []string                 `json:"set_locally"`
	} `json:"web_preferences"`
}

func readWorkerStatus(t *testing.T, workerBin, stateDir string) (workerStatus, string) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), workerBin, "status", "--json", "--state", stateDir).Output()
	if err != nil {
		t.Fatalf("worker status: %v\n%s", err, out)
	}
	var s workerStatus
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("worker status --json: %v\n%s", err, out)
	}
	return s, string(out)
}

// count is how many elements match a CSS selector.
func (b *browser) count(sel string) int {
	b.t.Helper()
	return eval[int](b, fmt.Sprintf("document.querySelectorAll(%q).length", sel))
}

// get fetches a path with the browser's session cookie, outside the
// browser (downloads do not load a page).
func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, b.coord.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	if c := b.cookie("nightshift_session"); c != nil {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, string(body)
}

func TestBrowserFlowSignUpAttachComputeEarn(t *testing.T) {
	b := newBrowser(t)
	workerBin, module := buildFlowPrograms(t, t.TempDir())
	ctx := t.Context()

	// Sign up; the page shows the account key once.
	key := b.signUp("flow@example.org", browserPassword)
	b.screenshot("flow-signup-key")
	if !strings.HasPrefix(key, "nsa_") {
		t.Fatalf("account key shown: %q", key)
	}
	me, err := b.coord.Service.AuthContributor(ctx, key)
	if err != nil {
		t.Fatal(err)
	}

	// A research project with work; a worker attached with the key computes it.
	rp := newResearchProject(t, b, "Leukemia markers (flow test)", module)
	job := rp.submit(t, flowInputs...)
	stateDir := filepath.Join(t.TempDir(), "worker")
	workerLog := startWorker(t, workerBin, b.coord.URL, key, stateDir, "flow-pc")
	job = rp.waitJobDone(t, job.ID, workerLog)
	if got := job.Progress.Units[string(workunits.UnitDone)]; got != len(flowInputs) {
		t.Fatalf("units done = %d, want %d: %+v", got, len(flowInputs), job.Progress)
	}
	earnings, err := b.coord.Service.ContributorEarnings(ctx, me.ID)
	if err != nil {
		t.Fatal(err)
	}
	earned := earnings.PendingMicros + earnings.AvailableMicros
	if earned <= 0 {
		t.Fatalf("after the job the contributor has earned %+v", earnings)
	}

	// Home: the earnings, this week and the chart with today's bar.
	if status := b.open("/"); status != http.StatusOK {
		t.Fatalf("home: status %d", status)
	}
	if got := b.text("#available"); moneyMicros(t, got) != earnings.AvailableMicros {
		t.Errorf("home #available = %q, want %s", got, payouts.FormatMicros(earnings.AvailableMicros))
	}
	if got := b.text("#pending"); moneyMicros(t, got) != earnings.PendingMicros {
		t.Errorf("home #pending = %q, want %s", got, payouts.FormatMicros(earnings.PendingMicros))
	}
	if got := b.text("#week-this"); moneyMicros(t, got) != earned {
		t.Errorf("home #week-this = %q after earning %s today", got, payouts.FormatMicros(earned))
	}
	if got := b.text("#rank"); got != "1 of 1" {
		t.Errorf("home #rank = %q, want 1 of 1", got)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	if n := b.count("svg#earnings-chart rect.bar"); n != 30 {
		t.Errorf("the chart has %d bars, want one per day of 30", n)
	}
	todayMicros := eval[string](b, fmt.Sprintf(`(document.querySelector('svg#earnings-chart rect.bar[data-day=%q]') || {getAttribute: () => "missing"}).getAttribute("data-micros")`, today))
	if n, err := strconv.ParseInt(todayMicros, 10, 64); err != nil || n <= 0 {
		t.Errorf("today's bar (%s) has data-micros %q; want what was earned", today, todayMicros)
	}
	if n := b.count("svg#earnings-chart rect.bar > title"); n != 30 {
		t.Errorf("%d bars have a title for screen readers, want 30", n)
	}
	b.screenshot("flow-home")
	b.open("/?days=90")
	if n := b.count("svg#earnings-chart rect.bar"); n != 90 {
		t.Errorf("/?days=90: the chart has %d bars, want 90", n)
	}
	b.screenshot("flow-home-90-days")

	// Hosts: the worker's PC, with its valid results and state.
	hosts, err := b.coord.Service.HostsOverview(ctx, me.ID)
	if err != nil || len(hosts) != 1 {
		t.Fatalf("hosts overview: %+v, %v", hosts, err)
	}
	hostRow := fmt.Sprintf(`table#hosts tr[data-host-id="%d"]`, hosts[0].ID)
	if status := b.open("/hosts"); status != http.StatusOK {
		t.Errorf("/hosts: status %d", status)
	} else if b.count(hostRow) != 1 {
		t.Errorf("/hosts has no row for host %d: %q", hosts[0].ID, b.text("main"))
	} else {
		if got := b.text(hostRow + " .valid"); got != strconv.Itoa(len(flowInputs)) {
			t.Errorf("host .valid = %q, want %d", got, len(flowInputs))
		}
		if got := b.text(hostRow + " .invalid"); got != "0" {
			t.Errorf("host .invalid = %q, want 0", got)
		}
		if got := b.text(hostRow + " .earned"); got == "0.00" || got == "" {
			t.Errorf("host .earned = %q", got)
		}
		if got := b.text(hostRow + " .state"); !strings.Contains(got, "running") && !strings.Contains(got, "idle") {
			t.Errorf("host .state = %q, want running or idle (the worker tells it every second)", got)
		}
		if got := b.text(hostRow + " .last-contact"); got == "" || strings.Contains(got, "never") {
			t.Errorf("host .last-contact = %q", got)
		}
	}
	b.screenshot("flow-hosts")

	// Tasks: the job's tasks, each valid, and a filter that finds them.
	if status := b.open("/tasks"); status != http.StatusOK {
		t.Fatalf("/tasks: status %d", status)
	}
	if n := b.count("table#tasks tr[data-task-id]"); n != len(flowInputs) {
		t.Errorf("/tasks lists %d tasks, want %d", n, len(flowInputs))
	}
	statuses := eval[[]string](b, `[...document.querySelectorAll("table#tasks tr[data-task-id] .status")].map(e => e.textContent.trim())`)
	for _, s := range statuses {
		if !strings.EqualFold(s, "valid") {
			t.Errorf("task statuses %q, want every one valid", statuses)
			break
		}
	}
	b.screenshot("flow-tasks")
	b.open(fmt.Sprintf("/tasks?status=invalid&project=%d", rp.project.ID))
	if n := b.count("table#tasks tr[data-task-id]"); n != 0 {
		t.Errorf("/tasks filtered on invalid lists %d tasks, want none", n)
	}

	// Payouts: the statement lists each reward.
	if status := b.open("/payouts"); status != http.StatusOK {
		t.Fatalf("/payouts: status %d", status)
	}
	if href := eval[string](b, `document.querySelector("a#statement-download").getAttribute("href")`); href != "/payouts/statement.csv" {
		t.Errorf("statement link goes to %q", href)
	}
	b.screenshot("flow-payouts")
	resp, body := b.get("/payouts/statement.csv")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("statement: status %d, type %q, disposition %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("statement is not a CSV with rows: %v\n%s", err, body)
	}
	var rewardRows int
	for _, row := range rows[1:] {
		if slices.ContainsFunc(row, func(c string) bool { return strings.Contains(strings.ToLower(c), "reward") }) {
			rewardRows++
		}
	}
	if rewardRows < len(flowInputs) {
		t.Errorf("statement has %d reward rows, want at least %d:\n%s", rewardRows, len(flowInputs), body)
	}
	apiCSV := apiGet(t, b.coord.URL+"/api/v1/contributor/statement.csv", key)
	if apiCSV != body {
		t.Errorf("the dashboard's statement differs from the API's:\n%s\n---\n%s", body, apiCSV)
	}

	// Preferences: a change on the web reaches the worker at its next contact.
	if status := b.open("/preferences"); status != http.StatusOK {
		t.Fatalf("/preferences: status %d", status)
	}
	b.screenshot("flow-preferences")
	b.fill(map[string]string{"idle_minutes": "7", "active_hours": "mon-sun 00:00-24:00"})
	if status := b.submit("#save-preferences"); status != http.StatusOK {
		t.Errorf("saving preferences: status %d, page says %q", status, b.text("main"))
	}
	web, err := b.coord.Service.WebPreferences(ctx, me.ID)
	if err != nil || web.Preferences.IdleMinutes == nil || *web.Preferences.IdleMinutes != 7 || web.Preferences.ActiveHours == nil {
		t.Fatalf("after saving, the web preferences are %+v, %v", web, err)
	}
	if got := b.text("#preferences-version"); !strings.Contains(got, strconv.FormatInt(web.Version, 10)) {
		t.Errorf("#preferences-version = %q, want version %d", got, web.Version)
	}
	b.screenshot("flow-preferences-saved")
	var st workerStatus
	var raw string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		st, raw = readWorkerStatus(t, workerBin, stateDir)
		if st.Web != nil && st.Web.Version == web.Version {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not take up web preferences version %d in 30 s:\n%s", web.Version, raw)
		}
	}
	// Active hours come from the web; idle minutes were set on the PC
	// (--idle-minutes 0), which wins.
	if w := st.Web; !slices.Contains(w.FromWeb, "active_hours") || !slices.Contains(w.SetLocally, "idle_minutes") {
		t.Errorf("worker status: from the web %q, set locally %q; want active_hours from the web and idle_minutes local:\n%s",
			w.FromWeb, w.SetLocally, raw)
	}
	saved, err := os.ReadFile(filepath.Join(stateDir, "web_preferences.json"))
	if err != nil || !strings.Contains(string(saved), "mon-sun 00:00-24:00") {
		t.Errorf("web_preferences.json: %v\n%s", err, saved)
	}

	// The community pages.
	if status := b.open("/leaderboard"); status != http.StatusOK {
		t.Errorf("/leaderboard: status %d", status)
	} else if b.count("table#leaderboard-contributors .me") != 1 {
		t.Errorf("the leaderboard does not mark the signed-in contributor's row")
	}
	b.screenshot("flow-leaderboard")
	if status := b.open("/projects"); status != http.StatusOK {
		t.Errorf("/projects: status %d", status)
	} else if b.count(fmt.Sprintf(`ul#projects li[data-project-id="%d"]`, rp.project.ID)) != 1 {
		t.Errorf("/projects does not list project %d: %q", rp.project.ID, b.text("main"))
	}
	b.screenshot("flow-projects")
	b.open("/account")
	b.screenshot("flow-account")
}

// moneyMicros reads an amount as a page shows it ("1,234.0075").
func moneyMicros(t *testing.T, s string) int64 {
	t.Helper()
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
	if err != nil {
		t.Errorf("%q is not an amount: %v", s, err)
		return -1
	}
	return int64(math.Round(f * 1e6))
}

// apiGet fetches an API path with a bearer key and returns the body.
func apiGet(t *testing.T, url, key string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return string(body)
}
