// Package daemon assembles a running coordinator: store, service, HTTP
// server and background loops, started and stopped together.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/nightshift-platform/nightshift/coordinator/httpapi"
	"github.com/nightshift-platform/nightshift/coordinator/metrics"
	"github.com/nightshift-platform/nightshift/coordinator/service"
	"github.com/nightshift-platform/nightshift/coordinator/store"
	"github.com/nightshift-platform/nightshift/coordinator/wasmcheck"
	"github.com/nightshift-platform/nightshift/coordinator/webhook"
)

// Config is what a coordinator needs to start.
type Config struct {
	Addr               string // listen address, e.g. 127.0.0.1:8080; port 0 picks one
	DB                 string // database URL for OpenStore
	OperatorKey        string
	BackgroundInterval time.Duration // how often to sweep deadlines, pay valid tasks, finish jobs and write contacts; 0 means 250 ms
	// DebugAddr, when set, serves Go's profiler (/debug/pprof/) on its own
	// listener. It is for operators on a private interface only: a profile
	// reveals internals and costs CPU while it runs.
	DebugAddr   string
	Logger      *slog.Logger
	MaxBlobSize int64 // largest input blob upload; 0: service.DefaultMaxBlobSize
	// PlatformFeeBPS is the platform's fee on every reward, in basis points.
	PlatformFeeBPS int
	// API holds the HTTP API's rate limits and client address; the zero
	// value limits nothing.
	API httpapi.Options
}

// The HTTP server's limits on a connection. A request's headers must come
// quickly; its body may take longer, since blob and module uploads are
// large and volunteers' links slow, but not for ever; an idle keep-alive
// connection is closed after a while. Responses have no time limit: result
// downloads stream for as long as a job is large.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 10 * time.Minute
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// Coordinator is a started coordinator.
type Coordinator struct {
	URL      string
	DebugURL string // "" unless Config.DebugAddr was set
	Service  *service.Service

	srv    *http.Server
	debug  *http.Server // nil without Config.DebugAddr
	store  store.Store
	cancel context.CancelFunc
	wg     sync.WaitGroup
	log    *slog.Logger
}

// Start opens the store and begins serving.
func Start(ctx context.Context, cfg Config) (*Coordinator, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BackgroundInterval == 0 {
		cfg.BackgroundInterval = 250 * time.Millisecond
	}
	st, err := OpenStore(ctx, cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	m := metrics.New()
	svc := service.New(service.Options{Store: st, OperatorKey: cfg.OperatorKey, CheckModule: wasmcheck.Check, Logger: cfg.Logger,
		MaxBlobSize: cfg.MaxBlobSize, PlatformFeeBPS: cfg.PlatformFeeBPS, Observer: m})
	m.WatchTotals(svc)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	loopCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c := &Coordinator{
		URL:     "http://" + ln.Addr().String(),
		Service: svc,
		srv: &http.Server{
			Handler:           withMetrics(m, httpapi.NewServerWithOptions(svc, cfg.Logger, cfg.API)),
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			BaseContext:       func(net.Listener) context.Context { return loopCtx },
		},
		store:  st,
		cancel: cancel,
		log:    cfg.Logger,
	}
	var debugLn net.Listener
	if cfg.DebugAddr != "" {
		if debugLn, err = net.Listen("tcp", cfg.DebugAddr); err != nil {
			cancel()
			ln.Close()
			st.Close()
			return nil, fmt.Errorf("listening for the profiler on %s: %w", cfg.DebugAddr, err)
		}
		c.DebugURL = "http://" + debugLn.Addr().String()
		c.debug = &http.Server{Handler: profilerMux(), ReadHeaderTimeout: 10 * time.Second}
		c.wg.Go(func() { c.serve(c.debug, debugLn, "profiler") })
		c.log.Info("profiler listening", "debug_url", c.DebugURL+"/debug/pprof/")
	}
	c.wg.Go(func() { c.serve(c.srv, ln, "http server") })
	c.wg.Go(func() { svc.RunBackground(loopCtx, cfg.BackgroundInterval) })
	c.wg.Go(func() {
		svc.RunWebhooks(loopCtx, service.Webhooks{Sender: webhook.Sender{}, Body: httpapi.WebhookBody}, cfg.BackgroundInterval)
	})
	c.log.Info("coordinator listening", "url", c.URL, "db", redact(cfg.DB))
	return c, nil
}

// Stop lets in-flight requests finish (up to ctx's deadline), stops the
// background loops and closes the store.
func (c *Coordinator) Stop(ctx context.Context) error {
	err := c.srv.Shutdown(ctx)
	if c.debug != nil {
		// A profile being taken is cut short rather than waited for.
		err = errors.Join(err, c.debug.Close())
	}
	c.cancel()
	c.wg.Wait()
	return errors.Join(err, c.store.Close())
}

func (c *Coordinator) serve(srv *http.Server, ln net.Listener, what string) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		c.log.Error(what+" stopped", "err", err)
	}
}

// withMetrics serves the metrics at /metrics and everything else through
// api, counted by route. /metrics itself is not counted: scrapes would
// drown the traffic.
func withMetrics(m *metrics.Metrics, api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("/", m.Instrument(api))
	return mux
}

// profilerMux serves net/http/pprof on its own mux: importing the package
// registers it on http.DefaultServeMux, which nothing here serves.
func profilerMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
