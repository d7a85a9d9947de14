// Package metrics exposes the coordinator's Prometheus metrics: HTTP
// requests by route template, the flow of tasks, payout runs, the background
// loop, and platform totals read from the store at scrape time.
//
// It owns its registry rather than using the global default, so that every
// coordinator in a process (tests start many) has its own. No label carries
// an id: routes are chi's templates, never raw paths, and totals are by
// state or account kind.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nightshift-platform/nightshift/coordinator/service"
)

// Metrics is one coordinator's registry and the metrics in it. It
// implements service.Observer.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	leased       prometheus.Counter
	reported     prometheus.Counter
	validated    *prometheus.CounterVec
	payoutRuns   prometheus.Counter
	loopLag      prometheus.Histogram
	loopDuration prometheus.Histogram
}

var _ service.Observer = (*Metrics)(nil)

// New returns a registry holding the coordinator's metrics and Go's
// runtime and process metrics.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightshift_http_requests_total",
			Help: "HTTP requests answered, by chi route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "nightshift_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by chi route template and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		leased: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nightshift_tasks_leased_total",
			Help: "Tasks handed to hosts.",
		}),
		reported: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nightshift_tasks_reported_total",
			Help: "Task reports accepted from hosts.",
		}),
		validated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nightshift_tasks_validated_total",
			Help: "Results judged, by result: valid or invalid.",
		}, []string{"result"}),
		payoutRuns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nightshift_payout_runs_created_total",
			Help: "Payout runs created (a repeated idempotency key is not counted again).",
		}),
		loopLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nightshift_background_lag_seconds",
			Help:    "How late a background pass started after its tick was due.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		loopDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nightshift_background_duration_seconds",
			Help:    "Time one background pass (sweep, pay, finish, clawbacks, contacts) took.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	// Both judged results exist from the start, so a rate of invalid
	// results reads 0 rather than nothing.
	m.validated.WithLabelValues("valid")
	m.validated.WithLabelValues("invalid")
	m.reg.MustRegister(m.requests, m.duration, m.leased, m.reported, m.validated, m.payoutRuns, m.loopLag, m.loopDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry the metrics are in, for tests and for adding
// collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus' text format. A collector that
// fails (the store is down, say) leaves its metrics out of the scrape
// rather than failing it.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

func (m *Metrics) TasksLeased(n int)   { m.leased.Add(float64(n)) }
func (m *Metrics) TasksReported(n int) { m.reported.Add(float64(n)) }
func (m *Metrics) TasksJudged(valid, invalid int) {
	m.validated.WithLabelValues("valid").Add(float64(valid))
	m.validated.WithLabelValues("invalid").Add(float64(invalid))
}
func (m *Metrics) PayoutRunCreated() { m.payoutRuns.Inc() }
func (m *Metrics) BackgroundPass(lag, took time.Duration) {
	m.loopLag.Observe(max(lag, 0).Seconds())
	m.loopDuration.Observe(took.Seconds())
}

// Instrument counts and times the requests a chi router answers, labelled
// by the route template chi matched. It wraps the router from outside, so
// it gives the router the routing context to fill and reads the template
// from it once the request is answered.
func (m *Metrics) Instrument(router http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rctx := chi.NewRouteContext()
		r = r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, rctx))
		rec := &statusRecorder{ResponseWriter: w}
		start := time.Now()
		router.ServeHTTP(rec, r)
		route := rctx.RoutePattern()
		if route == "" || rec.status == http.StatusNotFound || rec.status == http.StatusMethodNotAllowed {
			// Unrouted paths are anyone's to invent: one label for all.
			route = "unmatched"
		}
		method := r.Method
		if !knownMethod[method] {
			method = "other"
		}
		m.requests.WithLabelValues(route, method, strconv.Itoa(rec.code())).Inc()
		m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
	})
}

var knownMethod = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) code() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}

// Unwrap lets http.ResponseController reach the connection (flushing a
// download, say).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
