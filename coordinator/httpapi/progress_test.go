package httpapi_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/httpapi"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/workunits"
)

// progressBundle is the real router over a real SQLite store, with a clock
// the test moves, two projects (the second only to try tenancy) and one host.
type progressBundle struct {
	url      string
	research *client.Client // project A
	other    *client.Client // project B
	host     *client.Client

	mu  sync.Mutex
	now time.Time
}

var progressT0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func (b *progressBundle) clock() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.now
}

func (b *progressBundle) advance(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.now = b.now.Add(d)
}

func setupProgress(t *testing.T) *progressBundle {
	t.Helper()
	ctx := context.Background()
	b := &progressBundle{now: progressT0}
	svc, _ := newService(t, service.Options{OperatorKey: "nso_test", Now: b.clock})
	srv := httptest.NewServer(httpapi.NewServer(svc, quietLog))
	t.Cleanup(srv.Close)
	b.url = srv.URL
	op := client.New(srv.URL, "nso_test", nil)
	for _, c := range []**client.Client{&b.research, &b.other} {
		p, err := op.CreateProject(ctx, "lab")
		if err != nil {
			t.Fatal(err)
		}
		*c = op.WithKey(p.APIKey)
		signer, err := op.EnrollSigner(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := signer.Upload(ctx, *c, "app", []byte("\x00asm\x01\x00\x00\x00")); err != nil {
			t.Fatal(err)
		}
	}
	acct, err := op.WithKey("").CreateContributor(ctx, "Ada")
	if err != nil {
		t.Fatal(err)
	}
	h, err := op.WithKey(acct.AccountKey).RegisterHost(ctx, api.RegisterHostRequest{Name: "pc", Platform: "test/amd64", Cores: 2})
	if err != nil {
		t.Fatal(err)
	}
	b.host = op.WithKey(h.HostToken)
	return b
}

// submit submits a job of n units ({"x":seq}) of project c with one
// replica per unit, so one success validates a unit and one error fails it.
func (b *progressBundle) submit(t *testing.T, c *client.Client, n int) api.Job {
	t.Helper()
	units := make([]json.RawMessage, n)
	for i := range units {
		units[i] = json.RawMessage(fmt.Sprintf(`{"x":%d}`, i))
	}
	j, err := c.SubmitJob(context.Background(), api.SubmitJobRequest{App: "app", Units: units,
		Policy: api.Policy{MinQuorum: 1, TargetReplicas: 1, MaxTotalReplicas: 1, DeadlineSeconds: 86400}})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// lease takes every task on offer and returns their ids by unit input x.
func (b *progressBundle) lease(t *testing.T) map[int]int64 {
	t.Helper()
	out := map[int]int64{}
	for {
		w, err := b.host.RequestWork(context.Background(), service.MaxLeasePerRequest)
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Tasks) == 0 {
			return out
		}
		for _, tk := range w.Tasks {
			var in struct{ X int }
			if err := json.Unmarshal(tk.Input, &in); err != nil {
				t.Fatal(err)
			}
			out[in.X] = tk.ID
		}
	}
}

func (b *progressBundle) report(t *testing.T, reports ...api.Report) {
	t.Helper()
	if _, err := b.host.Report(context.Background(), reports); err != nil {
		t.Fatal(err)
	}
}

// get does a GET with key and returns the status and body.
func (b *progressBundle) get(t *testing.T, key, path string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// progressJob is a job of four units: 0 and 1 validated, 2 failed with a
// long stderr, 3 still open; it is 80 minutes old.
func progressJob(t *testing.T, b *progressBundle) (api.Job, map[int][]byte, string) {
	t.Helper()
	job := b.submit(t, b.research, 4)
	tasks := b.lease(t)
	outputs := map[int][]byte{0: []byte("output zero\x00\xff"), 1: []byte("output one")}
	stderr := strings.Repeat("noise line\n", 400) + "panic: boom\n"
	b.advance(10 * time.Minute)
	b.report(t, api.Report{TaskID: tasks[0], Outcome: "success", Output: outputs[0], CPUSeconds: 2},
		api.Report{TaskID: tasks[2], Outcome: "error", Stderr: stderr, CPUSeconds: 1})
	b.advance(60 * time.Minute)
	b.report(t, api.Report{TaskID: tasks[1], Outcome: "success", Output: outputs[1], CPUSeconds: 3})
	b.advance(10 * time.Minute)
	return job, outputs, stderr
}

func TestJobProgressShowsPaceETAAndErrors(t *testing.T) {
	b := setupProgress(t)
	ctx := context.Background()
	job, _, stderr := progressJob(t, b)
	got, err := b.research.Job(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	p := got.Progress
	if p == nil || p.Units["done"] != 2 || p.Units["failed"] != 1 || p.Units["open"] != 1 {
		t.Fatalf("progress = %+v, want 2 done, 1 failed, 1 open", p)
	}
	// One unit finished in the last hour; three in 80 minutes.
	if p.UnitsPerHour != 1 || math.Abs(p.UnitsPerHourLifetime-2.25) > 1e-9 {
		t.Errorf("throughput = %v/h last hour, %v/h lifetime; want 1, 2.25", p.UnitsPerHour, p.UnitsPerHourLifetime)
	}
	if p.ETASeconds == nil || *p.ETASeconds != 3600 {
		t.Errorf("ETA = %v s, want 3600", p.ETASeconds)
	}
	if p.Outcomes["error"] != 1 || len(p.Errors) != 1 {
		t.Fatalf("error outcomes %d, latest errors %+v; want one", p.Outcomes["error"], p.Errors)
	}
	e := p.Errors[0]
	if e.Seq != 2 || e.TaskID == 0 || e.HostID == 0 || !e.ReceivedAt.Equal(progressT0.Add(10*time.Minute)) || len(e.Stderr) != service.StderrTailBytes ||
		!strings.HasSuffix(stderr, e.Stderr) {
		t.Errorf("latest error = seq %d task %d host %d at %v, %d bytes of stderr; want seq 2 at %v, the last %d bytes",
			e.Seq, e.TaskID, e.HostID, e.ReceivedAt, len(e.Stderr), progressT0.Add(10*time.Minute), service.StderrTailBytes)
	}

	// Nothing finished in the last hour: the ETA is unknown, and null.
	b.advance(2 * time.Hour)
	status, _, body := b.get(t, b.research.Key(), fmt.Sprintf("/api/v1/jobs/%d", job.ID))
	if status != 200 || !strings.Contains(string(body), `"eta_seconds":null`) {
		t.Errorf("stalled job: %d %s, want eta_seconds null", status, body)
	}

	// Project B sees no such job.
	if _, err := b.other.Job(ctx, job.ID); client.StatusOf(err) != 404 {
		t.Errorf("project B reading project A's job: %v, want 404", err)
	}
}

func TestJobListPagesNewestFirst(t *testing.T) {
	b := setupProgress(t)
	ctx := context.Background()
	var ids []int64
	for range 5 {
		ids = append(ids, b.submit(t, b.research, 1).ID)
	}
	otherJob := b.submit(t, b.other, 1)

	var seen []int64
	opts := client.ListOptions{Limit: 2}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("the listing does not end")
		}
		page, err := b.research.Jobs(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page.Jobs {
			seen = append(seen, j.ID)
		}
		if page.NextCursor == "" {
			break
		}
		opts.Cursor = page.NextCursor
	}
	want := []int64{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("jobs listed %v, want %v (newest first, project A only)", seen, want)
	}

	page, err := b.research.Jobs(ctx, client.ListOptions{State: "done"})
	if err != nil || len(page.Jobs) != 0 || page.NextCursor != "" {
		t.Errorf("done jobs: %+v, %v; want none", page, err)
	}
	page, err = b.research.Jobs(ctx, client.ListOptions{State: "active", Limit: 1000})
	if err != nil || len(page.Jobs) != 5 || page.Jobs[0].State != "active" || page.Jobs[0].Progress != nil {
		t.Errorf("active jobs: %+v, %v; want all five, without progress", page, err)
	}
	page, err = b.other.Jobs(ctx, client.ListOptions{})
	if err != nil || len(page.Jobs) != 1 || page.Jobs[0].ID != otherJob.ID {
		t.Errorf("project B's jobs: %+v, %v; want only job %d", page, err, otherJob.ID)
	}
	first, err := b.research.Jobs(ctx, client.ListOptions{Limit: 1, State: "active"})
	if err != nil || first.NextCursor == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}

	for _, tt := range []struct{ name, query, wantInMsg string }{
		{"limit zero", "?limit=0", "limit"},
		{"limit too big", "?limit=1001", "limit"},
		{"limit not a number", "?limit=ten", "limit"},
		{"unknown state", "?state=sleeping", "state must be one of"},
		{"cursor not base64", "?cursor=%21%21%21", "bad cursor"},
		{"cursor not JSON", "?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("hello")), "bad cursor"},
		{"cursor with padding", "?cursor=" + first.NextCursor + "%3D", "bad cursor"},
		{"cursor of a units listing", "?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"k":"units","j":1,"p":3}`)), "bad cursor"},
		{"cursor with another state", "?state=done&cursor=" + first.NextCursor, "bad cursor"},
		{"cursor with an extra field", "?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"k":"jobs","p":3,"x":1}`)), "bad cursor"},
		{"cursor out of range", "?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"k":"jobs","p":-5}`)), "bad cursor"},
	} {
		status, hdr, body := b.get(t, b.research.Key(), "/api/v1/jobs"+tt.query)
		wantJSONError(t, tt.name, status, hdr, body, 400, tt.wantInMsg)
	}
}

func TestUnitsListDetailAndOutput(t *testing.T) {
	b := setupProgress(t)
	ctx := context.Background()
	job, outputs, stderr := progressJob(t, b)

	var seqs []int
	opts := client.ListOptions{Limit: 3}
	for {
		page, err := b.research.Units(ctx, job.ID, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Units {
			seqs = append(seqs, u.Seq)
			if string(u.Input) != fmt.Sprintf(`{"x":%d}`, u.Seq) {
				t.Errorf("unit %d input %s", u.Seq, u.Input)
			}
		}
		if page.NextCursor == "" {
			break
		}
		opts.Cursor = page.NextCursor
	}
	if fmt.Sprint(seqs) != "[0 1 2 3]" {
		t.Errorf("units listed %v, want [0 1 2 3]", seqs)
	}
	for state, want := range map[string]string{"open": "[3]", "done": "[0 1]", "failed": "[2]"} {
		page, err := b.research.Units(ctx, job.ID, client.ListOptions{State: state})
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, u := range page.Units {
			got = append(got, u.Seq)
			if u.State != state {
				t.Errorf("state=%s listed unit %d in state %s", state, u.Seq, u.State)
			}
		}
		if fmt.Sprint(got) != want {
			t.Errorf("state=%s: units %v, want %s", state, got, want)
		}
	}
	done, err := b.research.Units(ctx, job.ID, client.ListOptions{State: "done", Limit: 1})
	if err != nil || len(done.Units) != 1 || done.Units[0].Seq != 0 || done.NextCursor == "" {
		t.Fatalf("first done unit: %+v, %v", done, err)
	}

	// One unit in full.
	d, err := b.research.Unit(ctx, job.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(d.Output, outputs[0]) || d.State != "done" || len(d.Tasks) != 1 {
		t.Errorf("unit 0 = %+v, want done with output %q and its one task", d, outputs[0])
	}
	if tk := d.Tasks[0]; tk.State != "over" || tk.Outcome != "success" || tk.ValidateState != "valid" || tk.HostID == 0 ||
		tk.CPUSeconds != 2 || tk.SentAt == nil || !tk.SentAt.Equal(progressT0) || tk.ReceivedAt == nil || !tk.ReceivedAt.Equal(progressT0.Add(10*time.Minute)) ||
		tk.Deadline == nil || !tk.Deadline.Equal(progressT0.Add(24*time.Hour)) || tk.OutputSHA256 != workunits.Hash(outputs[0]) {
		t.Errorf("unit 0's task = %+v", tk)
	}
	d, err = b.research.Unit(ctx, job.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != "failed" || d.Error == "" || d.Output != nil || len(d.Tasks) != 1 || d.Tasks[0].Outcome != "error" ||
		len(d.Tasks[0].Stderr) != service.StderrTailBytes || !strings.HasSuffix(stderr, d.Tasks[0].Stderr) {
		t.Errorf("unit 2 = %+v, want failed with its task's stderr tail", d)
	}

	// The raw output.
	status, hdr, body := b.get(t, b.research.Key(), fmt.Sprintf("/api/v1/jobs/%d/units/0/output", job.ID))
	if status != 200 || hdr.Get("Content-Type") != "application/octet-stream" || !bytes.Equal(body, outputs[0]) {
		t.Errorf("output of unit 0: %d %s %q, want 200 application/octet-stream %q", status, hdr.Get("Content-Type"), body, outputs[0])
	}
	if got, err := b.research.UnitOutput(ctx, job.ID, 1); err != nil || !bytes.Equal(got, outputs[1]) {
		t.Errorf("client UnitOutput(1) = %q, %v; want %q", got, err, outputs[1])
	}

	units := fmt.Sprintf("/api/v1/jobs/%d/units", job.ID)
	foreign := base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, `{"k":"units","j":%d,"s":"done","p":0}`, job.ID+1))
	for _, tt := range []struct {
		name, path string
		wantStatus int
		wantInMsg  string
	}{
		{"open unit has no output", units + "/3/output", 404, "no canonical output"},
		{"failed unit has no output", units + "/2/output", 404, "no canonical output"},
		{"no such unit", units + "/4", 404, "not found"},
		{"no such unit's output", units + "/99/output", 404, "not found"},
		{"no such job", "/api/v1/jobs/999999/units", 404, "job 999999 not found"},
		{"negative seq", units + "/-1", 400, "seq"},
		{"seq not a number", units + "/first", 400, "seq"},
		{"seq with a sign", units + "/+1/output", 400, "seq"},
		{"limit zero", units + "?limit=0", 400, "limit"},
		{"limit too big", units + "?limit=5000", 400, "limit"},
		{"unknown state", units + "?state=running", 400, "state must be one of"},
		{"garbage cursor", units + "?cursor=not-a-cursor", 400, "bad cursor"},
		{"cursor with another state", units + "?state=failed&cursor=" + done.NextCursor, 400, "bad cursor"},
		{"cursor of another job", units + "?state=done&cursor=" + foreign, 400, "bad cursor"},
		{"cursor of the job listing", units + "?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"k":"jobs","p":3}`)), 400, "bad cursor"},
	} {
		status, hdr, body := b.get(t, b.research.Key(), tt.path)
		wantJSONError(t, tt.name, status, hdr, body, tt.wantStatus, tt.wantInMsg)
	}
	// The cursor as issued works.
	if page, err := b.research.Units(ctx, job.ID, client.ListOptions{State: "done", Cursor: done.NextCursor}); err != nil ||
		len(page.Units) != 1 || page.Units[0].Seq != 1 || page.NextCursor != "" {
		t.Errorf("second page of done units: %+v, %v; want unit 1 and no cursor", page, err)
	}
}

func TestProgressTenancy(t *testing.T) {
	b := setupProgress(t)
	job, _, _ := progressJob(t, b)
	for _, path := range []string{
		"/api/v1/jobs/%d",
		"/api/v1/jobs/%d/units",
		"/api/v1/jobs/%d/units?state=done",
		"/api/v1/jobs/%d/units/0",
		"/api/v1/jobs/%d/units/0/output",
		"/api/v1/jobs/%d/results",
		"/api/v1/jobs/%d/results?format=tar.gz",
	} {
		p := fmt.Sprintf(path, job.ID)
		status, hdr, body := b.get(t, b.other.Key(), p)
		wantJSONError(t, "project B on "+p, status, hdr, body, 404, fmt.Sprintf("job %d not found", job.ID))
		if status, _, _ := b.get(t, b.research.Key(), p); status != 200 {
			t.Errorf("project A on %s: %d, want 200", p, status)
		}
	}
	status, hdr, body := b.get(t, "nsp_nosuchkey", "/api/v1/jobs")
	wantJSONError(t, "unknown key lists jobs", status, hdr, body, 401, "invalid project key")
}

func TestResultsTarGz(t *testing.T) {
	b := setupProgress(t)
	ctx := context.Background()
	// More units than one page of the archive, so it is written page by page.
	const n = 150
	job := b.submit(t, b.research, n)
	tasks := b.lease(t)
	if len(tasks) != n {
		t.Fatalf("leased %d tasks, want %d", len(tasks), n)
	}
	var reports []api.Report
	for x := range n {
		switch {
		case x%10 == 7:
			reports = append(reports, api.Report{TaskID: tasks[x], Outcome: "error", Stderr: "bad input"})
		case x%10 == 9:
			// left open
		default:
			reports = append(reports, api.Report{TaskID: tasks[x], Outcome: "success", Output: fmt.Appendf(nil, "out %d \x00", x)})
		}
	}
	b.report(t, reports...)

	want := map[string][]byte{}
	var open int
	for x := range n {
		u, err := b.research.Unit(ctx, job.ID, x)
		if err != nil {
			t.Fatal(err)
		}
		switch u.State {
		case "done":
			want[fmt.Sprintf("units/%06d.out", x)] = u.Output
		case "failed":
			want[fmt.Sprintf("units/%06d.error", x)] = []byte(u.Error + "\n")
		default:
			open++
		}
	}
	if open != n/10 || len(want) != n-n/10 {
		t.Fatalf("%d units open and %d finished, want %d and %d", open, len(want), n/10, n-n/10)
	}

	rc, err := b.research.ResultsArchive(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	got := map[string][]byte{}
	var order []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the archive: %v", err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || h.Size != int64(len(data)) {
			t.Errorf("%s: type %c, size %d for %d bytes", h.Name, h.Typeflag, h.Size, len(data))
		}
		got[h.Name] = data
		order = append(order, h.Name)
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		t.Errorf("the gzip stream does not end cleanly: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("archive holds %d files, want %d", len(got), len(want))
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || !bytes.Equal(g, w) {
			t.Errorf("%s = %q (present %v), want %q", name, g, ok, w)
		}
	}
	for i := 1; i < len(order); i++ {
		if order[i-1] >= order[i] {
			t.Errorf("archive not in seq order: %s before %s", order[i-1], order[i])
		}
	}
	if !bytes.Equal(got["units/000007.error"], []byte("no quorum after 1 replicas (the limit)\n")) {
		t.Errorf("units/000007.error = %q", got["units/000007.error"])
	}

	// NDJSON is still the default, and an unknown format is refused.
	status, hdr, _ := b.get(t, b.research.Key(), fmt.Sprintf("/api/v1/jobs/%d/results", job.ID))
	if status != 200 || hdr.Get("Content-Type") != "application/x-ndjson" {
		t.Errorf("default results: %d %s, want 200 NDJSON", status, hdr.Get("Content-Type"))
	}
	status, hdr, body := b.get(t, b.research.Key(), fmt.Sprintf("/api/v1/jobs/%d/results?format=zip", job.ID))
	wantJSONError(t, "results as zip", status, hdr, body, 400, "format must be ndjson or tar.gz")
}

// wantJSONError fails the test unless the answer is the JSON error body
// with the given status and a message containing wantInMsg.
func wantJSONError(t *testing.T, name string, status int, hdr http.Header, body []byte, wantStatus int, wantInMsg string) {
	t.Helper()
	var e api.ErrorResponse
	if status != wantStatus || hdr.Get("Content-Type") != "application/json" || json.Unmarshal(body, &e) != nil ||
		!strings.Contains(e.Error.Message, wantInMsg) {
		t.Errorf("%s: %d %s %s, want %d JSON error containing %q", name, status, hdr.Get("Content-Type"), body, wantStatus, wantInMsg)
	}
}
