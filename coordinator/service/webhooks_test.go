package service

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/coordinator/webhook"
	"github.com/nightshift-platform/nightshift/workunits"
)

func TestWebhookBackoff(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{
		{1, 10 * time.Second}, {2, 20 * time.Second}, {3, 40 * time.Second}, {6, 320 * time.Second},
		{9, 2560 * time.Second}, {10, time.Hour}, {11, time.Hour}, {100, time.Hour},
	} {
		if got := WebhookBackoff(tc.n); got != tc.want {
			t.Errorf("WebhookBackoff(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestWebhookAttempted(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	refused := errors.New("HTTP 500: boom")
	for _, tc := range []struct {
		name     string
		attempts int
		err      error
		want     store.WebhookDeliveryUpdate
	}{
		{"first success", 0, nil, store.WebhookDeliveryUpdate{ID: 7, State: store.WebhookDelivered, Attempts: 1, NextAttemptAt: now, DeliveredAt: now}},
		{"first failure waits 10 s", 0, refused, store.WebhookDeliveryUpdate{ID: 7, State: store.WebhookPending, Attempts: 1, LastError: "HTTP 500: boom", NextAttemptAt: now.Add(10 * time.Second)}},
		{"third failure waits 40 s", 2, refused, store.WebhookDeliveryUpdate{ID: 7, State: store.WebhookPending, Attempts: 3, LastError: "HTTP 500: boom", NextAttemptAt: now.Add(40 * time.Second)}},
		{"eleventh failure waits the cap", 10, refused, store.WebhookDeliveryUpdate{ID: 7, State: store.WebhookPending, Attempts: 11, LastError: "HTTP 500: boom", NextAttemptAt: now.Add(time.Hour)}},
		{"twelfth failure gives up", 11, refused, store.WebhookDeliveryUpdate{ID: 7, State: store.WebhookFailed, Attempts: 12, LastError: "HTTP 500: boom", NextAttemptAt: now}},
		{"success on the last attempt", 11, nil, store.WebhookDeliveryUpdate{ID: 7, State: store.WebhookDelivered, Attempts: 12, NextAttemptAt: now, DeliveredAt: now}},
		{"a long error is cut", 0, errors.New(strings.Repeat("é", 400)), store.WebhookDeliveryUpdate{ID: 7, State: store.WebhookPending, Attempts: 1, LastError: strings.Repeat("é", 256), NextAttemptAt: now.Add(10 * time.Second)}},
	} {
		got := WebhookAttempted(store.WebhookDelivery{ID: 7, Attempts: tc.attempts}, tc.err, now)
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestWebhookValidate(t *testing.T) {
	secret := "0123456789abcdef"
	for _, tc := range []struct {
		name string
		hook Webhook
		ok   bool
	}{
		{"https", Webhook{"https://lab.example/hook", secret}, true},
		{"http with port and query", Webhook{"http://10.0.0.1:8080/h?x=1", secret}, true},
		{"longest secret", Webhook{"https://lab.example/hook", strings.Repeat("s", 256)}, true},
		{"ftp", Webhook{"ftp://lab.example/hook", secret}, false},
		{"no scheme", Webhook{"lab.example/hook", secret}, false},
		{"no host", Webhook{"https:///hook", secret}, false},
		{"credentials in the URL", Webhook{"https://me:pw@lab.example/hook", secret}, false},
		{"not a URL", Webhook{"https://lab example/%zz", secret}, false},
		{"empty URL", Webhook{"", secret}, false},
		{"URL too long", Webhook{"https://lab.example/" + strings.Repeat("a", MaxWebhookURL), secret}, false},
		{"secret too short", Webhook{"https://lab.example/hook", "short"}, false},
		{"secret too long", Webhook{"https://lab.example/hook", strings.Repeat("s", 257)}, false},
		{"secret not UTF-8", Webhook{"https://lab.example/hook", "0123456789abcde\xff"}, false},
	} {
		err := tc.hook.Validate()
		if tc.ok != (err == nil) || (err != nil && workunits.ErrorCode(err) != workunits.EINVALID) {
			t.Errorf("%s: Validate = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// receiver is a webhook endpoint that fails a number of times first and
// checks every signature.
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	fail   int // answers 500 while > 0
	got    []receivedEvent
}

type receivedEvent struct {
	Timestamp string
	Event     string
	JobID     int64
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get(webhook.TimestampHeader)
	if err := client.VerifyWebhook(rc.secret, ts, body, r.Header.Get(webhook.SignatureHeader)); err != nil {
		rc.t.Errorf("receiver: %v", err)
	}
	if err := client.VerifyWebhook("another-secret-123", ts, body, r.Header.Get(webhook.SignatureHeader)); err == nil {
		rc.t.Errorf("receiver: the signature verifies with the wrong secret")
	}
	var ev struct {
		Event string `json:"event"`
		Job   struct {
			ID int64 `json:"id"`
		} `json:"job"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		rc.t.Errorf("receiver: body %q: %v", body, err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.got = append(rc.got, receivedEvent{Timestamp: ts, Event: ev.Event, JobID: ev.Job.ID})
	if rc.fail > 0 {
		rc.fail--
		http.Error(w, "not now", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) received() []receivedEvent {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedEvent(nil), rc.got...)
}

// testWebhooks sends with the real HTTP sender on the bundle's clock and
// renders a small body (the HTTP layer's is tested there).
func (b *testBundle) testWebhooks() Webhooks {
	return Webhooks{Sender: webhook.Sender{Now: func() time.Time { return b.now }},
		Body: func(event string, st JobStatus) ([]byte, error) {
			return json.Marshal(map[string]any{"event": event, "job": map[string]any{"id": st.Job.ID, "state": st.Job.State}})
		}}
}

// finishedJobWithWebhook submits a one-unit job with a webhook and runs it
// to done.
func (b *testBundle) finishedJobWithWebhook(t *testing.T, url, secret string) int64 {
	t.Helper()
	ctx := context.Background()
	st, err := b.svc.SubmitJob(ctx, b.project.ID, JobRequest{App: "app", Inputs: [][]byte{[]byte(`1`)},
		Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1}, Webhook: &Webhook{URL: url, Secret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	_, h := b.host(t, "alice"+strconv.FormatInt(st.Job.ID, 10))
	l, err := b.svc.LeaseTasks(ctx, h.ID, 1, nil)
	if err != nil || len(l) != 1 {
		t.Fatalf("lease: %v, %v", l, err)
	}
	if err := b.svc.ReportResults(ctx, h.ID, []workunits.Report{{TaskID: l[0].TaskID, Outcome: workunits.OutcomeSuccess, Output: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.FinishJobs(ctx); err != nil {
		t.Fatal(err)
	}
	return st.Job.ID
}

// A receiver that fails twice gets the event three times, 10 s then 20 s
// apart, signed each time, and the job shows it delivered.
func TestWebhookRetriedUntilDelivered(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	const secret = "a-long-enough-secret"
	rc := &receiver{t: t, secret: secret, fail: 2}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	jobID := b.finishedJobWithWebhook(t, srv.URL+"/hook", secret)
	w := b.testWebhooks()

	st, _ := b.svc.Job(ctx, b.project.ID, jobID)
	if wh := st.Lifecycle.Webhook; wh == nil || wh.State != store.WebhookPending || wh.Event != EventJobDone || wh.Attempts != 0 {
		t.Fatalf("webhook once the job is done = %+v, want job.done pending", wh)
	}
	start := b.now
	deliver := func(wantAttempted int) {
		t.Helper()
		n, err := b.svc.DeliverWebhooks(ctx, w)
		if err != nil || n != wantAttempted {
			t.Fatalf("at +%v: DeliverWebhooks = %d, %v; want %d attempted", b.now.Sub(start), n, err, wantAttempted)
		}
	}
	deliver(1) // 500
	deliver(0) // not due for 10 s
	st, _ = b.svc.Job(ctx, b.project.ID, jobID)
	if wh := st.Lifecycle.Webhook; wh.State != store.WebhookPending || wh.Attempts != 1 || !strings.Contains(wh.LastError, "HTTP 500") ||
		!wh.NextAttemptAt.Equal(b.now.Add(10*time.Second)) {
		t.Errorf("after one failure: %+v, want pending, 1 attempt, HTTP 500, next in 10 s", wh)
	}
	b.now = b.now.Add(10 * time.Second)
	deliver(1) // 500
	b.now = b.now.Add(19 * time.Second)
	deliver(0) // the second wait is 20 s
	b.now = b.now.Add(time.Second)
	deliver(1) // 204
	b.now = b.now.Add(24 * time.Hour)
	deliver(0) // delivered is done

	got := rc.received()
	want := []receivedEvent{
		{strconv.FormatInt(start.Unix(), 10), EventJobDone, jobID},
		{strconv.FormatInt(start.Add(10*time.Second).Unix(), 10), EventJobDone, jobID},
		{strconv.FormatInt(start.Add(30*time.Second).Unix(), 10), EventJobDone, jobID},
	}
	if len(got) != len(want) {
		t.Fatalf("receiver got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	st, _ = b.svc.Job(ctx, b.project.ID, jobID)
	if wh := st.Lifecycle.Webhook; wh.State != store.WebhookDelivered || wh.Attempts != 3 || !wh.NextAttemptAt.IsZero() {
		t.Errorf("final webhook = %+v, want delivered after 3 attempts", wh)
	}
}

// A receiver that never answers 2xx is given up on after 12 attempts.
func TestWebhookGivesUpAfterTheLastAttempt(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	const secret = "a-long-enough-secret"
	rc := &receiver{t: t, secret: secret, fail: 1000}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	jobID := b.finishedJobWithWebhook(t, srv.URL, secret)
	w := b.testWebhooks()
	for i := 1; i <= WebhookMaxAttempts; i++ {
		if n, err := b.svc.DeliverWebhooks(ctx, w); err != nil || n != 1 {
			t.Fatalf("attempt %d: %d, %v", i, n, err)
		}
		b.now = b.now.Add(WebhookBackoff(i))
	}
	b.now = b.now.Add(24 * time.Hour)
	if n, _ := b.svc.DeliverWebhooks(ctx, w); n != 0 {
		t.Errorf("attempted again after giving up")
	}
	if got := len(rc.received()); got != WebhookMaxAttempts {
		t.Errorf("receiver got %d requests, want %d", got, WebhookMaxAttempts)
	}
	st, _ := b.svc.Job(ctx, b.project.ID, jobID)
	if wh := st.Lifecycle.Webhook; wh.State != store.WebhookFailed || wh.Attempts != WebhookMaxAttempts || !strings.Contains(wh.LastError, "HTTP 500") {
		t.Errorf("webhook = %+v, want failed after %d attempts", wh, WebhookMaxAttempts)
	}
}

// Cancelling enqueues job.cancelled in its own transaction; a job whose
// units all failed sends job.failed.
func TestWebhookEvents(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	hook := &Webhook{URL: "http://127.0.0.1:1/hook", Secret: "0123456789abcdef"}
	cancelled, err := b.svc.SubmitJob(ctx, b.project.ID, JobRequest{App: "app", Inputs: [][]byte{[]byte(`1`)}, Webhook: hook})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.CancelJob(ctx, b.project.ID, cancelled.Job.ID); err != nil {
		t.Fatal(err)
	}
	failed, err := b.svc.SubmitJob(ctx, b.project.ID, JobRequest{App: "app", Inputs: [][]byte{[]byte(`1`)}, Webhook: hook,
		Policy: workunits.Policy{MinQuorum: 1, TargetReplicas: 1, MaxErrorReplicas: 1, MaxTotalReplicas: 1}})
	if err != nil {
		t.Fatal(err)
	}
	_, h := b.host(t, "alice")
	l, _ := b.svc.LeaseTasks(ctx, h.ID, 1, nil)
	if err := b.svc.ReportResults(ctx, h.ID, []workunits.Report{{TaskID: l[0].TaskID, Outcome: workunits.OutcomeError, Stderr: "boom"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.FinishJobs(ctx); err != nil {
		t.Fatal(err)
	}
	plain, err := b.svc.SubmitJob(ctx, b.project.ID, JobRequest{App: "app", Inputs: [][]byte{[]byte(`1`)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		job   int64
		event string
	}{{cancelled.Job.ID, EventJobCancelled}, {failed.Job.ID, EventJobFailed}} {
		st, err := b.svc.Job(ctx, b.project.ID, tc.job)
		if err != nil {
			t.Fatal(err)
		}
		if wh := st.Lifecycle.Webhook; wh == nil || wh.Event != tc.event || wh.State != store.WebhookPending || wh.URL != hook.URL {
			t.Errorf("job %d webhook = %+v, want %s pending", tc.job, wh, tc.event)
		}
	}
	if st, _ := b.svc.Job(ctx, b.project.ID, plain.Job.ID); st.Lifecycle.Webhook != nil {
		t.Errorf("a job without a webhook shows %+v", st.Lifecycle.Webhook)
	}
}
