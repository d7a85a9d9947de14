package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nightshift-platform/nightshift/worker/agent"
	"github.com/nightshift-platform/nightshift/worker/governor"
	"github.com/nightshift-platform/nightshift/worker/policy"
)

// suspendReasons is the fixed label set of nightshift_worker_suspended:
// the policy's reasons to wait, and the agent's own.
var suspendReasons = []string{string(policy.UserActive), string(policy.OtherCPUBusy), string(policy.OnBattery),
	string(policy.OutsideHours), string(policy.ExplicitPause), "disk_full", "blocked"}

var (
	runningDesc = prometheus.NewDesc("nightshift_worker_tasks_running", "Tasks running now.", nil, nil)
	doneDesc    = prometheus.NewDesc("nightshift_worker_tasks_done_total", "Tasks finished since the worker started.", nil, nil)
	waitingDesc = prometheus.NewDesc("nightshift_worker_reports_waiting", "Reports not yet taken by the coordinator.", nil, nil)
	suspDesc    = prometheus.NewDesc("nightshift_worker_suspended", "1 while the worker waits for this reason, else 0.", []string{"reason"}, nil)
)

// workerCollector reads the agent's and governor's state at each scrape.
type workerCollector struct {
	ag  *agent.Agent
	gov *governor.Governor
}

func (c workerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- runningDesc
	ch <- doneDesc
	ch <- waitingDesc
	ch <- suspDesc
}

func (c workerCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.ag.Status()
	state, _ := c.gov.State()
	ch <- prometheus.MustNewConstMetric(runningDesc, prometheus.GaugeValue, float64(len(st.Tasks)))
	ch <- prometheus.MustNewConstMetric(doneDesc, prometheus.CounterValue, float64(st.Done))
	ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(st.ReportsWaiting))
	for _, reason := range suspendReasons {
		on := reason == string(state.Code) && !state.Run ||
			reason == "disk_full" && st.DiskFull || reason == "blocked" && st.Blocked != nil
		v := 0.0
		if on {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(suspDesc, prometheus.GaugeValue, v, reason)
	}
}

// serveMetrics serves the worker's metrics on addr until ctx ends and
// returns the address it listens on (addr may name port 0). It is opt-in
// (--metrics-addr) and meant for a loopback address.
func serveMetrics(ctx context.Context, addr string, ag *agent.Agent, gov *governor.Governor, log *slog.Logger) (net.Addr, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(workerCollector{ag, gov})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	log.Info("worker metrics listening", "url", "http://"+ln.Addr().String()+"/metrics")
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("worker metrics stopped", "err", err)
		}
	}()
	return ln.Addr(), nil
}
