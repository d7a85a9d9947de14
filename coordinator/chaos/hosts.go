package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/api"
	"github.com/nightshift-platform/nightshift/coordinator/client"
	"github.com/nightshift-platform/nightshift/workunits"
)

// simHost is one simulated volunteer's computer. It speaks the real
// protocol through the dropping proxies, and behaves like the real worker
// where it matters here: it retries a report whose answer was lost, and
// when a batch is refused it sends the reports one by one and drops those
// refused.
type simHost struct {
	id      int64 // the coordinator's host id
	idx     int
	liar    bool // returns a wrong output, different from every other host's
	mortal  bool // sometimes dies holding tasks
	clients []*client.Client
	coord   int // the coordinator it talks to now; it moves on after a failure
	rng     *rand.Rand
	obs     *observer
	// deadlines of the tasks it holds, to tell a report refused for a
	// missed deadline that had passed from one that had not
	deadlines map[int64]time.Time
}

// observer is what the chaos program saw, shared by every host.
type observer struct {
	cfg config

	mu sync.Mutex
	// leasedTo maps every task a host learned it leased to that host.
	leasedTo map[int64]int64
	// acked maps a task to the host whose report of it was answered 2xx,
	// with the output hash it sent ("" for an error report).
	acked map[int64]sent
	// sentBy is every report a host sent, answered or not.
	sentBy map[int64]sent
	// forged holds the output hashes of forged reports: none may be stored.
	forged map[string]int64
	recent []int64 // tasks lately leased, for forgeries

	leases, emptyLeases          atomic.Int64
	reportsSent, reportsAccepted atomic.Int64
	reportsRefused, lateRefused  atomic.Int64
	forgedSent, forgedRefused    atomic.Int64
	forgedAccepted, forgedTries  atomic.Int64
	hostsGone                    atomic.Int64
	netErrors, serverErrors      atomic.Int64
	hostDeaths, zombieReports    atomic.Int64
	liarsBlocked, honestBlocked  atomic.Int64
	lostResponsesThenRefused     atomic.Int64
	deadlineRefused              atomic.Int64
	unexpected                   atomic.Int64
	unexpectedMu                 sync.Mutex
	unexpectedSamples            []string
}

type sent struct {
	host   int64
	output string
}

func newObserver(cfg config) *observer {
	return &observer{cfg: cfg, leasedTo: map[int64]int64{}, acked: map[int64]sent{}, sentBy: map[int64]sent{}, forged: map[string]int64{}}
}

func (o *observer) note(format string, args ...any) {
	o.unexpected.Add(1)
	o.unexpectedMu.Lock()
	defer o.unexpectedMu.Unlock()
	if len(o.unexpectedSamples) < 20 {
		o.unexpectedSamples = append(o.unexpectedSamples, fmt.Sprintf(format, args...))
	}
}

// honestOutput is what every honest host returns for an input.
func honestOutput(input []byte) []byte {
	sum := sha256.Sum256(input)
	return sum[:]
}

// poisoned units make every host report an error, so that they fail by the
// max_error_replicas rule.
func poisoned(cfg config, input []byte) bool {
	n, err := strconv.Atoi(string(input))
	return err == nil && cfg.poisonEvery > 0 && n%cfg.poisonEvery == cfg.poisonEvery-1
}

func (h *simHost) output(input []byte) (outcome string, out []byte) {
	if poisoned(h.obs.cfg, input) {
		return string(workunits.OutcomeError), nil
	}
	if h.liar {
		sum := sha256.Sum256(append([]byte("lie:"+strconv.FormatInt(h.id, 10)+":"), input...))
		return string(workunits.OutcomeSuccess), sum[:]
	}
	return string(workunits.OutcomeSuccess), honestOutput(input)
}

// run works until ctx ends or the host is blocked.
func (h *simHost) run(ctx context.Context, done *atomic.Bool) {
	h.deadlines = map[int64]time.Time{}
	for ctx.Err() == nil && !done.Load() {
		work, err := h.clients[h.coord].RequestWork(ctx, h.obs.cfg.leaseMax)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			switch s := client.StatusOf(err); {
			case s == http.StatusForbidden:
				if h.liar {
					h.obs.liarsBlocked.Add(1)
				} else {
					h.obs.honestBlocked.Add(1)
					h.obs.note("honest host %d was refused work: %v", h.id, err)
				}
				return
			case s == 0 || s >= 500:
				h.failed(s)
			default:
				h.obs.note("host %d: lease refused: %v", h.id, err)
				h.pause(ctx, time.Second)
			}
			continue
		}
		if len(work.Tasks) == 0 {
			h.obs.emptyLeases.Add(1)
			h.pause(ctx, time.Duration(50+h.rng.IntN(200))*time.Millisecond)
			continue
		}
		h.obs.leases.Add(1)
		reports := make([]api.Report, 0, len(work.Tasks))
		h.obs.mu.Lock()
		for _, t := range work.Tasks {
			if prev, ok := h.obs.leasedTo[t.ID]; ok && prev != h.id {
				h.obs.note("task %d leased to host %d and then to host %d", t.ID, prev, h.id)
			}
			h.obs.leasedTo[t.ID] = h.id
			h.obs.recent = append(h.obs.recent, t.ID)
			if len(h.obs.recent) > 1000 {
				h.obs.recent = h.obs.recent[500:]
			}
		}
		h.obs.mu.Unlock()
		for _, t := range work.Tasks {
			h.deadlines[t.ID] = t.Deadline
			outcome, out := h.output(t.Input)
			reports = append(reports, api.Report{TaskID: t.ID, Outcome: outcome, Output: out, CPUSeconds: 0.01})
		}
		if h.mortal && h.rng.Float64() < h.obs.cfg.deathRate {
			// Dies holding its tasks. One death in four is for good;
			// otherwise it comes back as the same host, mostly once the
			// tasks are past their deadline, and tries to report them.
			h.obs.hostDeaths.Add(1)
			if h.rng.IntN(4) == 0 {
				h.obs.hostsGone.Add(1)
				return
			}
			h.pause(ctx, time.Duration(h.rng.Int64N(int64(2*h.obs.cfg.deadline))))
			h.obs.zombieReports.Add(int64(len(reports)))
			h.send(ctx, reports, true, false)
			for _, r := range reports {
				delete(h.deadlines, r.TaskID)
			}
			continue
		}
		h.send(ctx, reports, false, false)
		for _, r := range reports {
			delete(h.deadlines, r.TaskID)
		}
		if h.rng.Float64() < h.obs.cfg.forgeRate {
			h.forge(ctx)
		}
	}
}

func (h *simHost) failed(status int) {
	if status == 0 {
		h.obs.netErrors.Add(1)
	} else {
		h.obs.serverErrors.Add(1)
	}
	h.coord = (h.coord + 1) % len(h.clients)
	time.Sleep(time.Duration(20+h.rng.IntN(80)) * time.Millisecond)
}

func (h *simHost) pause(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// send reports a batch as the real worker does (worker/agent.send): retry
// on a network failure or a 5xx, one by one on a refusal, and drop a
// report refused on its own.
func (h *simHost) send(ctx context.Context, reps []api.Report, late, lost bool) {
	h.obs.mu.Lock()
	for _, r := range reps {
		h.obs.sentBy[r.TaskID] = sent{host: h.id, output: hashOf(r)}
	}
	h.obs.mu.Unlock()
	for attempt := 0; ctx.Err() == nil; attempt++ {
		h.obs.reportsSent.Add(int64(len(reps)))
		_, err := h.clients[h.coord].Report(ctx, reps)
		s := client.StatusOf(err)
		switch {
		case err == nil:
			h.obs.reportsAccepted.Add(int64(len(reps)))
			h.obs.mu.Lock()
			for _, r := range reps {
				h.obs.acked[r.TaskID] = sent{host: h.id, output: hashOf(r)}
			}
			h.obs.mu.Unlock()
			return
		case s == 0 || s >= 500 || s == http.StatusTooManyRequests:
			if ctx.Err() != nil {
				return
			}
			lost = true
			h.failed(s)
			if attempt > 200 {
				h.obs.note("host %d gave up reporting %d tasks after %d attempts: %v", h.id, len(reps), attempt, err)
				return
			}
		case len(reps) > 1 && s != http.StatusUnauthorized:
			for _, r := range reps {
				h.send(ctx, []api.Report{r}, late, lost)
			}
			return
		default:
			h.obs.reportsRefused.Add(1)
			msg := err.Error()
			deadline := h.deadlines[reps[0].TaskID]
			switch {
			case s == http.StatusConflict && late && strings.Contains(msg, "deadline"):
				h.obs.lateRefused.Add(1)
			case s == http.StatusConflict && lost && strings.Contains(msg, "already reported"):
				// The first try was taken; its answer was lost.
				h.obs.lostResponsesThenRefused.Add(1)
			case s == http.StatusConflict && strings.Contains(msg, "deadline") && !time.Now().Before(deadline):
				// Retries past dead coordinators took it past its deadline.
				h.obs.deadlineRefused.Add(1)
			default:
				h.obs.note("host %d: report of task %d refused: %v", h.id, reps[0].TaskID, err)
			}
			return
		}
	}
}

// forge reports, as this host, a task recently leased to another host.
// The coordinator must refuse it.
func (h *simHost) forge(ctx context.Context) {
	h.obs.mu.Lock()
	var victim int64
	for range 10 {
		if len(h.obs.recent) == 0 {
			break
		}
		t := h.obs.recent[h.rng.IntN(len(h.obs.recent))]
		if h.obs.leasedTo[t] != h.id {
			victim = t
			break
		}
	}
	h.obs.mu.Unlock()
	if victim == 0 {
		return
	}
	out := []byte(fmt.Sprintf("forged by host %d for task %d", h.id, victim))
	r := api.Report{TaskID: victim, Outcome: string(workunits.OutcomeSuccess), Output: out}
	h.obs.mu.Lock()
	h.obs.forged[hashOf(r)] = h.id
	h.obs.mu.Unlock()
	h.obs.forgedSent.Add(1)
	for attempt := 0; attempt < 50 && ctx.Err() == nil; attempt++ {
		h.obs.forgedTries.Add(1)
		_, err := h.clients[h.coord].Report(ctx, []api.Report{r})
		s := client.StatusOf(err)
		switch {
		case err == nil:
			h.obs.forgedAccepted.Add(1)
			h.obs.note("host %d's forged report of task %d (leased to another host) was accepted", h.id, victim)
			return
		case s == 0 || s >= 500:
			h.failed(s)
		default:
			h.obs.forgedRefused.Add(1)
			if s != http.StatusNotFound {
				// A host learns nothing about tasks not its own: not
				// even that they exist or were reported.
				h.obs.note("host %d's forged report of task %d was refused with %d, not 404: %v", h.id, victim, s, err)
			}
			return
		}
	}
}

func hashOf(r api.Report) string {
	if r.Outcome != string(workunits.OutcomeSuccess) {
		return ""
	}
	return workunits.Hash(r.Output)
}
