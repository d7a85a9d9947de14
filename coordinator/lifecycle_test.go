package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/webhook"
	"github.com/nightshift-platform/nightshift/worker/agent"
)

// callJSON is call with a JSON body, if any.
func callJSON(t *testing.T, method, url, key, body string) (int, []byte) {
	t.Helper()
	contentType := ""
	if body != "" {
		contentType = "application/json"
	}
	return call(t, method, url, key, contentType, body)
}

// finish runs a one-unit, one-replica job to done through a host.
func (b *bundle) finish(t *testing.T, host *client.Client, job api.Job) {
	t.Helper()
	ctx := context.Background()
	work, err := host.RequestWork(ctx, 1)
	if err != nil || len(work.Tasks) != 1 || work.Tasks[0].JobID != job.ID {
		t.Fatalf("lease: %+v, %v", work, err)
	}
	if _, err := host.Report(ctx, []api.Report{{TaskID: work.Tasks[0].ID, Outcome: "success", Output: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the job to finish", func() bool { return b.job(t, job.ID).State == "done" })
}

// A worker running a task of a job that is cancelled stops it within a
// moment, discards it and reports nothing; the escrow goes back to the
// project and cancelling again is answered the same.
func TestCancelStopsTheTaskOnARealWorker(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	budget := func() int64 {
		p, err := b.research.Project(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return p.BudgetMicros
	}
	funded := budget()
	// Minutes of work: it can only end by being stopped.
	job := b.submit(t, api.Policy{MinQuorum: 1, TargetReplicas: 1, DeadlineSeconds: 3600}, 1000, `{"k":64,"seed":11,"n":1000000}`)
	state := t.TempDir()
	logs := &syncBuffer{}
	a := agent.New(agent.Config{Client: b.host(t, b.contributor(t, "Ada"), "ada-pc"), Executor: agent.InProcess{Sandbox: box(t)},
		StateDir: state, MaxIdleWait: 200 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	agentCtx, stopAgent := context.WithCancel(ctx)
	agentDone := make(chan error, 1)
	go func() { agentDone <- a.Run(agentCtx) }()
	t.Cleanup(func() {
		stopAgent()
		if err := <-agentDone; err != nil {
			t.Errorf("agent: %v", err)
		}
		if t.Failed() {
			t.Logf("worker log:\n%s", logs)
		}
	})
	// Past the module's set-up, which does not yield: from there it
	// yields every few milliseconds, where a stop takes effect.
	waitFor(t, 60*time.Second, "the task to make progress", func() bool {
		tasks := a.Status().Tasks
		return len(tasks) == 1 && tasks[0].Progress > 0
	})

	cancelledAt := time.Now()
	cancelled, err := b.research.CancelJob(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cancelled.State != "cancelled" {
		t.Errorf("cancel answered state %q", cancelled.State)
	}
	// The worker, busy, checks in every MaxIdleWait at most.
	waitFor(t, 3*time.Second, "the worker to stop the task", func() bool { return len(a.Status().Tasks) == 0 })
	t.Logf("the worker stopped the task %v after the cancel", time.Since(cancelledAt).Round(time.Millisecond))
	waitFor(t, 5*time.Second, "the task directory to go", func() bool {
		entries, _ := os.ReadDir(filepath.Join(state, "tasks"))
		return len(entries) == 0
	})
	if st := a.Status(); st.Done != 0 || st.Reported != 0 || st.ReportsWaiting != 0 {
		t.Errorf("worker status %+v: want nothing done or reported", st)
	}
	got := b.job(t, job.ID)
	if got.Progress.Outcomes["success"] != 0 || got.Progress.Outcomes["error"] != 0 || got.Progress.Tasks["in_progress"] != 1 {
		t.Errorf("the coordinator heard of the task: %+v", got.Progress)
	}
	if got.Progress.Units["failed"] != 1 {
		t.Errorf("units %v, want the open unit ended", got.Progress.Units)
	}
	waitFor(t, 10*time.Second, "the escrow to be returned", func() bool { return budget() == funded })
	again, err := b.research.CancelJob(ctx, job.ID)
	if err != nil || again.State != "cancelled" || again.FinishedAt == nil || again.EscrowMicros != 0 {
		t.Errorf("second cancel = %+v, %v; want cancelled, settled, no escrow", again, err)
	}
	b.audit(t)
}

func TestCancelRetireOverHTTP(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	host := b.host(t, b.contributor(t, "Ada"), "ada-pc")
	done := b.submit(t, api.Policy{MinQuorum: 1, TargetReplicas: 1}, 100, `{"k":1,"seed":1,"n":10}`)
	b.finish(t, host, done)
	active := b.submit(t, api.Policy{MinQuorum: 1, TargetReplicas: 1}, 100, `{"k":1,"seed":2,"n":10}`)
	other, err := b.operator.CreateProject(ctx, "other lab")
	if err != nil {
		t.Fatal(err)
	}
	jobURL := func(id int64, action string) string { return b.coord.URL + "/api/v1/jobs/" + itoa(id) + action }

	for _, tc := range []struct {
		name, method, url, key string
		want                   int
		wantInMsg              string
	}{
		{"cancel another project's job", "POST", jobURL(active.ID, "/cancel"), other.APIKey, 404, "job " + itoa(active.ID) + " not found"},
		{"retire another project's job", "POST", jobURL(done.ID, "/retire"), other.APIKey, 404, "not found"},
		{"cancel without a key", "POST", jobURL(active.ID, "/cancel"), "", 401, "missing credentials"},
		{"cancel with a host token", "POST", jobURL(active.ID, "/cancel"), host.Key(), 401, "project key"},
		{"cancel a done job", "POST", jobURL(done.ID, "/cancel"), b.project.APIKey, 409, "already done"},
		{"retire an active job", "POST", jobURL(active.ID, "/retire"), b.project.APIKey, 409, "only a finished"},
		{"cancel a job id that is not one", "POST", b.coord.URL + "/api/v1/jobs/x/cancel", b.project.APIKey, 400, "jobID"},
		{"retire an unknown job", "POST", jobURL(9999, "/retire"), b.project.APIKey, 404, "not found"},
		{"cancel with GET", "GET", jobURL(active.ID, "/cancel"), b.project.APIKey, 405, "not allowed"},
		{"webhook URL not http", "POST", b.coord.URL + "/api/v1/jobs", b.project.APIKey, 400, "webhook.url"},
		{"webhook secret too short", "POST", b.coord.URL + "/api/v1/jobs", b.project.APIKey, 400, "webhook.secret"},
		{"webhook with an unknown field", "POST", b.coord.URL + "/api/v1/jobs", b.project.APIKey, 400, "unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			switch tc.name {
			case "webhook URL not http":
				body = `{"app":"markers","units":[1],"webhook":{"url":"file:///etc/passwd","secret":"0123456789abcdef"}}`
			case "webhook secret too short":
				body = `{"app":"markers","units":[1],"webhook":{"url":"https://lab.example/hook","secret":"short"}}`
			case "webhook with an unknown field":
				body = `{"app":"markers","units":[1],"webhook":{"url":"https://lab.example/hook","secret":"0123456789abcdef","events":["x"]}}`
			}
			beforeDone, beforeActive := b.snapshot(t, done.ID), b.snapshot(t, active.ID)
			status, raw := callJSON(t, tc.method, tc.url, tc.key, body)
			if status != tc.want {
				t.Errorf("status %d, want %d: %s", status, tc.want, raw)
			}
			var e api.ErrorResponse
			if err := json.Unmarshal(raw, &e); err != nil || !strings.Contains(e.Error.Message, tc.wantInMsg) {
				t.Errorf("body %s, want a JSON error mentioning %q", raw, tc.wantInMsg)
			}
			if b.snapshot(t, done.ID) != beforeDone || b.snapshot(t, active.ID) != beforeActive {
				t.Errorf("a refused request changed the jobs or the money")
			}
		})
	}
	// No refused submission created a job: the next id is the next job's.
	next := b.submit(t, api.Policy{MinQuorum: 1, TargetReplicas: 1}, 0, `1`)
	if next.ID != active.ID+1 {
		t.Errorf("next job id %d, want %d: a refused submission was stored", next.ID, active.ID+1)
	}

	// Cancel twice: 200 both times, the same job.
	for range 2 {
		status, raw := callJSON(t, "POST", jobURL(active.ID, "/cancel"), b.project.APIKey, "")
		var j api.Job
		if status != 200 || json.Unmarshal(raw, &j) != nil || j.State != "cancelled" || j.ID != active.ID {
			t.Errorf("cancel: %d %s", status, raw)
		}
	}
	// Retire the done job: 200 twice, retired_at kept; its results are gone.
	var first api.Job
	for i := range 2 {
		status, raw := callJSON(t, "POST", jobURL(done.ID, "/retire"), b.project.APIKey, "")
		var j api.Job
		if status != 200 || json.Unmarshal(raw, &j) != nil || j.RetiredAt == nil || j.State != "done" {
			t.Fatalf("retire: %d %s", status, raw)
		}
		if i == 0 {
			first = j
		} else if !j.RetiredAt.Equal(*first.RetiredAt) {
			t.Errorf("retiring again moved retired_at from %v to %v", first.RetiredAt, j.RetiredAt)
		}
	}
	// Its results, a unit's detail and a unit's output all answer 410.
	for _, action := range []string{"/results", "/units/0", "/units/0/output"} {
		status, raw := callJSON(t, "GET", jobURL(done.ID, action), b.project.APIKey, "")
		var gone api.ErrorResponse
		if status != http.StatusGone || json.Unmarshal(raw, &gone) != nil || gone.Error.Code != "gone" {
			t.Errorf("GET %s of a retired job: %d %s, want 410 JSON", action, status, raw)
		}
	}
	if _, err := b.research.Unit(ctx, done.ID, 0); client.StatusOf(err) != http.StatusGone {
		t.Errorf("client.Unit of a retired job: %v, want 410", err)
	}
	if _, err := b.research.UnitOutput(ctx, done.ID, 0); client.StatusOf(err) != http.StatusGone {
		t.Errorf("client.UnitOutput of a retired job: %v, want 410", err)
	}
	if err := b.research.Results(ctx, done.ID, func(api.Result) error { return nil }); client.StatusOf(err) != http.StatusGone {
		t.Errorf("client.Results of a retired job: %v, want 410", err)
	}
	// The job itself, its counts and the ledger stay.
	j := b.job(t, done.ID)
	if j.Progress.Units["done"] != 1 || j.RetiredAt == nil {
		t.Errorf("retired job shows %+v", j)
	}
	if _, err := b.research.RetireJob(ctx, active.ID); err != nil {
		t.Errorf("retiring a cancelled job: %v", err)
	}
	if _, err := b.research.CancelJob(ctx, done.ID); client.StatusOf(err) != http.StatusConflict {
		t.Errorf("client.CancelJob of a done job: %v, want 409", err)
	}
	b.audit(t)
}

// The coordinator's own loop delivers job.cancelled to a real receiver,
// signed so that client.VerifyWebhook accepts it; the job shows the
// delivery and never the secret.
func TestWebhookDeliveredOverHTTP(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	const secret = "the-lab's-webhook-secret"
	var mu sync.Mutex
	var got []api.WebhookEvent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := client.VerifyWebhook(secret, r.Header.Get(webhook.TimestampHeader), body, r.Header.Get(webhook.SignatureHeader)); err != nil {
			t.Errorf("receiver: %v", err)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev api.WebhookEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Errorf("receiver: %v", err)
		}
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	}))
	defer srv.Close()
	job, err := b.research.SubmitJob(ctx, api.SubmitJobRequest{App: "markers", Units: []json.RawMessage{json.RawMessage(`1`)},
		Policy: api.Policy{MinQuorum: 1, TargetReplicas: 1}, RewardMicros: 10,
		Webhook: &api.WebhookConfig{URL: srv.URL + "/nightshift", Secret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	if job.Webhook != nil {
		t.Errorf("submit answered webhook %+v before any status was loaded", job.Webhook)
	}
	j := b.job(t, job.ID)
	if j.Webhook == nil || j.Webhook.State != "idle" || j.Webhook.URL != srv.URL+"/nightshift" {
		t.Errorf("webhook of an active job = %+v, want idle", j.Webhook)
	}
	if _, err := b.research.CancelJob(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the webhook to be delivered", func() bool {
		w := b.job(t, job.ID).Webhook
		return w != nil && w.State == "delivered"
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].Event != "job.cancelled" || got[0].Job.ID != job.ID || got[0].Job.State != "cancelled" || got[0].Job.Progress == nil {
		t.Errorf("receiver got %+v, want one job.cancelled with the job", got)
	}
	j = b.job(t, job.ID)
	if w := j.Webhook; w.Attempts != 1 || w.Event != "job.cancelled" || w.NextAttemptAt != nil || w.LastError != "" {
		t.Errorf("delivered webhook = %+v", w)
	}
	_, raw := callJSON(t, "GET", b.coord.URL+"/api/v1/jobs/"+itoa(job.ID), b.project.APIKey, "")
	if strings.Contains(string(raw), secret) {
		t.Errorf("the job shows the webhook secret: %s", raw)
	}
}
